/**
 * Running crosscni's host-local and the reference's side by side for the Linux IPAM tests:
 * installing Debian's plugins when missing, configs on a given dataDir, step-by-step
 * comparison of two runs on separate dataDirs, and the store comparison (every file's bytes
 * and mode). Known output differences are normalised here, in one place.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isRoot } from '../../support/kernel.ts';
import {
  type ExecAnswer,
  execHostLocal,
  explain,
  type HostLocalCall,
  type Json,
  OUR_HOST_LOCAL,
  REFERENCE_HOST_LOCAL,
  treeOf,
} from './host-local-exec.ts';
import { INDEX_FILE } from '../../../plugins/host-local/owner-index.ts';
import type { TempDirs } from './ipam-fixture.ts';

/**
 * - The reference always prints `"dns": {}`; ours leaves an empty dns out.
 * - The reference answers every failure with code 999 (untyped Go error); ours with the
 *   spec's codes (5 for a full range or a duplicate ADD, 7 for a bad request).
 */
export const KNOWN_DIFFERENCES = 'dns {} vs absent; error code 999 vs spec codes';

export const NETWORK = 'diffnet';

/** Install Debian's plugins when they are missing and we may (root with apt-get). */
export function referenceAvailable(): boolean {
  if (existsSync(REFERENCE_HOST_LOCAL)) return true;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    spawnSync('apt-get', ['install', '-y', 'containernetworking-plugins'], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  return existsSync(REFERENCE_HOST_LOCAL);
}

export function netConf(dataDir: string, ipam: Json, extra: Json = {}): Json {
  return {
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'bridge',
    ipam: { type: 'host-local', dataDir, ...ipam },
    ...extra,
  };
}

/** A result with the known output differences normalised away. */
export function normalised(answer: ExecAnswer): Json | undefined {
  if (!answer.doc) return undefined;
  const doc = { ...answer.doc };
  if (doc.dns && Object.keys(doc.dns as Json).length === 0) delete doc.dns;
  if (answer.exitCode !== 0) return { failed: true };
  return doc;
}

export interface Step {
  call: HostLocalCall;
  /** Extra top-level config keys for this step (args, runtimeConfig). */
  extra?: Json;
}

export const add = (containerId: string, args?: string): Step => ({
  call: args ? { command: 'ADD', containerId, args } : { command: 'ADD', containerId },
});
export const del = (containerId: string): Step => ({ call: { command: 'DEL', containerId } });

/**
 * Run `steps` through both plugins on separate dataDirs; assert equal outcomes step by step
 * and equal stores at the end. Returns both runs' answers.
 */
export function compare(
  dirs: TempDirs,
  ipam: Json,
  steps: Step[],
): { ours: ExecAnswer[]; reference: ExecAnswer[] } {
  const refDir = dirs.make('crosscni-diff-ref-');
  const ourDir = dirs.make('crosscni-diff-ours-');
  const ours: ExecAnswer[] = [];
  const reference: ExecAnswer[] = [];
  steps.forEach((step, i) => {
    const r = execHostLocal(REFERENCE_HOST_LOCAL, step.call, netConf(refDir, ipam, step.extra));
    const o = execHostLocal(OUR_HOST_LOCAL, step.call, netConf(ourDir, ipam, step.extra));
    reference.push(r);
    ours.push(o);
    const what = `step ${i} ${JSON.stringify(step.call)}: reference ${explain(r)} / ours ${explain(o)}`;
    expect(o.exitCode === 0, what).toBe(r.exitCode === 0);
    expect(normalised(o), what).toEqual(normalised(r));
  });
  expectSameStore(refDir, ourDir);
  return { ours, reference };
}

/** Path → permission bits of everything under `dir`. */
export function modesOf(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === INDEX_FILE) continue; // crosscni's cache; see treeOf
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out[rel] = (statSync(join(dir, entry.name)).mode & 0o7777).toString(8);
    if (entry.isDirectory()) Object.assign(out, modesOf(join(dir, entry.name), rel));
  }
  return out;
}

/** The stores are identical: the same files, byte for byte, with the same modes. */
export function expectSameStore(refDir: string, ourDir: string): void {
  expect(treeOf(ourDir)).toEqual(treeOf(refDir));
  expect(modesOf(ourDir)).toEqual(modesOf(refDir));
}

export function addressesOf(answer: ExecAnswer): string[] {
  return ((answer.doc?.ips as Array<{ address: string }> | undefined) ?? []).map((i) => i.address);
}
