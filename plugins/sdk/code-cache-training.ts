/**
 * Build time only (ci/build.mjs): make a bundle's V8 code cache by running the bundle for real.
 * A process started with `trainCodeCache(bundle, out)` compiles the bundle (with the cache of an
 * earlier training run when given, so successive runs accumulate), runs it as the plugin's
 * executable would, and at exit writes the cache, which then holds every function the run
 * compiled. Never part of a plugin executable: at run time nothing is written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Script } from 'node:vm';
import { bundleId, CACHE_MAGIC, compileBundle, digest, runCompiledBundle } from './bundle-loader.ts';

export type TrainingMode = 'compile' | 'run';

/** Write `script`'s code cache for `bundleFile` to `outFile`, with the header the loader checks. */
export function writeCodeCache(script: Script, bundleFile: string, outFile: string): void {
  const id = bundleId(readFileSync(bundleFile, 'utf8'));
  if (!id) throw new Error(`${bundleFile} has no bundle id line`);
  const payload = script.createCachedData();
  writeFileSync(outFile, Buffer.concat([Buffer.from(`${CACHE_MAGIC} ${id} ${digest(payload)}\n`), payload]));
}

/**
 * 'compile': write the cache right after compiling (top-level code only). 'run': run the bundle
 * (the invocation comes from this process's environment and stdin) and write it at exit.
 */
export function trainCodeCache(bundleFile: string, outFile: string, mode: TrainingMode): void {
  const { script } = compileBundle(bundleFile, { useCache: mode === 'run' });
  if (mode === 'compile') {
    writeCodeCache(script, bundleFile, outFile);
    return;
  }
  process.on('exit', () => writeCodeCache(script, bundleFile, outFile));
  runCompiledBundle(script, bundleFile);
}
