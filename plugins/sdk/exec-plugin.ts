/**
 * Executing a plugin as a runtime does: the executable with the given environment and the
 * config on stdin, never through a shell, and its one JSON document read back. A non-zero
 * exit with a CNI error document becomes that CniError; anything else a plugin prints is
 * reported as a decoding failure naming the plugin.
 */
import { CniError, ErrorCode } from './errors.ts';
import { decodeJsonObject, type JsonObject } from './input.ts';
import type { Environment } from './env.ts';

export interface PluginRun {
  /** The parsed stdout document; undefined when the plugin printed nothing (DEL, CHECK, ...). */
  output?: JsonObject;
  stderr: string;
}

export async function execPlugin(
  file: string,
  env: Environment,
  stdin: Uint8Array,
  timeoutMs = 120_000,
): Promise<PluginRun> {
  const { execa } = await import('execa');
  const run = await execa(file, [], {
    env: env as Record<string, string>,
    extendEnv: false,
    input: Buffer.from(stdin),
    encoding: 'buffer',
    reject: false,
    timeout: timeoutMs,
    stripFinalNewline: false,
  });
  const stdout = run.stdout as Uint8Array;
  const stderr = Buffer.from(run.stderr as Uint8Array).toString();
  const hasOutput = Buffer.from(stdout).toString().trim() !== '';
  if (run.failed) {
    if (run.timedOut) {
      throw new CniError(ErrorCode.TryAgainLater, `plugin ${file} did not finish within ${timeoutMs} ms`);
    }
    if (hasOutput) {
      let doc: JsonObject | undefined;
      try {
        doc = decodeJsonObject(stdout, `error output of ${file}`);
      } catch {
        doc = undefined;
      }
      if (doc && typeof doc.code === 'number' && typeof doc.msg === 'string') {
        throw new CniError(doc.code, doc.msg, typeof doc.details === 'string' ? doc.details : undefined);
      }
    }
    const why =
      run.exitCode !== undefined
        ? `exited with status ${run.exitCode}`
        : run.signal
          ? `was killed (${run.signal})`
          : `could not be started (${run.originalMessage ?? 'unknown reason'})`;
    throw new CniError(
      ErrorCode.IoFailure,
      `plugin ${file} ${why} without a CNI error result`,
      stderr.trim().slice(0, 2000) || undefined,
    );
  }
  return hasOutput ? { output: decodeJsonObject(stdout, `output of ${file}`), stderr } : { stderr };
}
