/**
 * Running host-local executables (ours from dist/bin, the reference from /usr/lib/cni) as a
 * runtime does, synchronously or as child processes that a test may kill. Used by the Linux
 * IPAM tests (concurrency, differential); it holds no assertions.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INDEX_FILE } from '../../../plugins/host-local/owner-index.ts';
import { distBin, repoRoot } from '../../support/plugin-exec.ts';

export const OUR_HOST_LOCAL = join(distBin, 'host-local');
export const REFERENCE_HOST_LOCAL = '/usr/lib/cni/host-local';

export type Json = Record<string, unknown>;

export interface HostLocalCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';
  containerId?: string;
  ifname?: string;
  args?: string;
}

export interface ExecAnswer {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why the process could not be run or waited for (spawn failure, timeout). */
  error?: string;
  /** stdout parsed, when it is JSON. */
  doc?: Json;
}

function environment(binary: string, call: HostLocalCall): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    CNI_PATH: join(binary, '..'),
  };
  if (call.command === 'ADD' || call.command === 'DEL' || call.command === 'CHECK') {
    env.CNI_CONTAINERID = call.containerId ?? 'ctr';
    env.CNI_NETNS = '/run/netns/ipam-exec';
    env.CNI_IFNAME = call.ifname ?? 'eth0';
  }
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  return env;
}

function parsed(stdout: string): Json | undefined {
  try {
    return stdout.trim() ? (JSON.parse(stdout) as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Run a host-local binary to completion. */
export function execHostLocal(binary: string, call: HostLocalCall, config: Json): ExecAnswer {
  const run = spawnSync(binary, [], {
    env: environment(binary, call),
    input: JSON.stringify(config),
    encoding: 'utf8',
    timeout: 60_000,
  });
  const answer: ExecAnswer = {
    exitCode: run.status,
    signal: run.signal,
    stdout: run.stdout,
    stderr: run.stderr,
  };
  if (run.error) answer.error = String(run.error);
  const doc = parsed(run.stdout);
  if (doc) answer.doc = doc;
  return answer;
}

export interface Running {
  child: ChildProcess;
  done: Promise<ExecAnswer>;
}

/** Everything known about how a run ended, for assertion messages. */
export function explain(answer: ExecAnswer): string {
  const how = answer.error ?? `exit ${answer.exitCode} signal ${answer.signal}`;
  return `${how}; stdout ${answer.stdout.trim()}; stderr ${answer.stderr.trim()}`;
}

/** Start a host-local binary as a child process (so a test can run many at once, or kill one). */
export function startHostLocal(binary: string, call: HostLocalCall, config: Json): Running {
  const child = spawn(binary, [], { env: environment(binary, call), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // A child killed before it reads stdin makes the write fail with EPIPE; that is expected.
  child.stdin!.on('error', () => {});
  child.stdin!.end(JSON.stringify(config));
  const done = new Promise<ExecAnswer>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      const answer: ExecAnswer = { exitCode, signal, stdout, stderr };
      const doc = parsed(stdout);
      if (doc) answer.doc = doc;
      resolve(answer);
    });
  });
  return { child, done };
}

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Build dist/bin when host-local is missing (`npm run build`, serialised with flock so two
 * test files never build at once). A binary older than its sources is only reported: a
 * rebuild would rewrite executables other test files may be running.
 */
export function ensureOurHostLocal(): void {
  if (!existsSync(OUR_HOST_LOCAL)) {
    const build = spawnSync('flock', [join(tmpdir(), 'crosscni-build.lock'), 'npm', 'run', 'build'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (build.status !== 0 || !existsSync(OUR_HOST_LOCAL)) {
      throw new Error(`npm run build failed (${build.status}): ${build.stderr}${build.stdout}`);
    }
    return;
  }
  const sources = ['plugins/host-local', 'plugins/sdk', 'platform', 'linux'].map((d) => join(repoRoot, d));
  const newest = Math.max(...sources.map(newestSourceMs));
  if (newest > statSync(OUR_HOST_LOCAL).mtimeMs) {
    console.warn(
      `${OUR_HOST_LOCAL} is older than its sources: run \`npm run build\` to test the current code`,
    );
  }
}

/** Every file under `dir`, as relative path → bytes (latin1, so \r and \n survive). */
export function treeOf(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    // crosscni's owner index is a cache the reference neither writes nor reads: the one
    // deliberate difference between the two suites' stores.
    if (entry.name === INDEX_FILE) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(out, treeOf(join(dir, entry.name), rel), { [`${rel}/`]: '<dir>' });
    else out[rel] = readFileSync(join(dir, entry.name)).toString('latin1');
  }
  return out;
}
