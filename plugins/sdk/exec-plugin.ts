/**
 * Executing a plugin as a runtime does: the executable with the given environment and the
 * config on stdin, never through a shell, and its one JSON document read back. A non-zero
 * exit with a CNI error document becomes that CniError; anything else a plugin prints is
 * reported as a decoding failure naming the plugin.
 *
 * Built on node:child_process rather than a process library: every plugin bundle carries this
 * module, and a library's source is pre-parsed on every exec whether it runs or not
 * (docs/performance.md measured 4-7 ms CPU per exec for execa).
 */
import { spawn } from 'node:child_process';
import { CniError, ErrorCode } from './errors.ts';
import { decodeJsonObject, type JsonObject } from './input.ts';
import type { Environment } from './env.ts';

export interface PluginRun {
  /** The parsed stdout document; undefined when the plugin printed nothing (DEL, CHECK, ...). */
  output?: JsonObject;
  stderr: string;
}

/** More than any CNI document; a plugin printing this much is broken, and is stopped. */
export const MAX_PLUGIN_OUTPUT_BYTES = 64 * 1024 * 1024;
/** How long a plugin may ignore SIGTERM after its timeout before it gets SIGKILL. */
const KILL_GRACE_MS = 5000;

/** How a child process ended, with everything it printed. */
interface Ending {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the executable could not be started (ENOENT, EACCES, ...). */
  spawnError?: Error;
  timedOut: boolean;
  /** Set when stdout or stderr went past MAX_PLUGIN_OUTPUT_BYTES. */
  overflowed: boolean;
}

/**
 * Run `file` with no arguments, exactly `env`, and `stdin`. Done when its pipes close (all it
 * printed is read); once it is stopped (timeout, too much output), done when it has exited, as
 * a process it left behind may hold the pipes open.
 */
function runChild(file: string, env: Environment, stdin: Uint8Array, timeoutMs: number): Promise<Ending> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outputBytes = 0;
    let timedOut = false;
    let overflowed = false;
    let spawnError: Error | undefined;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let forceKill: NodeJS.Timeout | undefined;
    let settled = false;
    const child = spawn(file, [], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (forceKill) clearTimeout(forceKill);
      resolve({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        exitCode: spawnError ? null : exitCode,
        signal: spawnError ? null : signal,
        spawnError,
        timedOut,
        overflowed,
      });
    };
    const giveUpOnPipes = () => {
      if (!exited) return;
      child.stdout.destroy();
      child.stderr.destroy();
      finish(exited.code, exited.signal);
    };
    const stop = () => {
      if (exited) return giveUpOnPipes();
      child.kill('SIGTERM');
      forceKill = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      forceKill.unref();
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (overflowed) return;
      outputBytes += chunk.length;
      if (outputBytes > MAX_PLUGIN_OUTPUT_BYTES) {
        overflowed = true;
        stop();
        return;
      }
      into.push(chunk);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);

    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    // A plugin may exit without reading its stdin (VERSION does); that is not a failure.
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      spawnError ??= e;
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      if (timedOut || overflowed) giveUpOnPipes();
    });
    child.on('close', finish);
    child.stdin.end(Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength));
  });
}

export async function execPlugin(
  file: string,
  env: Environment,
  stdin: Uint8Array,
  timeoutMs = 120_000,
): Promise<PluginRun> {
  const run = await runChild(file, env, stdin, timeoutMs);
  const stderr = run.stderr.toString();
  const hasOutput = run.stdout.toString().trim() !== '';
  if (run.timedOut) {
    throw new CniError(ErrorCode.TryAgainLater, `plugin ${file} did not finish within ${timeoutMs} ms`);
  }
  if (run.overflowed) {
    throw new CniError(
      ErrorCode.IoFailure,
      `plugin ${file} printed more than ${MAX_PLUGIN_OUTPUT_BYTES} bytes and was stopped`,
      stderr.trim().slice(0, 2000) || undefined,
    );
  }
  if (run.spawnError || run.exitCode !== 0) {
    if (hasOutput) {
      let doc: JsonObject | undefined;
      try {
        doc = decodeJsonObject(run.stdout, `error output of ${file}`);
      } catch {
        doc = undefined;
      }
      if (doc && typeof doc.code === 'number' && typeof doc.msg === 'string') {
        throw new CniError(doc.code, doc.msg, typeof doc.details === 'string' ? doc.details : undefined);
      }
    }
    const why = run.spawnError
      ? `could not be started (${run.spawnError.message})`
      : run.exitCode !== null
        ? `exited with status ${run.exitCode}`
        : `was killed (${run.signal ?? 'unknown signal'})`;
    throw new CniError(
      ErrorCode.IoFailure,
      `plugin ${file} ${why} without a CNI error result`,
      stderr.trim().slice(0, 2000) || undefined,
    );
  }
  return hasOutput ? { output: decodeJsonObject(run.stdout, `output of ${file}`), stderr } : { stderr };
}
