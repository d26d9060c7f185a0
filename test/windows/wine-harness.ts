/**
 * Running the built Windows executables under Wine on Linux: a smoke test of the real .exe
 * (PE loading, the SEA blob, dispatch by name, koffi's Windows addon, FFI) — Wine is not
 * Windows and HNS is not there, so the FFI calls go to the HCN emulator compiled as a Windows
 * DLL with mingw-w64. Both tools are optional: `wineSkipReason` says what is missing.
 * Wine's pipes are not what libuv expects on Windows (stdout as a pipe fails with EBADF), so
 * the standard streams are files.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMULATOR_SOURCE_DIR } from '../../hns/emulator/build.ts';
import { repoRoot } from '../support/plugin-exec.ts';

const cacheDir = join(repoRoot, 'node_modules', '.cache', 'crosscni-windows');

function onPath(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Debian's wine64 package puts the loader outside PATH. */
export const wine = ['/usr/lib/wine/wine64', onPath('wine64'), onPath('wine')].find(
  (p) => p && existsSync(p),
);
const mingw = onPath('x86_64-w64-mingw32-gcc');

export const wineSkipReason = !wine
  ? 'Wine is not installed (apt-get install wine64)'
  : !mingw
    ? 'mingw-w64 is not installed (apt-get install gcc-mingw-w64-x86-64-posix), needed for the emulator DLL'
    : undefined;

/** A Linux path as Wine's Z: drive shows it. */
export function windowsPath(path: string): string {
  return `Z:${path.replaceAll('/', '\\')}`;
}

/** The HCN emulator as a Windows DLL (cached by a hash of its sources). */
export function buildEmulatorDll(): string {
  const sources = readdirSync(EMULATOR_SOURCE_DIR)
    .filter((f) => /\.[ch]$/.test(f))
    .sort();
  const hash = createHash('sha256');
  for (const f of sources) hash.update(f).update(readFileSync(join(EMULATOR_SOURCE_DIR, f)));
  const output = join(cacheDir, `hcn-emulator-${hash.digest('hex').slice(0, 16)}.dll`);
  if (existsSync(output)) return output;
  mkdirSync(cacheDir, { recursive: true });
  const cFiles = sources.filter((f) => f.endsWith('.c')).map((f) => join(EMULATOR_SOURCE_DIR, f));
  // -static: winpthread linked in, so the DLL needs nothing Wine lacks.
  const partial = `${output}.${process.pid}.tmp`;
  const cc = spawnSync(
    mingw!,
    ['-shared', '-static', '-O1', '-std=c11', '-D_GNU_SOURCE', '-o', partial, ...cFiles, '-lpthread'],
    {
      encoding: 'utf8',
    },
  );
  if (cc.status !== 0) throw new Error(`building the emulator DLL failed:\n${cc.stderr}`);
  writeFileSync(output, readFileSync(partial));
  rmSync(partial);
  return output;
}

export interface WineRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `exe` under Wine with `env` (on top of Wine's own) and `stdin`. */
export function runUnderWine(exe: string, env: Record<string, string>, stdin = ''): WineRun {
  const dir = mkdtempSync(join(tmpdir(), 'crosscni-wine-'));
  const files = ['in', 'out', 'err'].map((f) => join(dir, f));
  writeFileSync(files[0]!, stdin);
  const fds = [openSync(files[0]!, 'r'), openSync(files[1]!, 'w'), openSync(files[2]!, 'w')];
  try {
    const run = spawnSync(wine!, [exe], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        // Wine's prefix is ~700 MB of its own files: kept out of the repository, made once per machine.
        WINEPREFIX: join(tmpdir(), 'crosscni-wineprefix'),
        WINEDEBUG: '-all',
        // Wine reports an older Windows than Node.js 20 accepts; the check is Node's, not ours.
        NODE_SKIP_PLATFORM_CHECK: '1',
        ...env,
      },
      stdio: fds,
      timeout: 170_000,
    });
    return {
      exitCode: run.status ?? -1,
      stdout: readFileSync(files[1]!, 'utf8'),
      stderr: readFileSync(files[2]!, 'utf8'),
    };
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
