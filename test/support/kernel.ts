/**
 * Test fixtures on the real kernel: uniquely named network namespaces and links, commands to
 * observe kernel state, and cleanup that runs even when a test fails. Tests may spawn `ip` and
 * `nft` to observe; only plugin code paths must not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const isRoot = process.getuid?.() === 0;
export const skipReason = 'needs root for network namespaces (CI runs as root)';

/** A name unique to this run, within the 15-byte interface name limit. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`.slice(0, 15);
}

/** Run a command and return its stdout; throws with stderr on failure. */
export function sh(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Run a command, ignoring failure (cleanup). */
export function trySh(file: string, args: string[]): void {
  spawnSync(file, args, { stdio: 'ignore' });
}

export interface TestNamespace {
  name: string;
  path: string;
}

/** Tracks what a test made so afterEach can remove it whatever happened. */
export class KernelScratch {
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly nftTables: Array<[string, string]> = [];
  private readonly cleanups: Array<() => void> = [];

  namespace(prefix = 'ct'): TestNamespace {
    const name = uniqueName(prefix);
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    return { name, path: `/run/netns/${name}` };
  }

  /** Register a host link (bridge, veth) for deletion. */
  link(name: string): string {
    this.links.push(name);
    return name;
  }

  nftTable(family: string, name: string): void {
    this.nftTables.push([family, name]);
  }

  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  cleanup(): void {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        fn();
      } catch {
        // keep cleaning
      }
    }
    for (const name of this.namespaces.splice(0)) trySh('ip', ['netns', 'del', name]);
    for (const name of this.links.splice(0)) trySh('ip', ['link', 'del', name]);
    for (const [family, name] of this.nftTables.splice(0)) trySh('nft', ['delete', 'table', family, name]);
  }
}

/** `ip -j` output parsed, inside a namespace when given. */
export function ipJson<T = unknown>(args: string[], netns?: string): T {
  const full = netns ? ['-n', netns, '-j', ...args] : ['-j', ...args];
  return JSON.parse(sh('ip', full) || '[]') as T;
}

export interface IpAddrInfo {
  ifname: string;
  mtu: number;
  address: string;
  master?: string;
  operstate: string;
  flags: string[];
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

export function linkAddresses(ifname: string, netns?: string): string[] {
  const [info] = ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', ifname], netns);
  return (info?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
}

export function linkExists(ifname: string, netns?: string): boolean {
  const args = netns ? ['-n', netns, 'link', 'show', 'dev', ifname] : ['link', 'show', 'dev', ifname];
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}
