/**
 * Builds a fixture entry into a plugin executable the way ci/build.mjs builds the real ones
 * (one CommonJS bundle with a node shebang, mode 755), so tests run the SDK's process edge.
 */
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

export async function bundleFixture(fixture: string, outDir: string, name: string): Promise<string> {
  const outfile = join(outDir, name);
  await build({
    entryPoints: [join(here, 'fixtures', fixture)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'error',
  });
  chmodSync(outfile, 0o755);
  return outfile;
}

/** The environment a plugin process gets: only what is given, plus a PATH that finds node. */
export function processEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}
