/**
 * Running PowerShell for the PowerShell transport, behind an injectable function type so tests
 * can see the exact executable, arguments, stdin and environment of each invocation and answer
 * with canned output. The default runner spawns the process with node:child_process, feeds the
 * script on stdin and collects stdout and stderr. It must not interpret the output; the
 * transport does.
 */
import { spawn } from 'node:child_process';
import { HcnTransportError } from '../errors.ts';

export interface PowerShellInvocation {
  executable: string;
  args: readonly string[];
  /** The script text, fed on stdin (`-Command -`). */
  stdin: string;
  /** Variables added to the child's environment (the request travels in one of them). */
  env: Readonly<Record<string, string>>;
}

export interface PowerShellOutcome {
  /** null when the process was killed (timeout). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export type PowerShellRunner = (invocation: PowerShellInvocation) => Promise<PowerShellOutcome>;

export interface SpawnRunnerOptions {
  /** HCN network creation can take tens of seconds on a busy host; default 120 s. */
  timeoutMs?: number;
}

export function spawnPowerShellRunner(options: SpawnRunnerOptions = {}): PowerShellRunner {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return (invocation) =>
    new Promise((resolve, reject) => {
      const child = spawn(invocation.executable, [...invocation.args], {
        env: { ...process.env, ...invocation.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
        timeout: timeoutMs,
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (e) =>
        reject(
          new HcnTransportError('powershell', `cannot run ${invocation.executable}: ${e.message}`, {
            cause: e,
          }),
        ),
      );
      child.on('close', (exitCode) =>
        resolve({
          exitCode,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        }),
      );
      // A process that exits before reading stdin makes the write fail; 'close' reports the rest.
      child.stdin.on('error', () => undefined);
      child.stdin.end(invocation.stdin, 'utf8');
    });
}
