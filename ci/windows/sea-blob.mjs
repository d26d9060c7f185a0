// The Node.js single-executable-application (SEA) preparation blob: writing its config and
// having this machine's node produce it, and reading one back (from a file or from the
// NODE_SEA_BLOB resource of a built .exe) to check what went in. Injection is inject.mjs's job.
// Layout as Node 20's src/node_sea.cc writes it: u32 magic, u32 flags, then length-prefixed
// (u64) code path and main script; code cache, snapshot and assets follow only when asked for,
// and this build asks for none of them.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';

export const SEA_MAGIC = 0x143da20;
export const SEA_RESOURCE = 'NODE_SEA_BLOB';
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const FLAG_DISABLE_WARNING = 1;
const FLAG_USE_SNAPSHOT = 2;
const FLAG_USE_CODE_CACHE = 4;

/**
 * Makes the blob for `mainScript` with this machine's node. A snapshot and a code cache are
 * V8 data for the machine that makes them, so neither can be made here for Windows. Paths are
 * relative to the config's folder: the blob records the script's path as given, and a build
 * should not depend on where the checkout is.
 * @param {{ mainScript: string, blobPath: string, configPath: string }} paths
 */
export function makeSeaBlob({ mainScript, blobPath, configPath }) {
  const cwd = dirname(configPath);
  const config = {
    main: relative(cwd, mainScript),
    output: relative(cwd, blobPath),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  execFileSync(process.execPath, ['--experimental-sea-config', configPath], { cwd, stdio: 'pipe' });
}

/** @param {Buffer} blob */
export function readSeaBlob(blob) {
  if (blob.length < 24 || blob.readUInt32LE(0) !== SEA_MAGIC) throw new Error('not a SEA blob: bad magic');
  const flags = blob.readUInt32LE(4);
  let at = 8;
  const next = () => {
    const length = Number(blob.readBigUInt64LE(at));
    const start = at + 8;
    at = start + length;
    if (at > blob.length) throw new Error('SEA blob is truncated');
    return blob.subarray(start, at);
  };
  const codePath = next().toString('utf8');
  const code = next().toString('utf8');
  return {
    codePath,
    code,
    warningDisabled: (flags & FLAG_DISABLE_WARNING) !== 0,
    usesSnapshot: (flags & FLAG_USE_SNAPSHOT) !== 0,
    usesCodeCache: (flags & FLAG_USE_CODE_CACHE) !== 0,
  };
}
