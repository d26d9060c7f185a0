/**
 * What a container attachment leaves on the host, observed the way an operator would look:
 * host-local's files, veths enslaved to the bridge, netfilter rules and set elements (nft
 * ruleset, which includes iptables-nft's rules, plus legacy iptables when its tables are
 * loaded). The matching is by value (the container's IP, its id), not by the plugins' naming
 * schemes, so the same checks hold for the Go reference plugins and crosscni.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, type CommandResult, findExecutable, run, tryRun } from './command.ts';

/** A regex that finds `ip` as a whole address (10.1.2.3 must not match 10.1.2.30). */
export function ipPattern(ip: string): RegExp {
  return new RegExp(`(^|[^0-9.])${ip.replace(/\./g, '\\.')}(?![0-9])`);
}

/** Files under `dir` (recursively) named after `ip` or mentioning `containerId`. */
export function ipamLeftovers(dir: string, ip: string, containerId: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(d, name);
      const stat = statSync(file, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) walk(file);
      else if (name === ip || (stat.size < 65_536 && readFileSync(file, 'utf8').includes(containerId))) {
        found.push(file);
      }
    }
  };
  walk(dir);
  return found;
}

/** The file host-local keeps for an allocated address, wherever in `dir` it is. */
export function ipamFileFor(dir: string, ip: string): string | undefined {
  const walk = (d: string): string | undefined => {
    for (const name of existsSync(d) ? readdirSync(d) : []) {
      const file = join(d, name);
      if (name === ip) return file;
      if (statSync(file).isDirectory()) {
        const inner = walk(file);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  return walk(dir);
}

/** Interfaces enslaved to a bridge on the host (none when the bridge does not exist). */
export function portsOfBridge(bridge: string): string[] {
  const res = tryRun('ip', ['-j', 'link', 'show', 'master', bridge]);
  if (res.exitCode !== 0) return [];
  return (JSON.parse(res.stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
}

export function linkExists(name: string): boolean {
  return tryRun('ip', ['link', 'show', 'dev', name]).exitCode === 0;
}

/**
 * `nft [flags] list ruleset`, retried: while another process keeps changing the ruleset (a
 * benchmark adding hundreds of rules) nft restarts its dump each time the generation changes
 * and can spin for long; short attempts catch a quiet moment instead of waiting out one.
 */
export function nftRuleset(flags: readonly string[] = []): string {
  let last: CommandResult | undefined;
  for (let attempt = 0; attempt < 6; attempt++) {
    last = tryRun('nft', [...flags, 'list', 'ruleset'], { timeoutMs: 10_000 });
    if (last.exitCode === 0) return last.stdout;
  }
  throw new CommandError(`nft ${[...flags, 'list', 'ruleset'].join(' ')} (6 attempts)`, last!);
}

/** The host's netfilter state as text, one rule or element per line where the tools allow. */
export function netfilterListing(): string {
  const parts = [nftRuleset()];
  // Only read legacy iptables when its tables are loaded: reading would otherwise load them.
  const legacyTables = existsSync('/proc/net/ip_tables_names')
    ? readFileSync('/proc/net/ip_tables_names', 'utf8').trim()
    : '';
  if (legacyTables && findExecutable('iptables-legacy-save')) {
    parts.push(tryRun('iptables-legacy-save', []).stdout);
  }
  return parts.join('\n');
}

/** Netfilter lines mentioning the container's IP or id: what DEL must have removed. */
export function netfilterMentions(ip: string, containerId: string): string[] {
  const pattern = ipPattern(ip);
  return netfilterListing()
    .split('\n')
    .filter((line) => pattern.test(line) || (containerId !== '' && line.includes(containerId)));
}

/**
 * Runtime-made network namespaces (podman's netns-*, containerd's cni-* under /run/netns)
 * holding an address that matches. Only those names: a busy host can have hundreds of other
 * namespaces, and asking each one costs an `ip` exec.
 */
export function namespacesWithAddress(match: (ip: string) => boolean): string[] {
  const dir = '/run/netns';
  const out: string[] = [];
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => /^(netns|cni)-/.test(n)) : [];
  for (const name of names) {
    const res = tryRun('ip', ['-n', name, '-4', '-j', 'addr', 'show'], { timeoutMs: 5_000 });
    if (res.exitCode !== 0) continue;
    const links = JSON.parse(res.stdout || '[]') as Array<{ addr_info?: Array<{ local: string }> }>;
    if (links.some((l) => (l.addr_info ?? []).some((a) => match(a.local)))) out.push(name);
  }
  return out;
}

export interface NetnsLink {
  ifname: string;
  flags: string[];
  operstate: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

/** The links of a network namespace given by path (as runtimes report it), with addresses. */
export function linksInNetns(netnsPath: string): NetnsLink[] {
  const out = run('nsenter', [`--net=${netnsPath}`, 'ip', '-j', 'addr', 'show']);
  return JSON.parse(out || '[]') as NetnsLink[];
}

export interface AttachmentLeftovers {
  hostLocalFiles: string[];
  bridgePorts: string[];
  netfilterLines: string[];
}

/** Everything one attachment may have left, in one value so a failure shows all of it at once. */
export function attachmentLeftovers(
  ipamDataDir: string,
  bridge: string,
  ip: string,
  containerId: string,
): AttachmentLeftovers {
  return {
    hostLocalFiles: ipamLeftovers(ipamDataDir, ip, containerId),
    bridgePorts: portsOfBridge(bridge),
    netfilterLines: netfilterMentions(ip, containerId),
  };
}

export const NOTHING_LEFT: AttachmentLeftovers = { hostLocalFiles: [], bridgePorts: [], netfilterLines: [] };
