/**
 * Running the host's tools (podman, ctr, ip, nft, tar) from the end-to-end suites: always with
 * a timeout, so a hung runtime fails one test instead of the whole CI run, and with errors that
 * carry the command line, exit status and stderr, so a CI log says what broke without a rerun.
 * Synchronous on purpose: a runtime call is short and sequential in these tests, and keeping the
 * event loop blocked never matters here (containerd's output goes to a file, not a pipe).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly commandLine: string,
    readonly result: CommandResult,
  ) {
    const why = result.timedOut ? 'timed out' : `exited with ${result.exitCode}`;
    super(`${commandLine} ${why}: ${result.stderr.trim() || result.stdout.trim() || '(no output)'}`);
    this.name = 'CommandError';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Run a command to completion; never throws (cleanup paths use this). */
export function tryRun(file: string, args: readonly string[], options: RunOptions = {}): CommandResult {
  const run = spawnSync(file, args, {
    encoding: 'utf8',
    input: options.input,
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const timedOut = (run.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return {
    exitCode: run.status,
    stdout: run.stdout ?? '',
    stderr: run.stderr ?? (run.error ? String(run.error) : ''),
    timedOut,
  };
}

/** Run a command and return its stdout; throws CommandError unless it exits 0 in time. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): string {
  const result = tryRun(file, args, options);
  if (result.exitCode !== 0) throw new CommandError([file, ...args].join(' '), result);
  return result.stdout;
}

/** The absolute path of an executable found in PATH, or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  if (isAbsolute(name)) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return undefined;
    }
  }
  // sbin directories are not in every CI user's PATH, but ip, nft and iptables live there.
  const dirs = [...path.split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
