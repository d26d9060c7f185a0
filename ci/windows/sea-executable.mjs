// Turning Windows' node.exe into a crosscni executable: remove the signature the edit would
// invalidate, put the build marker into the DOS stub (so a plugin can tell a crosscni build by
// its first bytes, as on Linux), inject the SEA blob with postject (the resource NODE_SEA_BLOB
// and the flipped fuse), and rewrite the header checksum. inspectSeaExecutable reads back what a
// Windows loader and Node.js will find; the build and the tests both judge the result with it.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  checksums,
  findRcDataResource,
  markDosStub,
  readPeHeaders,
  updateChecksum,
  withoutSignature,
} from './pe-image.mjs';
import { readSeaBlob, SEA_FUSE, SEA_RESOURCE } from './sea-blob.mjs';

/** ipam-client.ts reads this many leading bytes of a plugin file for the build marker. */
export const MARKER_WINDOW_BYTES = 256;

/**
 * Writes `output`: `nodeExe` with `blob` injected. Returns whether the DOS stub carries `marker`.
 * @param {{ nodeExe: string, blob: Buffer, output: string, postjectDir: string, marker: string }} options
 */
export async function writeSeaExecutable({ nodeExe, blob, output, postjectDir, marker }) {
  const image = withoutSignature(readFileSync(nodeExe));
  const marked = markDosStub(image, marker, MARKER_WINDOW_BYTES);
  writeFileSync(output, image);
  const { inject } = createRequire(import.meta.url)(join(postjectDir, 'dist', 'api.js'));
  await inject(output, SEA_RESOURCE, blob, { sentinelFuse: SEA_FUSE });
  writeFileSync(output, updateChecksum(readFileSync(output)));
  return marked;
}

/** @param {Buffer} image @param {string} text */
function occurrences(image, text) {
  let count = 0;
  for (let at = image.indexOf(text, 0, 'latin1'); at >= 0; at = image.indexOf(text, at + 1, 'latin1'))
    count++;
  return count;
}

/** What a Windows loader and Node.js see in `file`. @param {string} file */
export function inspectSeaExecutable(file) {
  const image = readFileSync(file);
  const headers = readPeHeaders(image);
  const resource = findRcDataResource(image, SEA_RESOURCE);
  const fuseAt = image.indexOf(SEA_FUSE, 0, 'latin1');
  const { stored, computed } = checksums(image);
  return {
    bytes: image.length,
    machine: headers.machine,
    isDll: headers.isDll,
    /** 3 = IMAGE_SUBSYSTEM_WINDOWS_CUI, a console program. */
    subsystem: headers.subsystem,
    signed: headers.directories[4].size !== 0,
    checksumValid: stored === computed,
    /** The fuse's state character: '1' once a blob is injected; one fuse only. */
    fuse:
      fuseAt < 0
        ? undefined
        : image.toString('latin1', fuseAt + SEA_FUSE.length, fuseAt + SEA_FUSE.length + 2),
    fuseCount: occurrences(image, SEA_FUSE),
    head: image.toString('latin1', 0, MARKER_WINDOW_BYTES),
    blob: resource ? Buffer.from(resource) : undefined,
    sea: resource ? readSeaBlob(resource) : undefined,
  };
}
