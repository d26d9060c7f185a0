/**
 * The Windows executables ci/build-windows.mjs leaves in dist/windows: one x64 console Node.js
 * SEA under every plugin's name and crosscni.exe, koffi's Windows addon beside them. Checked
 * three ways: the files as a Windows loader and Node.js read them (PE headers, the
 * NODE_SEA_BLOB resource, the fuse, the build marker); the script inside them, run by this
 * machine's node as each program against the HCN emulator (what dispatch, the koffi
 * redirection and the missing Linux platform do); and, when Wine and mingw-w64 are installed,
 * the .exe itself under Wine (not Windows) against the emulator built as a DLL.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MACHINE_AMD64, readPeHeaders } from '../../ci/windows/pe-image.mjs';
import { SEA_FUSE } from '../../ci/windows/sea-blob.mjs';
import { inspectSeaExecutable, MARKER_WINDOW_BYTES } from '../../ci/windows/sea-executable.mjs';
import { buildEmulator } from '../../hns/emulator/build.ts';
import { BUILD_MARKER } from '../../plugins/attachment/ipam-client.ts';
import { repoRoot } from '../support/plugin-exec.ts';
import { buildEmulatorDll, runUnderWine, windowsPath, wineSkipReason } from './wine-harness.ts';

const outDir = join(repoRoot, 'dist', 'windows');
const built = existsSync(join(outDir, 'crosscni.exe'));
const notBuilt = 'skipped: dist/windows is not built (npm run build:windows; CI builds it)';
// The default reporter folds a skipped file into one line: say why on stderr too.
if (!built) console.warn(`windows-exe.test.ts ${notBuilt}`);
else if (wineSkipReason)
  console.warn(`windows-exe.test.ts: the Wine smoke test is skipped: ${wineSkipReason}`);

/** Every plugins/<type>/main.ts except the library folders (the rule of ci/build.mjs), and the CLI. */
const PROGRAMS = [
  ...readdirSync(join(repoRoot, 'plugins'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !['sdk', 'attachment'].includes(d.name))
    .filter((d) => existsSync(join(repoRoot, 'plugins', d.name, 'main.ts')))
    .map((d) => d.name),
  'crosscni',
];

const NAT_CONFIG = {
  cniVersion: '1.0.0',
  name: 'winexe',
  type: 'bridge',
  isDefaultGateway: true,
  ipMasq: true,
  ipam: { type: 'static', addresses: [{ address: '10.99.0.5/24', gateway: '10.99.0.1' }] },
};
const EXPECTED_IPS = [{ interface: 1, address: '10.99.0.5/24', gateway: '10.99.0.1' }];

describe.skipIf(!built)(`Windows executables in dist/windows${built ? '' : ` (${notBuilt})`}`, () => {
  test('every plugin type and crosscni is an x64 console SEA with the blob injected and the fuse flipped', () => {
    const seen = new Map<number, ReturnType<typeof inspectSeaExecutable>>();
    for (const name of PROGRAMS) {
      const file = join(outDir, `${name}.exe`);
      expect(existsSync(file), `${name}.exe`).toBe(true);
      // Hard links of one file are inspected once.
      const { ino } = statSync(file);
      const exe = seen.get(ino) ?? inspectSeaExecutable(file);
      seen.set(ino, exe);
      expect(exe.head.startsWith('MZ'), name).toBe(true);
      expect({ name, machine: exe.machine, isDll: exe.isDll, subsystem: exe.subsystem }).toEqual({
        name,
        machine: MACHINE_AMD64,
        isDll: false,
        subsystem: 3,
      });
      expect({ fuse: exe.fuse, fuseCount: exe.fuseCount }).toEqual({ fuse: ':1', fuseCount: 1 });
      expect(exe.sea).toMatchObject({ warningDisabled: true, usesSnapshot: false, usesCodeCache: false });
      // Dispatch by name: the one script knows every program.
      const entry = new RegExp(`[{,]"?${name}"?:\\(\\)=>`);
      expect(entry.test(exe.sea?.code ?? ''), `${name} in the dispatch table`).toBe(true);
      expect({ signed: exe.signed, checksumValid: exe.checksumValid }).toEqual({
        signed: false,
        checksumValid: true,
      });
      // What plugins/attachment/ipam-client.ts reads to run a sibling IPAM in-process.
      expect(exe.head.length).toBe(MARKER_WINDOW_BYTES);
      expect(exe.head).toContain(BUILD_MARKER);
    }
  });

  test('the script carries no Linux platform and no netlink addon', () => {
    const code = inspectSeaExecutable(join(outDir, 'bridge.exe')).sea?.code ?? '';
    // Booleans, not string matchers: a failure must not print the whole bundle.
    expect(code.includes('this is the Windows build of crosscni'), 'the Linux platform stub').toBe(true);
    expect(/netlink\.node|node-gyp-build|NETLINK_ROUTE/.test(code), 'netlink code').toBe(false);
    expect(
      /"crosscni-native","koffi-"\+\w+\+"\.node"/.test(code),
      'the koffi loader of crosscni-native',
    ).toBe(true);
  });

  test('koffi’s Windows addon is beside them as an x64 DLL', () => {
    const addon = readPeHeaders(readFileSync(join(outDir, 'crosscni-native', 'koffi-win32-x64.node')));
    expect({ machine: addon.machine, isDll: addon.isDll }).toEqual({ machine: MACHINE_AMD64, isDll: true });
    expect(readFileSync(join(outDir, 'crosscni.exe')).includes(`${SEA_FUSE}:0`)).toBe(false);
  });

  describe('the script inside, run by this node as each program on the HCN emulator', () => {
    let dir: string;
    let emulator: string;
    beforeAll(async () => {
      emulator = await buildEmulator();
      dir = mkdtempSync(join(tmpdir(), 'crosscni-winexe-'));
      const code = inspectSeaExecutable(join(outDir, 'crosscni.exe')).sea?.code ?? '';
      for (const name of PROGRAMS) {
        writeFileSync(join(dir, name), code);
        chmodSync(join(dir, name), 0o755);
      }
      // The redirected loader takes koffi from crosscni-native\ beside the program, here for Linux.
      mkdirSync(join(dir, 'crosscni-native'));
      const koffi = join(repoRoot, 'node_modules', '@koromix', 'koffi-linux-x64', 'linux_x64', 'koffi.node');
      copyFileSync(koffi, join(dir, 'crosscni-native', 'koffi-linux-x64.node'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const run = (program: string, env: Record<string, string>, stdin = '') => {
      const r = spawnSync(process.execPath, [join(dir, program)], {
        env: {
          PATH: process.env.PATH ?? '',
          CROSSCNI_PLATFORM: 'windows',
          CROSSCNI_HCN_LIBRARY: emulator,
          ...env,
        },
        input: stdin,
        encoding: 'utf8',
      });
      return { exitCode: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const add = (netns: string, extra: Record<string, string> = {}) =>
      run(
        'bridge',
        {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'c0ffee',
          CNI_NETNS: netns,
          CNI_IFNAME: 'eth0',
          CNI_PATH: dir,
          ...extra,
        },
        JSON.stringify(NAT_CONFIG),
      );

    test('every name answers VERSION as its program; an unknown name says which names exist', () => {
      for (const name of PROGRAMS.filter((p) => p !== 'crosscni')) {
        const answer = run(name, { CNI_COMMAND: 'VERSION' });
        expect({ name, exitCode: answer.exitCode, doc: JSON.parse(answer.stdout) }).toMatchObject({
          name,
          exitCode: 0,
          doc: { supportedVersions: expect.arrayContaining(['0.4.0', '1.1.0']) },
        });
      }
      expect(run('crosscni', {}).stderr).toMatch(/Usage/);
      writeFileSync(join(dir, 'renamed'), readFileSync(join(dir, 'bridge')));
      const unknown = run('renamed', { CNI_COMMAND: 'VERSION' });
      expect(unknown.exitCode).toBe(2);
      expect(unknown.stderr).toMatch(/started as "renamed".*bridge/);
    });

    test('bridge ADD goes through koffi and FFI to HCN, with static IPAM in the same process', () => {
      // A CNI_NETNS that is no GUID: the endpoint is hot-attached to the container CNI_CONTAINERID
      // names, which the emulator in that process is told exists.
      const answer = add('none', { CROSSCNI_EMU_COMPUTE_SYSTEMS: 'c0ffee' });
      expect(answer.exitCode, answer.stdout + answer.stderr).toBe(0);
      expect(JSON.parse(answer.stdout)).toMatchObject({
        ips: EXPECTED_IPS,
        routes: [{ dst: '0.0.0.0/0', gw: '10.99.0.1' }],
      });
      const noContainer = add('none');
      expect(JSON.parse(noContainer.stdout)).toMatchObject({
        code: 3,
        msg: expect.stringMatching(/container c0ffee.*HCS_E_SYSTEM_NOT_FOUND/),
      });
      const missing = add('11111111-2222-3333-4444-555555555555');
      expect(JSON.parse(missing.stdout)).toMatchObject({
        code: 3,
        msg: expect.stringMatching(/HCN namespace .* does not exist/),
      });
    });

    test('the Linux platform is not in the Windows build', () => {
      const answer = add('none', { CROSSCNI_PLATFORM: 'linux' });
      expect(answer.exitCode).toBe(1);
      expect(JSON.parse(answer.stdout).msg).toMatch(/Windows build of crosscni/);
    });
  });

  describe.skipIf(wineSkipReason !== undefined)(
    `the .exe under Wine (a smoke test, not Windows)${wineSkipReason ? ` (skipped: ${wineSkipReason})` : ''}`,
    () => {
      test('bridge.exe answers VERSION; ADD loads koffi from crosscni-native and reaches the emulator DLL', {
        timeout: 400_000,
      }, () => {
        const version = runUnderWine(join(outDir, 'bridge.exe'), { CNI_COMMAND: 'VERSION' });
        expect(version.exitCode, version.stderr).toBe(0);
        expect(JSON.parse(version.stdout)).toMatchObject({
          supportedVersions: expect.arrayContaining(['1.1.0']),
        });
        const env = {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'c0ffee',
          CNI_NETNS: 'none',
          CROSSCNI_EMU_COMPUTE_SYSTEMS: 'c0ffee',
          CNI_IFNAME: 'eth0',
          CNI_PATH: windowsPath(outDir),
          CROSSCNI_HCN_LIBRARY: windowsPath(buildEmulatorDll()),
        };
        const log = join(mkdtempSync(join(tmpdir(), 'crosscni-wine-log-')), 'cni.log');
        const added = runUnderWine(
          join(outDir, 'bridge.exe'),
          { ...env, CROSSCNI_LOG_FILE: windowsPath(log) },
          JSON.stringify(NAT_CONFIG),
        );
        expect(added.exitCode, added.stdout + added.stderr).toBe(0);
        expect(JSON.parse(added.stdout)).toMatchObject({ ips: EXPECTED_IPS });
        // One logged invocation: static.exe was recognised by the marker in its DOS stub and run
        // in-process, not started as a second executable.
        expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
        rmSync(join(log, '..'), { recursive: true, force: true });
        // Without the emulator the FFI transport looks for computenetwork.dll, which Wine lacks.
        const noHns = runUnderWine(
          join(outDir, 'bridge.exe'),
          { ...env, CROSSCNI_HCN_LIBRARY: '' },
          JSON.stringify(NAT_CONFIG),
        );
        expect(JSON.parse(noHns.stdout)).toMatchObject({
          code: 5,
          msg: expect.stringMatching(/computenetwork\.dll/),
        });
      });
    },
  );
});
