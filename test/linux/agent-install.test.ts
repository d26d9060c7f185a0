/**
 * `crosscni install --agent` with the real build as source: the whole build directory copied
 * as it is into <bin>/crosscni-node/, one perl shim per plugin that a crosscni bridge
 * recognises as crosscni's (the marker in its first 256 bytes), idempotent re-runs, and
 * switching between the plain and the agent layout without --force.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILD_MARKER } from '../../plugins/attachment/ipam-client.ts';
import { AGENT_PLUGINS } from '../../runtime/agent/plugin-registry.ts';
import { type InstalledFile, install } from '../../runtime/install.ts';
import { NODE_DIR } from '../../runtime/install-agent.ts';
import { distBin } from '../support/plugin-exec.ts';

let root = '';
let bin = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'crosscni-agent-install-'));
  bin = join(root, 'bin');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function run(options: { agent?: boolean; force?: boolean; sourceDir?: string } = {}): InstalledFile[] {
  return install({ sourceDir: distBin, binDir: bin, confDir: join(root, 'net.d'), force: false, ...options });
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

describe('install --agent', () => {
  it('copies the build as it is and writes a recognisable shim per plugin', () => {
    const report = run({ agent: true });
    expect(report.every((r) => r.action === 'installed')).toBe(true);
    const nodeDir = join(bin, NODE_DIR);
    expect(files(nodeDir)).toEqual(files(distBin).filter((f) => !f.includes('.tmp-')));
    for (const f of files(nodeDir)) {
      expect(readFileSync(join(nodeDir, f)).equals(readFileSync(join(distBin, f)))).toBe(true);
      expect(statSync(join(nodeDir, f)).mode & 0o777).toBe(statSync(join(distBin, f)).mode & 0o777);
    }
    for (const type of Object.keys(AGENT_PLUGINS)) {
      const shim = readFileSync(join(bin, type));
      expect(shim.subarray(0, 256).toString('latin1')).toContain(BUILD_MARKER);
      expect(shim.toString()).toContain(`my $fallback_dir = '${nodeDir}';`);
      expect(statSync(join(bin, type)).mode & 0o777).toBe(0o755);
      expect(spawnSync('perl', ['-c', join(bin, type)], { encoding: 'utf8' }).stderr).toContain('syntax OK');
    }
    expect(run({ agent: true }).every((r) => r.action === 'unchanged')).toBe(true);
  });

  it('switches between the plain and the agent layout without --force', () => {
    run({ agent: true });
    const plain = run();
    expect(
      plain
        .filter((r) => Object.keys(AGENT_PLUGINS).includes(r.path.slice(bin.length + 1)))
        .map((r) => r.action),
    ).toEqual(Object.keys(AGENT_PLUGINS).map(() => 'updated'));
    expect(readFileSync(join(bin, 'bridge')).equals(readFileSync(join(distBin, 'bridge')))).toBe(true);
    const back = run({ agent: true });
    expect(back.find((r) => r.path === join(bin, 'bridge'))?.action).toBe('updated');
  });

  it("refuses to replace a file crosscni did not write, and to install from the bin dir's own files", () => {
    run();
    writeFileSync(join(bin, 'bridge'), '#!/bin/sh\n# the Go reference bridge\n', { mode: 0o755 });
    expect(() => run({ agent: true })).toThrow(
      /refusing to overwrite files crosscni did not write: .*bridge/,
    );
    expect(existsShim(join(bin, 'loopback'))).toBe(false);
    expect(run({ agent: true, force: true }).find((r) => r.path === join(bin, 'bridge'))?.action).toBe(
      'replaced',
    );
    expect(() => run({ agent: true, sourceDir: bin })).toThrow(/is where crosscni runs from/);
  });
});

function existsShim(file: string): boolean {
  return readFileSync(file, 'utf8').startsWith('#!/usr/bin/perl');
}
