/**
 * The process edge of a plugin executable: read stdin (bounded), call `invokePlugin` with the
 * real environment, write its one document to stdout, set the exit code. Everything that can
 * be tested without a process lives in skel.ts.
 */
import { readSync } from 'node:fs';
import { CniError, ErrorCode } from './errors.ts';
import { MAX_INPUT_BYTES_PLUS_ONE } from './limits.ts';
import { type CniPlugin, invokePlugin } from './skel.ts';
import { CURRENT_VERSION } from './version.ts';

/** Read all of stdin, stopping one byte past the limit so the limit check can see it. */
async function readStdin(): Promise<Uint8Array> {
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

export async function runPluginMain(loadPlugin: () => Promise<CniPlugin>): Promise<void> {
  let stdin: Uint8Array;
  try {
    stdin = await readStdin();
  } catch (e) {
    // VERSION does not need stdin; anything else still owes the runtime one JSON document.
    if (process.env.CNI_COMMAND !== 'VERSION') {
      const error = new CniError(
        ErrorCode.IoFailure,
        'cannot read the network configuration from stdin',
        String(e),
      );
      process.stdout.write(`${JSON.stringify(error.toJSON(CURRENT_VERSION))}\n`);
      process.exitCode = 1;
      return;
    }
    stdin = new Uint8Array();
  }
  const output = await invokePlugin(loadPlugin, process.env, stdin);
  if (output.stdout) process.stdout.write(output.stdout);
  process.exitCode = output.exitCode;
}
