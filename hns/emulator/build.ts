/**
 * Builds the HCN emulator — a test double of computenetwork.dll, not Windows code — into a
 * shared library the FFI transport can load on Linux. Compiles the C sources in this folder
 * with the system C compiler into a cache file named by a hash of the sources and flags, so
 * test workers share one build and a changed source rebuilds. Only tests call this; nothing on a
 * plugin's path may.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The brief's flags plus warnings and hidden visibility: only the HCN surface and Emu* hooks export. */
const FLAGS = [
  '-shared',
  '-fPIC',
  '-O1',
  '-std=c11',
  '-D_GNU_SOURCE',
  '-Wall',
  '-Wextra',
  '-fvisibility=hidden',
];

export interface EmulatorBuildOptions {
  /** Where the .so is cached; default the OS temp directory. */
  cacheDir?: string;
  /** C compiler; default $CC or "cc". */
  compiler?: string;
}

export const EMULATOR_SOURCE_DIR = dirname(fileURLToPath(import.meta.url));

function sources(): string[] {
  return readdirSync(EMULATOR_SOURCE_DIR)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .sort();
}

/** Path of the emulator library for the current sources, compiling it if it is not cached. */
export async function buildEmulator(options: EmulatorBuildOptions = {}): Promise<string> {
  const compiler = options.compiler ?? process.env.CC ?? 'cc';
  const hash = createHash('sha256');
  hash.update(`${compiler}\0${FLAGS.join(' ')}\0`);
  for (const file of sources())
    hash.update(`${file}\0`).update(readFileSync(join(EMULATOR_SOURCE_DIR, file)));
  const output = join(
    options.cacheDir ?? tmpdir(),
    `crosscni-hcn-emulator-${hash.digest('hex').slice(0, 16)}.so`,
  );
  if (existsSync(output)) return output;
  // Compile to a private name and rename: parallel test workers never see a half-written file.
  const partial = `${output}.${process.pid}.tmp`;
  const cFiles = sources()
    .filter((f) => f.endsWith('.c'))
    .map((f) => join(EMULATOR_SOURCE_DIR, f));
  try {
    await run(compiler, [...FLAGS, '-o', partial, ...cFiles, '-lpthread']);
    renameSync(partial, output);
  } catch (e) {
    rmSync(partial, { force: true });
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(
      `building the HCN emulator with ${compiler} failed (is a C compiler installed?)\n${stderr}`,
      { cause: e },
    );
  }
  return output;
}
