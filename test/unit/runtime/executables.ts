/**
 * Builds what the CLI tests execute: the recorder test plugins (test/fixtures/runtime) and the
 * crosscni CLI itself (runtime/cli.ts), each bundled the way ci/build.mjs bundles the real
 * executables (CommonJS, node shebang, mode 755) into one bin directory. The platform backends
 * are left out of the CLI bundle: only `crosscni demo` loads them, and these tests do not run it.
 */
import { chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

export const repoRoot = resolve(__dirname, '..', '..', '..');
const fixtures = join(repoRoot, 'test', 'fixtures', 'runtime');

const platformBackendsExternal: Plugin = {
  name: 'platform-backends-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/(linux|hns)\/index\.ts$/ }, (args) => ({
      path: args.path,
      external: true,
    }));
  },
};

async function bundle(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [platformBackendsExternal],
    logLevel: 'error',
  });
  chmodSync(outfile, 0o755);
  return outfile;
}

/** Bundle recorder-a, recorder-b and crosscni into `binDir`; returns the CLI's path. */
export async function buildExecutables(binDir: string): Promise<string> {
  const [cli] = await Promise.all([
    bundle(join(repoRoot, 'runtime', 'cli.ts'), join(binDir, 'crosscni')),
    bundle(join(fixtures, 'recorder-a.ts'), join(binDir, 'recorder-a')),
    bundle(join(fixtures, 'recorder-b.ts'), join(binDir, 'recorder-b')),
  ]);
  return cli;
}
