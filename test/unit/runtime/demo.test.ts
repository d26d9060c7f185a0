/**
 * `crosscni demo` against a recording stand-in for the platform (the real one is exercised by the
 * kernel tests): the demo's sequence, and that it removes everything it made when a step fails.
 * A stand-in reporting os "windows" makes the demo skip the Linux-only ping.
 */
import { copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../../platform/contract.ts';
import { PluginFailedError } from '../../../runtime/errors.ts';
import { DEMO_BRIDGE, DEMO_NETWORK, runDemo } from '../../../runtime/demo.ts';
import { buildExecutables } from './executables.ts';
import { Scratch } from './scratch.ts';

const isRoot = process.getuid?.() === 0;
const scratch = new Scratch();
let pluginDir = '';

beforeAll(async () => {
  const built = scratch.dir('crosscni-rt-bin-');
  await buildExecutables(built);
  // recorder-a answers ADD with an interface and an address with a gateway: enough for the demo.
  pluginDir = scratch.dir('crosscni-rt-plugins-');
  for (const type of ['loopback', 'bridge']) copyFileSync(join(built, 'recorder-a'), join(pluginDir, type));
});
afterAll(() => scratch.cleanup());

function standInPlatform(calls: string[]): Platform {
  const unused = async (): Promise<never> => {
    throw new Error('not used by the demo');
  };
  return {
    os: 'windows',
    ensureNetwork: unused,
    inspectNetwork: unused,
    deleteNetwork: async (name, device) => {
      calls.push(`deleteNetwork ${name} ${device}`);
    },
    createEndpoint: unused,
    inspectEndpoint: unused,
    deleteEndpoint: unused,
    collectGarbage: unused,
    addPortMappings: unused,
    removePortMappings: unused,
    inspectPortMappings: unused,
    collectPortMappings: unused,
    setBandwidth: unused,
    removeBandwidth: unused,
    inspectBandwidth: unused,
    collectBandwidth: unused,
    setLoopback: unused,
    inspectLoopback: unused,
    withFileLock: unused,
    createNamespace: async (name) => {
      calls.push(`createNamespace ${name}`);
      return `/run/netns/${name}`;
    },
    deleteNamespace: async (ns) => {
      calls.push(`deleteNamespace ${ns}`);
    },
  };
}

const demoDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('crosscni-demo-'));

describe.skipIf(!isRoot)('crosscni demo (needs root; CI runs as root)', () => {
  it('adds loopback and the bridge network, checks, then deletes everything', async () => {
    const calls: string[] = [];
    const out: string[] = [];
    const before = demoDirs();
    await runDemo({
      binDir: pluginDir,
      platform: standInPlatform(calls),
      io: { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
    });
    const text = out.join('');
    expect(text).toMatch(/ADD cni-loopback \(lo\)[\s\S]*ADD crosscni-demo \(eth0\)/);
    expect(text).toContain('"address": "10.1.0.5/24"');
    expect(text).toMatch(/CHECK passed\nDEL crosscni-demo \(eth0\)\nDEL cni-loopback \(lo\)\ncleaned up\n$/);
    const ns = calls[0]!.replace('createNamespace ', '');
    expect(ns).toMatch(/^crosscni-demo-[0-9a-f]{8}$/);
    expect(calls).toEqual([
      `createNamespace ${ns}`,
      `deleteNamespace /run/netns/${ns}`,
      `deleteNetwork ${DEMO_NETWORK} ${DEMO_BRIDGE}`,
    ]);
    expect(demoDirs()).toEqual(before);
  });

  it('cleans up when a plugin is missing and reports the failure', async () => {
    const calls: string[] = [];
    const out: string[] = [];
    const before = demoDirs();
    const empty = scratch.dir('crosscni-rt-empty-');
    const run = runDemo({
      binDir: empty,
      platform: standInPlatform(calls),
      io: { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
    });
    await expect(run).rejects.toBeInstanceOf(PluginFailedError);
    await expect(run).rejects.toThrow('failed to find plugin "loopback"');
    expect(calls.slice(1)).toEqual([
      expect.stringMatching(/^deleteNamespace /),
      `deleteNetwork ${DEMO_NETWORK} ${DEMO_BRIDGE}`,
    ]);
    expect(out.join('')).toContain('cleanup incomplete:\n  DEL cni-loopback');
    expect(demoDirs()).toEqual(before);
  });
});
