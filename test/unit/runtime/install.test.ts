/**
 * `crosscni install` as a user runs it: the crosscni CLI in a directory beside crosscni plugin
 * bundles and a crosscni-native/ directory, installing into temporary bin and conf dirs (no root).
 * What is asserted is what the user sees: the files in the target dirs, their modes, the printed
 * report, the exit status, and that the installed plugin answers VERSION from its new place.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANIFEST_NAME } from '../../../runtime/install-manifest.ts';
import { buildExecutables } from './executables.ts';
import { Scratch } from './scratch.ts';

const builds = new Scratch();
const scratch = new Scratch();
let cliBuild = '';

// A stand-in plugin: a crosscni bundle (the marker after the shebang) answering VERSION.
const PLUGIN = (tag: string): string =>
  '#!/usr/bin/env node\n// crosscni-plugin-bundle\n' +
  `process.stdout.write(JSON.stringify({cniVersion:"1.1.0",supportedVersions:["1.0.0","1.1.0"],tag:"${tag}"}));\n`;
const FOREIGN = '#!/bin/sh\n# the Go reference bridge\nexit 0\n';
const CONFLIST = { cniVersion: '1.1.0', name: 'inst', plugins: [{ type: 'loopback' }] };

beforeAll(async () => {
  cliBuild = await buildExecutables(builds.dir('crosscni-inst-build-'));
});
afterAll(() => builds.cleanup());
afterEach(() => scratch.cleanup());

interface Layout {
  src: string;
  bin: string;
  conf: string;
  conflist: string;
}

let dirs: Layout;

beforeEach(() => {
  const src = scratch.dir('crosscni-inst-src-');
  writeFileSync(join(src, 'crosscni'), readFileSync(cliBuild), { mode: 0o755 });
  writeFileSync(join(src, 'loopback'), PLUGIN('v1'), { mode: 0o755 });
  writeFileSync(join(src, 'bridge'), PLUGIN('v1'), { mode: 0o755 });
  writeFileSync(join(src, 'README'), 'not a plugin');
  mkdirSync(join(src, 'crosscni-native'));
  writeFileSync(join(src, 'crosscni-native', 'netlink.node'), 'addon bytes');
  const root = scratch.dir('crosscni-inst-dst-');
  const conflist = join(root, '10-inst.conflist');
  writeFileSync(conflist, JSON.stringify(CONFLIST));
  dirs = { src, bin: join(root, 'opt', 'cni', 'bin'), conf: join(root, 'etc', 'cni', 'net.d'), conflist };
});

function install(...extra: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(
    process.execPath,
    [join(dirs.src, 'crosscni'), 'install', '--bin-dir', dirs.bin, '--conf-dir', dirs.conf, ...extra],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.crosscni-tmp-'));
}

describe('crosscni install', () => {
  it('installs the plugins and the native addons with mode 755, and the plugin runs from there', () => {
    const run = install();
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(dirs.bin).sort()).toEqual([MANIFEST_NAME, 'bridge', 'crosscni-native', 'loopback']);
    expect(readFileSync(join(dirs.bin, 'crosscni-native', 'netlink.node'), 'utf8')).toBe('addon bytes');
    expect(statSync(join(dirs.bin, 'loopback')).mode & 0o777).toBe(0o755);
    expect(run.stdout).toMatch(/installed\s+\S+loopback/);
    expect(run.stdout).toMatch(/skipped\s+\S+README \(not a crosscni executable\)/);
    expect(tempFiles(dirs.bin)).toEqual([]);
    const version = spawnSync(join(dirs.bin, 'loopback'), [], {
      env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' },
      input: '{"cniVersion":"1.1.0"}',
      encoding: 'utf8',
    });
    expect(version.status, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ supportedVersions: ['1.0.0', '1.1.0'], tag: 'v1' });
  });

  it('changes nothing on a second run with the same files, and says so', () => {
    expect(install('--conflist', dirs.conflist).status).toBe(0);
    const before = statSync(join(dirs.bin, 'loopback'));
    const manifestBefore = statSync(join(dirs.bin, MANIFEST_NAME));
    const again = install('--conflist', dirs.conflist);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing changed');
    expect(again.stdout).not.toMatch(/^(installed|updated|replaced)/m);
    // Same inode: the file was not rewritten.
    expect(statSync(join(dirs.bin, 'loopback')).ino).toBe(before.ino);
    expect(statSync(join(dirs.bin, MANIFEST_NAME)).mtimeMs).toBe(manifestBefore.mtimeMs);
  });

  it('updates its own plugins in place when they change', () => {
    expect(install().status).toBe(0);
    writeFileSync(join(dirs.src, 'loopback'), PLUGIN('v2'));
    const run = install();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/updated\s+\S+loopback/);
    expect(readFileSync(join(dirs.bin, 'loopback'), 'utf8')).toContain('v2');
    expect(tempFiles(dirs.bin)).toEqual([]);
  });

  it('refuses to overwrite a file it did not write, naming it, and changes nothing', () => {
    mkdirSync(dirs.bin, { recursive: true });
    writeFileSync(join(dirs.bin, 'bridge'), FOREIGN, { mode: 0o755 });
    const run = install();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(join(dirs.bin, 'bridge'));
    expect(run.stderr).toContain('--force');
    expect(readFileSync(join(dirs.bin, 'bridge'), 'utf8')).toBe(FOREIGN);
    expect(readdirSync(dirs.bin)).toEqual(['bridge']);
  });

  it('replaces a foreign file with --force', () => {
    mkdirSync(dirs.bin, { recursive: true });
    writeFileSync(join(dirs.bin, 'bridge'), FOREIGN, { mode: 0o755 });
    const run = install('--force');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/replaced\s+\S+bridge/);
    expect(readFileSync(join(dirs.bin, 'bridge'), 'utf8')).toBe(PLUGIN('v1'));
    expect(tempFiles(dirs.bin)).toEqual([]);
  });

  it('installs a conflist, updates it when it wrote it, and refuses a hand-edited one', () => {
    const target = join(dirs.conf, '10-inst.conflist');
    expect(install('--conflist', dirs.conflist).status).toBe(0);
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual(CONFLIST);
    expect(statSync(target).mode & 0o777).toBe(0o644);
    const manifest = JSON.parse(readFileSync(join(dirs.bin, MANIFEST_NAME), 'utf8'));
    expect(manifest.files.map((f: { path: string }) => f.path)).toContain(target);

    // The source changed: the installed copy is crosscni's (recorded), so it is replaced.
    const changed = { ...CONFLIST, plugins: [{ type: 'loopback' }, { type: 'bridge' }] };
    writeFileSync(dirs.conflist, JSON.stringify(changed));
    const update = install('--conflist', dirs.conflist);
    expect(update.stdout).toMatch(/updated\s+\S+10-inst\.conflist/);
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual(changed);

    // Someone edits the installed copy: it is theirs now.
    writeFileSync(target, JSON.stringify({ ...CONFLIST, name: 'edited' }));
    writeFileSync(dirs.conflist, JSON.stringify(CONFLIST));
    const refused = install('--conflist', dirs.conflist);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(target);
    expect(JSON.parse(readFileSync(target, 'utf8')).name).toBe('edited');
    expect(install('--conflist', dirs.conflist, '--force').status).toBe(0);
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual(CONFLIST);
    expect(tempFiles(dirs.conf)).toEqual([]);
  });

  it('refuses a conflist that does not load, before writing anything', () => {
    writeFileSync(dirs.conflist, '{"cniVersion": "1.1.0", "name": "inst", "plugins": ');
    const run = install('--conflist', dirs.conflist);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('not a loadable network configuration');
    expect(() => readdirSync(dirs.bin)).toThrow();
  });
});
