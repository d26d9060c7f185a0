/**
 * Shared pieces of the IPAM tests: an in-memory ReservationStore (so allocation order can be
 * checked without a disk), temporary data dirs removed in afterEach, config and context
 * builders, and calls to the host-local and static plugins through the SDK's `invokePlugin`
 * exactly as a runtime's invocation would reach them (environment + stdin bytes).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { formatIp, type IpAddress, parseIp } from '../../../platform/cidr.ts';
import type { AttachmentId } from '../../../platform/contract.ts';
import type { ReservationStore } from '../../../plugins/host-local/allocator.ts';
import { hostLocalPlugin } from '../../../plugins/host-local/plugin.ts';
import { parseNetConf } from '../../../plugins/sdk/config.ts';
import { type CniCommand, readInvocation } from '../../../plugins/sdk/env.ts';
import type { ErrorResult } from '../../../plugins/sdk/errors.ts';
import { type CniPlugin, type CommandContext, invokePlugin } from '../../../plugins/sdk/skel.ts';
import { staticPlugin } from '../../../plugins/static/plugin.ts';

export type Json = Record<string, unknown>;

/** A ReservationStore in memory: address text → owner, last reserved address per range set. */
export class MemoryStore implements ReservationStore {
  readonly held = new Map<string, AttachmentId>();
  readonly last = new Map<number, IpAddress>();

  reserve(ip: IpAddress, owner: AttachmentId, rangeSetIndex: number): boolean {
    const key = formatIp(ip);
    if (this.held.has(key)) return false;
    this.held.set(key, owner);
    this.last.set(rangeSetIndex, ip);
    return true;
  }

  lastReserved(rangeSetIndex: number): IpAddress | undefined {
    return this.last.get(rangeSetIndex);
  }

  release(ip: IpAddress): void {
    this.held.delete(formatIp(ip));
  }
}

export function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test bug: ${text} is not an IP address`);
  return parsed;
}

export function owner(containerId: string, ifname = 'eth0'): AttachmentId {
  return { containerId, ifname };
}

/** Temporary directories, removed by `cleanup()` in afterEach whatever the test did. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix = 'crosscni-ipam-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** A host-local network config at `cniVersion` with the given ipam keys. */
export function hostLocalConfig(ipam: Json, extra: Json = {}, cniVersion = '1.1.0'): Json {
  return { cniVersion, name: 'ipamnet', type: 'bridge', ipam: { type: 'host-local', ...ipam }, ...extra };
}

export function staticConfig(ipam: Json, extra: Json = {}, cniVersion = '1.1.0'): Json {
  return { cniVersion, name: 'staticnet', type: 'bridge', ipam: { type: 'static', ...ipam }, ...extra };
}

export type Env = Record<string, string | undefined>;

/** The environment a runtime passes for `command` (STATUS and GC get no container variables). */
export function envFor(command: CniCommand, containerId = 'ctr1', overrides: Env = {}): Env {
  const env: Env = { CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' };
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    env.CNI_CONTAINERID = containerId;
    env.CNI_NETNS = '/run/netns/ipam-test';
    env.CNI_IFNAME = 'eth0';
  }
  return { ...env, ...overrides };
}

/** The CommandContext a plugin would get for `config` (for config parsers). */
export function contextFor(config: Json, command: CniCommand = 'ADD', overrides: Env = {}): CommandContext {
  const stdin = Buffer.from(JSON.stringify(config));
  return {
    ...readInvocation(envFor(command, 'ctr1', overrides), command),
    config: parseNetConf(config),
    stdin,
  };
}

export interface Answer {
  exitCode: number;
  /** stdout parsed, or undefined when the command printed nothing. */
  doc?: Json;
}

async function run(plugin: CniPlugin, env: Env, config: Json): Promise<Answer> {
  const output = await invokePlugin(async () => plugin, env, Buffer.from(JSON.stringify(config)));
  const answer: Answer = { exitCode: output.exitCode };
  if (output.stdout.trim()) answer.doc = JSON.parse(output.stdout) as Json;
  return answer;
}

export function hostLocal(env: Env, config: Json): Promise<Answer> {
  return run(hostLocalPlugin, env, config);
}

export function staticIpam(env: Env, config: Json): Promise<Answer> {
  return run(staticPlugin, env, config);
}

/** Assert a successful ADD and return its result document. */
export function expectResult(answer: Answer): Json {
  expect(answer.exitCode, JSON.stringify(answer.doc)).toBe(0);
  expect(answer.doc).toBeDefined();
  expect(answer.doc).not.toHaveProperty('code');
  return answer.doc!;
}

/** Assert a command that succeeded and printed nothing (DEL, CHECK, GC, STATUS). */
export function expectSilentSuccess(answer: Answer): void {
  expect(answer, JSON.stringify(answer.doc)).toEqual({ exitCode: 0 });
}

/** Assert an error result with `code`; returns it. */
export function expectError(answer: Answer, code: number): ErrorResult {
  expect(answer.exitCode, JSON.stringify(answer.doc)).not.toBe(0);
  expect(answer.doc, JSON.stringify(answer.doc)).toMatchObject({ code });
  return answer.doc as unknown as ErrorResult;
}

/** The addresses of a 1.x result, in order. */
export function addressesOf(result: Json): string[] {
  return ((result.ips as Array<{ address: string }> | undefined) ?? []).map((i) => i.address);
}

/** The address files of a network dir: name → content (lock, last_reserved_ip.* and dot files left out). */
export function addressFiles(networkDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  let names: string[];
  try {
    names = readdirSync(networkDir);
  } catch {
    return files;
  }
  for (const name of names.sort()) {
    if (name === 'lock' || name.startsWith('last_reserved_ip.') || name.startsWith('.')) continue;
    files[name] = readFileSync(join(networkDir, name), 'utf8');
  }
  return files;
}
