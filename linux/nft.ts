/**
 * Running the netfilter tools: find `nft` / `iptables` binaries, run an nft batch (`nft -f -`,
 * the batch on stdin, applied atomically by the kernel) or a listing, and report failures as
 * CommandError with the tool's stderr. Raw transport: never a shell, always an argument array,
 * and callers are responsible for quoting what they put into a batch.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CommandError } from './errors.ts';

// Runtimes often start plugins with a PATH that lacks the sbin directories.
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The absolute path of an executable named `name`, or undefined when it is not installed. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
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

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Run `file args`, feeding `input` on stdin; CommandError when it exits non-zero. */
export function runTool(file: string, args: string[], input?: string): Promise<ToolOutput> {
  const command = [file.split('/').pop(), ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(new CommandError(command, undefined, e.message, { cause: e })));
    child.on('close', (code) => {
      const result = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (code === 0) resolve(result);
      else reject(new CommandError(command, code ?? undefined, result.stderr));
    });
    // A tool that exits early closes stdin; the exit code tells what happened, not EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** The nft binary, or undefined when nftables userspace is not installed. */
export function nftPath(): string | undefined {
  return findTool('nft');
}

function requireNft(): string {
  const nft = nftPath();
  if (!nft) throw new CommandError('nft', undefined, 'nft is not installed (install the nftables package)');
  return nft;
}

/** Apply commands as one atomic nft transaction. */
export async function nftBatch(commands: string[]): Promise<void> {
  if (!commands.length) return;
  await runTool(requireNft(), ['-f', '-'], `${commands.join('\n')}\n`);
}

/** `nft -j <args>` parsed: the `nftables` array of the JSON output. */
export async function nftList(args: string[]): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await runTool(requireNft(), ['-j', ...args]);
  const parsed = JSON.parse(stdout || '{"nftables":[]}') as { nftables?: Array<Record<string, unknown>> };
  return parsed.nftables ?? [];
}

/** `nft <args>` as text (for what the JSON output of nft 1.0 leaves out, like chain comments). */
export async function nftText(args: string[]): Promise<string> {
  return (await runTool(requireNft(), args)).stdout;
}

/** The failure was "that object does not exist" (deleting what is already gone). */
export function isMissingObject(e: unknown): boolean {
  return e instanceof CommandError && /No such file or directory/.test(e.stderr);
}

/** A string literal for an nft batch: our own names and hashes only, never raw user input. */
export function nftString(value: string): string {
  return `"${value.replace(/[^A-Za-z0-9 _.:,=+@-]/g, '_')}"`;
}
