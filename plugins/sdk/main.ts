/**
 * The process edge of a plugin executable: read stdin (bounded), call `invokePlugin` with the
 * real environment, write its one document to stdout, set the exit code. Everything that can
 * be tested without a process lives in skel.ts.
 */
import { CniError, ErrorCode } from './errors.ts';
import { type CniPlugin, invokePlugin } from './skel.ts';
import { readStdin, writeStdout } from './stdio.ts';
import { CURRENT_VERSION } from './version.ts';

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
      writeStdout(`${JSON.stringify(error.toJSON(CURRENT_VERSION))}\n`);
      process.exitCode = 1;
      return;
    }
    stdin = new Uint8Array();
  }
  const output = await invokePlugin(loadPlugin, process.env, stdin);
  if (output.stdout) writeStdout(output.stdout);
  process.exitCode = output.exitCode;
}
