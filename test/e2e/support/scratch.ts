/**
 * The private corner of the host a suite works in: one temporary directory for every runtime's
 * root, state, sockets, config and IPAM data, and a cleanup stack that undoes what the suite
 * made in reverse order. Every step runs even when earlier ones throw (a suite that failed
 * halfway is exactly when cleanup matters); the failures are reported together at the end.
 * Leftover mounts under the directory (overlay rootfs, sandbox /dev/shm) are lazily unmounted
 * before it is removed, because a removal that hits a mount point either fails or, worse,
 * descends into the mounted filesystem.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryRun } from './command.ts';

const OWNER_FILE = 'owner';

/** pid plus start time (/proc/<pid>/stat field 22): a reused pid does not look like the owner. */
function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid} ${fields[19]}`;
  } catch {
    return undefined;
  }
}

/**
 * Scratch directories of this suite whose owning test process is gone: a run that was killed
 * before its afterAll. `release` undoes what that run left outside the directory (it can read
 * the directory, e.g. the network it used); then the directory itself is removed.
 */
export function sweepStaleScratch(suite: string, release: (dir: string) => void): string[] {
  const swept: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(`crosscni-e2e-${suite}-`)) continue;
    const dir = join(tmpdir(), name);
    const ownerFile = join(dir, OWNER_FILE);
    if (!existsSync(ownerFile)) continue;
    const owner = readFileSync(ownerFile, 'utf8').trim();
    if (owner && processIdentity(Number(owner.split(' ')[0])) === owner) continue;
    try {
      release(dir);
    } finally {
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
    swept.push(dir);
  }
  return swept;
}

export interface CleanupStep {
  what: string;
  undo: () => void | Promise<void>;
}

export class E2eScratch {
  readonly root: string;
  private readonly steps: CleanupStep[] = [];

  constructor(suite: string) {
    this.root = mkdtempSync(join(tmpdir(), `crosscni-e2e-${suite}-`));
    writeFileSync(join(this.root, OWNER_FILE), processIdentity(process.pid) ?? '');
    this.defer('remove scratch directory', () => {
      unmountUnder(this.root);
      rmSync(this.root, { recursive: true, force: true });
    });
  }

  /** A path inside the scratch directory. */
  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Register an undo step; steps run last-registered first. */
  defer(what: string, undo: () => void | Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** Run every step; throws one error naming all the steps that failed. */
  async cleanup(): Promise<void> {
    const failures: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (error) {
        failures.push(`${step.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`e2e cleanup left work undone:\n  ${failures.join('\n  ')}`);
  }
}

/** Mount points at or below `dir`, deepest first (mountinfo field 5, octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Lazily unmount everything at or below `dir`. */
export function unmountUnder(dir: string): void {
  for (const point of mountsUnder(dir)) tryRun('umount', ['-l', point], { timeoutMs: 10_000 });
}
