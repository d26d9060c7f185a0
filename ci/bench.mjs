// `npm run bench` (after `npm run build`): bundles the TypeScript bench (ci/bench/main.ts, which
// uses the runtime library in runtime/) into dist/bench/ with esbuild and runs it. Dependencies
// stay external, so the bundle loads them from node_modules like the rest of the tooling.
// Options: `node ci/bench.mjs --help`.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'bench', 'bench.mjs');

await build({
  entryPoints: [join(root, 'ci', 'bench', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});

const { runBench } = await import(pathToFileURL(outfile).href);
process.exitCode = await runBench({ argv: process.argv.slice(2), env: process.env, root });
