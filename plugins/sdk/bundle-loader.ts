/**
 * Loading a plugin bundle (dist/bin/crosscni-bundles/<type>.js) as a CommonJS module through
 * `vm.Script`, with the V8 code cache made at build time (<type>.js.cache) when it fits: Node 20
 * has no compile cache of its own, and compiling the bundle is a measured part of every exec
 * (docs/startup.md). The cache is only read here; code-cache-training.ts writes it during the
 * build. A missing, foreign or damaged cache costs only the speed: V8 rejects one from another
 * V8 version or other flags, and the header binds it to the exact bundle it was made from (V8
 * itself compares only the source length) and to its own payload.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** The folder beside the executables that holds the full bundles and their caches (also in version-stub.ts). */
export const BUNDLE_DIR = 'crosscni-bundles';
/** First line of every bundle: `// crosscni-bundle-id <hash of the rest>` (ci/build.mjs writes it). */
export const BUNDLE_ID_PREFIX = '// crosscni-bundle-id ';
export const CACHE_MAGIC = 'crosscni-code-cache-1';

/** The same wrapper Node puts around a CommonJS file; the cache belongs to this exact text. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAPPER_TAIL = '\n})';

export function codeCacheFile(bundleFile: string): string {
  return `${bundleFile}.cache`;
}

export interface LoadedBundle {
  script: Script;
  /** Whether the code cache was used (false: none, not this bundle's, damaged, or rejected by V8). */
  cacheUsed: boolean;
}

export function bundleId(source: string): string | undefined {
  if (!source.startsWith(BUNDLE_ID_PREFIX)) return undefined;
  const end = source.indexOf('\n');
  return source.slice(BUNDLE_ID_PREFIX.length, end < 0 ? undefined : end).trim() || undefined;
}

export function digest(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** The cache's V8 data when its header names this bundle and its payload is intact. */
function readCodeCache(bundleFile: string, id: string | undefined): Buffer | undefined {
  if (!id) return undefined;
  let file: Buffer;
  try {
    file = readFileSync(codeCacheFile(bundleFile));
  } catch {
    return undefined;
  }
  const newline = file.indexOf(10);
  if (newline < 0 || newline > 512) return undefined;
  const [magic, forId, payloadDigest] = file.subarray(0, newline).toString('latin1').split(' ');
  const payload = file.subarray(newline + 1);
  if (magic !== CACHE_MAGIC || forId !== id || payloadDigest !== digest(payload)) return undefined;
  return payload;
}

function compile(source: string, filename: string, cachedData?: Buffer): Script {
  return new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename, cachedData });
}

/** Compile the bundle, with its code cache when that is usable. */
export function compileBundle(bundleFile: string, options: { useCache: boolean }): LoadedBundle {
  const source = readFileSync(bundleFile, 'utf8');
  const cache = options.useCache ? readCodeCache(bundleFile, bundleId(source)) : undefined;
  const script = compile(source, bundleFile, cache);
  return { script, cacheUsed: cache !== undefined && !script.cachedDataRejected };
}

/** Run a compiled bundle as the CommonJS module `bundleFile`; returns its exports. */
export function runCompiledBundle(script: Script, bundleFile: string): unknown {
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeRequire,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(
    module.exports,
    module.exports,
    createRequire(bundleFile),
    module,
    bundleFile,
    dirname(bundleFile),
  );
  return module.exports;
}

/** Load and run the bundle `bundleFile` (the plugin's own main then handles the invocation). */
export function runBundle(bundleFile: string): LoadedBundle {
  const loaded = compileBundle(bundleFile, { useCache: true });
  runCompiledBundle(loaded.script, bundleFile);
  return loaded;
}
