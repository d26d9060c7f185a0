/**
 * Calling a plugin the way a runtime does (environment + stdin bytes) through the SDK's
 * `invokePlugin`, and asserting on what a runtime would observe: the exit code and the one JSON
 * document on stdout. Shared by the SDK conformance tests; it must not reach into SDK internals.
 */
import { expect } from 'vitest';
import type { ErrorResult } from '../../../plugins/sdk/errors.ts';
import type { Result } from '../../../plugins/sdk/result.ts';
import {
  type CniPlugin,
  type CommandContext,
  invokePlugin,
  type PluginOutput,
} from '../../../plugins/sdk/skel.ts';
import { type CniVersion, SUPPORTED_VERSIONS } from '../../../plugins/sdk/version.ts';

export const VERSIONS: readonly CniVersion[] = SUPPORTED_VERSIONS;
export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type Command = (typeof COMMANDS)[number];

export type Env = Record<string, string | undefined>;

/** The environment a runtime passes for `command`, with overrides (undefined removes a variable). */
export function envFor(command: string, overrides: Env = {}): Env {
  const env: Env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee',
    CNI_NETNS: '/run/netns/cni-test',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function configFor(cniVersion: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion, name: 'testnet', type: 'testplugin', ...extra };
}

export function bytes(input: string | Record<string, unknown> | Uint8Array): Uint8Array {
  if (input instanceof Uint8Array) return input;
  return Buffer.from(typeof input === 'string' ? input : JSON.stringify(input));
}

/** A result with one address per family on the container interface, valid at every version. */
export const DUAL_STACK_RESULT: Result = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:00:05', sandbox: '/run/netns/cni-test' }],
  ips: [
    { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 },
    { address: 'fd00::5/64', gateway: 'fd00::1', interface: 0 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
  dns: { nameservers: ['10.1.0.1'] },
};

export interface RecordingPlugin {
  plugin: CniPlugin;
  /** Commands the plugin was called for, in order. */
  calls: string[];
  /** The context of the last call. */
  last?: CommandContext;
}

/** A plugin literal that records its calls; each handler can be replaced. */
export function recordingPlugin(overrides: Partial<CniPlugin> = {}, result: Result = DUAL_STACK_RESULT) {
  const recording: RecordingPlugin = { calls: [], plugin: undefined as unknown as CniPlugin };
  const record = (name: string, ctx: CommandContext) => {
    recording.calls.push(name);
    recording.last = ctx;
  };
  recording.plugin = {
    knownArgs: overrides.knownArgs ?? [],
    async add(ctx) {
      record('add', ctx);
      return overrides.add ? overrides.add(ctx) : result;
    },
    async del(ctx) {
      record('del', ctx);
      if (overrides.del) await overrides.del(ctx);
    },
    async check(ctx) {
      record('check', ctx);
      if (overrides.check) await overrides.check(ctx);
    },
    async status(ctx) {
      record('status', ctx);
      if (overrides.status) await overrides.status(ctx);
    },
    async gc(ctx) {
      record('gc', ctx);
      if (overrides.gc) await overrides.gc(ctx);
    },
  };
  return recording;
}

export interface Call {
  output: PluginOutput;
  /** How many times the SDK asked for the plugin module. */
  loads: number;
}

export async function call(
  plugin: CniPlugin,
  env: Env,
  stdin: string | Record<string, unknown> | Uint8Array,
): Promise<Call> {
  let loads = 0;
  const output = await invokePlugin(
    async () => {
      loads++;
      return plugin;
    },
    env,
    bytes(stdin),
  );
  return { output, loads };
}

/** Parse stdout as exactly one JSON document (a trailing newline allowed, nothing else). */
export function parseOneDocument(stdout: string): Record<string, unknown> {
  const doc = JSON.parse(stdout) as unknown;
  expect(typeof doc === 'object' && doc !== null && !Array.isArray(doc), 'stdout is one JSON object').toBe(
    true,
  );
  expect(stdout.trim()).toBe(JSON.stringify(doc));
  return doc as Record<string, unknown>;
}

/** Assert a spec error result with `code`; returns the document. */
export function expectError(output: PluginOutput, code: number, cniVersion?: string): ErrorResult {
  expect(output.exitCode, `exit code for error ${code}; stdout ${output.stdout}`).not.toBe(0);
  const doc = parseOneDocument(output.stdout);
  expect(doc, output.stdout).toMatchObject({ code });
  expect(typeof doc.cniVersion).toBe('string');
  expect(VERSIONS).toContain(doc.cniVersion);
  if (cniVersion) expect(doc.cniVersion).toBe(cniVersion);
  expect(typeof doc.msg).toBe('string');
  expect((doc.msg as string).length).toBeGreaterThan(0);
  for (const key of Object.keys(doc)) expect(['cniVersion', 'code', 'msg', 'details']).toContain(key);
  return doc as unknown as ErrorResult;
}

/** Assert a successful command that prints nothing (DEL, CHECK, STATUS, GC). */
export function expectEmptySuccess(output: PluginOutput): void {
  expect(output, output.stdout).toEqual({ stdout: '', exitCode: 0 });
}

/** Assert a successful ADD; returns the result document. */
export function expectAddResult(output: PluginOutput, cniVersion: string): Record<string, unknown> {
  expect(output.exitCode, output.stdout).toBe(0);
  const doc = parseOneDocument(output.stdout);
  expect(doc.cniVersion).toBe(cniVersion);
  expect(doc).not.toHaveProperty('code');
  return doc;
}
