/**
 * The record `crosscni install` keeps of what it wrote: `<bin-dir>/.crosscni-install.json`, a
 * list of absolute paths with the sha256 of the bytes written. A file whose current content
 * still has the recorded hash is crosscni's to replace; anything else is someone else's. Reads
 * and writes the record only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';

export const MANIFEST_NAME = '.crosscni-install.json';

export interface ManifestEntry {
  path: string;
  sha256: string;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function manifestPath(binDir: string): string {
  return join(binDir, MANIFEST_NAME);
}

function isEntry(value: unknown): value is ManifestEntry {
  if (typeof value !== 'object' || value === null) return false;
  const { path, sha256: hash } = value as Record<string, unknown>;
  return typeof path === 'string' && typeof hash === 'string';
}

/** The recorded files by path; a missing or unreadable manifest records nothing (trust nothing). */
export function readManifest(binDir: string): Map<string, string> {
  const recorded = new Map<string, string>();
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(manifestPath(binDir), 'utf8'));
  } catch {
    return recorded;
  }
  const files = (doc as { files?: unknown } | null)?.files;
  if (Array.isArray(files)) for (const f of files) if (isEntry(f)) recorded.set(f.path, f.sha256);
  return recorded;
}

export function writeManifest(binDir: string, entries: Map<string, string>): void {
  const files = [...entries]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, hash]) => ({ path, sha256: hash }));
  const text = `${JSON.stringify({ version: 1, files }, null, 2)}\n`;
  writeFileAtomic(manifestPath(binDir), Buffer.from(text), 0o644);
}
