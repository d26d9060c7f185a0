/**
 * The backstop cleanup that runs after a suite has asked its runtime to remove everything: if a
 * DEL failed (which is what these suites exist to catch), the host must still be left clean for
 * the next test file and the next CI run. Everything removed here is identified by values unique
 * to the suite: its bridge, its /24, its network name (crosscni's tables carry it in their
 * comment), its containers' IPs and ids. Rules are deleted one by one by handle; a whole nft
 * table only when it is not one of iptables' shared tables and its comment names our network.
 * Legacy (x_tables) iptables rules are not scrubbed: neither plugin suite uses them on Debian 12.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tryRun } from './command.ts';
import { linkExists, namespacesWithAddress, nftRuleset, portsOfBridge } from './host-state.ts';
import { inSubnet, type TestNetwork } from './test-network.ts';

/** Tables iptables-nft owns: never dropped whole, other users' rules live there. */
const SHARED_TABLE_NAMES = new Set(['nat', 'filter', 'mangle', 'raw', 'security', 'broute']);

interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: string;
  text: string;
}

interface NftTable {
  family: string;
  name: string;
  text: string;
}

interface NftListing {
  tables: NftTable[];
  rules: NftRule[];
  /** "family table chain" of chains that have a hook (base chains are never deleted). */
  baseChains: Set<string>;
}

function parseNftListing(listing: string): NftListing {
  const tables: NftTable[] = [];
  const rules: NftRule[] = [];
  const baseChains = new Set<string>();
  let table: NftTable | undefined;
  let chain: string | undefined;
  for (const line of listing.split('\n')) {
    const tableMatch = /^table (\S+) (\S+) \{/.exec(line);
    if (tableMatch) {
      table = { family: tableMatch[1]!, name: tableMatch[2]!, text: '' };
      tables.push(table);
      chain = undefined;
      continue;
    }
    if (!table) continue;
    table.text += `${line}\n`;
    const chainMatch = /^\tchain (\S+) \{/.exec(line);
    if (chainMatch) {
      chain = chainMatch[1]!.replace(/^"|"$/g, '');
      continue;
    }
    if (/^\t(set|map|flowtable|counter|quota|ct|limit|secmark|synproxy) /.test(line)) chain = undefined;
    if (chain && /^\t\ttype \S+ hook /.test(line)) baseChains.add(`${table.family} ${table.name} ${chain}`);
    const handle = /# handle (\d+)\s*$/.exec(line);
    if (chain && handle && /^\t\t\S/.test(line)) {
      rules.push({ family: table.family, table: table.name, chain, handle: handle[1]!, text: line });
    }
  }
  return { tables, rules, baseChains };
}

function listNft(): NftListing {
  return parseNftListing(nftRuleset(['-a']));
}

/**
 * Remove nft state that mentions the suite: whole tables whose text names `owner` (crosscni's
 * per-network tables), rules matching any of `patterns` elsewhere, then the non-base chains
 * those rules left empty (the Go bridge's per-container CNI-xxxx masquerade chains).
 */
export function scrubNetfilter(owner: string, patterns: readonly RegExp[]): string[] {
  const removed: string[] = [];
  const first = listNft();
  for (const t of first.tables) {
    if (SHARED_TABLE_NAMES.has(t.name) || !t.text.includes(owner)) continue;
    if (tryRun('nft', ['delete', 'table', t.family, t.name]).exitCode === 0) {
      removed.push(`table ${t.family} ${t.name}`);
    }
  }
  // Chains we deleted rules from or whose jumps we deleted: candidates for removal once unused.
  const candidates = new Set<string>();
  for (const r of listNft().rules) {
    if (!patterns.some((p) => p.test(r.text)) && !r.text.includes(owner)) continue;
    const res = tryRun('nft', ['delete', 'rule', r.family, r.table, r.chain, 'handle', r.handle]);
    if (res.exitCode !== 0) continue;
    removed.push(`rule ${r.family} ${r.table} ${r.chain}: ${r.text.trim()}`);
    candidates.add(`${r.family} ${r.table} ${r.chain}`);
    const target = /\b(?:jump|goto) (\S+)/.exec(r.text)?.[1];
    if (target) candidates.add(`${r.family} ${r.table} ${target}`);
  }
  const after = listNft();
  for (const key of candidates) {
    if (after.baseChains.has(key)) continue;
    const [family = '', table = '', chain = ''] = key.split(' ');
    const referenced = after.rules.some(
      (r) =>
        r.family === family && r.table === table && new RegExp(`\\b(jump|goto) ${chain}\\b`).test(r.text),
    );
    if (referenced) continue;
    // The Go bridge's per-container masquerade chain keeps a rule naming neither the container
    // nor the subnet (its comment is invisible to nft): unused now, so it goes whole.
    tryRun('nft', ['flush', 'chain', family, table, chain]);
    if (tryRun('nft', ['delete', 'chain', family, table, chain]).exitCode === 0) removed.push(`chain ${key}`);
  }
  return removed;
}

/** The veths on the bridge, the bridge, namespaces holding our addresses, libcni's cache. */
export function scrubLinks(net: TestNetwork): string[] {
  const removed: string[] = [];
  // Namespaces first: deleting a veth first would strip the address that identifies them.
  for (const ns of namespacesWithAddress((ip) => inSubnet(ip, net.subnet) && ip !== net.gateway)) {
    if (tryRun('ip', ['netns', 'del', ns]).exitCode === 0) removed.push(`netns ${ns}`);
  }
  for (const port of portsOfBridge(net.bridge)) {
    if (tryRun('ip', ['link', 'del', port]).exitCode === 0) removed.push(`veth ${port}`);
  }
  if (linkExists(net.bridge) && tryRun('ip', ['link', 'del', net.bridge]).exitCode === 0) {
    removed.push(`bridge ${net.bridge}`);
  }
  // libcni (podman, containerd) caches results as <network>-<container id>-<ifname>.
  const cache = '/var/lib/cni/results';
  for (const name of existsSync(cache) ? readdirSync(cache) : []) {
    if (!name.startsWith(`${net.name}-`)) continue;
    rmSync(join(cache, name), { force: true });
    removed.push(`libcni cache ${name}`);
  }
  return removed;
}

/** A pattern for any address of a /24 (10.231.7.0/24 -> 10.231.7.x). */
export function subnetPattern(subnet: string): RegExp {
  const base = subnet.replace(/\.0\/24$/, '').replace(/\./g, '\\.');
  return new RegExp(`(^|[^0-9.])${base}\\.\\d`);
}

/**
 * Everything the suite's network may have left on the host, given the container ids it saw:
 * netfilter first (rules may reference the veths), then links, namespaces and libcni's cache.
 * Returns what had to be removed: empty after a clean run.
 */
export function scrubNetwork(net: TestNetwork, containerIds: readonly string[]): string[] {
  const patterns = [subnetPattern(net.subnet), ...containerIds.map((id) => new RegExp(id))];
  const removed: string[] = [];
  const failures: string[] = [];
  // Independent stages: a netfilter listing that fails must not keep the bridge on the host.
  for (const stage of [() => scrubNetfilter(net.name, patterns), () => scrubLinks(net)]) {
    try {
      removed.push(...stage());
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (failures.length > 0) throw new Error(`scrub of ${net.name} incomplete: ${failures.join('; ')}`);
  return removed;
}
