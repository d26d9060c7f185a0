/**
 * A plugin's stdin (read bounded) and stdout (its one document): shared by the full plugin
 * (main.ts) and the VERSION stub (version-stub.ts), so both read and write the same bytes.
 * Import-free apart from node:fs and limits.ts to keep the stub small.
 */
import { readSync, writeSync } from 'node:fs';
import { MAX_INPUT_BYTES_PLUS_ONE } from './limits.ts';

/** Read all of stdin, stopping one byte past the limit so the limit check can see it. */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  const buffer = Buffer.allocUnsafe(65536);
  try {
    for (;;) {
      const n = readSync(0, buffer, 0, buffer.length, null);
      if (n === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, n)));
      total += n;
      if (total >= MAX_INPUT_BYTES_PLUS_ONE) break;
    }
    return Buffer.concat(chunks);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A closed or absent stdin is an empty config; a non-blocking one is read as a stream.
    if (code === 'EOF' || code === 'EBADF' || code === 'ENXIO') return Buffer.concat(chunks);
    if (code !== 'EAGAIN') throw e;
  }
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    total += (chunk as Buffer).length;
    if (total >= MAX_INPUT_BYTES_PLUS_ONE) break;
  }
  return Buffer.concat(chunks);
}

/**
 * Write the plugin's document to stdout. A direct write(2) first: `process.stdout` sets up a
 * stream on first use, which costs about 2.5 ms of CPU per exec (docs/startup.md). A pipe
 * takes a document this small whole; if it cannot (EAGAIN on a full non-blocking pipe, a
 * short write) the rest goes through process.stdout as before.
 */
export function writeStdout(text: string): void {
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    written = writeSync(1, bytes);
  } catch {
    written = 0;
  }
  if (written < bytes.length) process.stdout.write(bytes.subarray(written));
}
