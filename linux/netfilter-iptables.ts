/**
 * Outbound NAT with iptables, for hosts without the `nft` tool or when the operator asks for
 * the "iptables" backend. Mirrors the reference plugin's layout: a per-attachment chain in the
 * nat table holding ACCEPT for each exception and a MASQUERADE, jumped to from POSTROUTING for
 * each container address, every rule tagged with a comment `crosscni:<network>:<attachment>`
 * (hashes, never the raw network name). The chain is written with one `iptables-restore
 * --noflush` (re-declaring a chain flushes it, so ADD is idempotent). Slower than the nftables
 * path, and DEL and GC list POSTROUTING; that is the price of the fallback.
 */
import { createHash } from 'node:crypto';
import type { AttachmentId } from '../platform/contract.ts';
import type { IpFamily } from '../platform/types.ts';
import { CommandError } from './errors.ts';
import { addressesByFamily, attachmentHash, exceptionSet, networkTable } from './netfilter-names.ts';
import { nftChainExists } from './nfnl.ts';
import { findTool, runTool } from './nft.ts';

const TOOLS: Record<IpFamily, { cli: string; restore: string; nftFamily: 'ip' | 'ip6' }> = {
  4: { cli: 'iptables', restore: 'iptables-restore', nftFamily: 'ip' },
  6: { cli: 'ip6tables', restore: 'ip6tables-restore', nftFamily: 'ip6' },
};
// Wait for the xtables lock rather than failing when another plugin holds it.
const WAIT = ['-w', '10'];

export function iptablesAvailable(): boolean {
  return findTool('iptables') !== undefined;
}

/** "CNI-" + 24 hex: the reference plugin's chain name shape (28 characters, iptables' limit). */
export function iptablesChain(network: string, attachment: AttachmentId): string {
  const digest = createHash('sha256')
    .update(`${network}\0${attachment.containerId}\0${attachment.ifname}`)
    .digest('hex');
  return `CNI-${digest.slice(0, 24)}`;
}

function commentOf(network: string, attachment: AttachmentId): string {
  return `crosscni:${networkTable(network).slice('crosscni_'.length)}:${attachmentHash(attachment.containerId, attachment.ifname)}`;
}

function tool(family: IpFamily, which: 'cli' | 'restore'): string {
  const name = TOOLS[family][which];
  const path = findTool(name);
  if (!path)
    throw new CommandError(name, undefined, `${name} is not installed (install the iptables package)`);
  return path;
}

function ignoreFailure(e: unknown): void {
  if (!(e instanceof CommandError) || e.exitCode === undefined) throw e;
}

export async function addMasqueradeIptables(
  network: string,
  attachment: AttachmentId,
  addresses: string[],
  exceptions: string[],
): Promise<void> {
  const chain = iptablesChain(network, attachment);
  const comment = ['-m', 'comment', '--comment', commentOf(network, attachment)];
  const byFamily = addressesByFamily(addresses);
  for (const family of [4, 6] as const) {
    if (!byFamily[family].length) continue;
    const lines = ['*nat', `:${chain} - [0:0]`];
    for (const cidr of exceptionSet(exceptions, family)) {
      lines.push(`-A ${chain} -d ${cidr} -j ACCEPT ${comment.join(' ')}`);
    }
    lines.push(`-A ${chain} -j MASQUERADE ${comment.join(' ')}`, 'COMMIT', '');
    await runTool(tool(family, 'restore'), ['--noflush', ...WAIT], lines.join('\n'));
    for (const ip of byFamily[family]) {
      const jump = ['-t', 'nat', '-s', ip, '-j', chain, ...comment];
      const exists = await runTool(tool(family, 'cli'), [...WAIT, '-C', 'POSTROUTING', ...jump]).then(
        () => true,
        () => false,
      );
      if (!exists) await runTool(tool(family, 'cli'), [...WAIT, '-A', 'POSTROUTING', ...jump]);
    }
  }
}

async function dropChain(family: IpFamily, chain: string): Promise<void> {
  await runTool(tool(family, 'cli'), [...WAIT, '-t', 'nat', '-F', chain]).catch(ignoreFailure);
  await runTool(tool(family, 'cli'), [...WAIT, '-t', 'nat', '-X', chain]).catch(ignoreFailure);
}

/**
 * Delete the POSTROUTING jumps whose crosscni comment passes `stale`, and the chains they jump
 * to. Going by comment, not address, it also works when DEL does not know the addresses.
 */
async function removeJumps(family: IpFamily, stale: (comment: string) => boolean): Promise<void> {
  const { stdout } = await runTool(tool(family, 'cli'), [...WAIT, '-t', 'nat', '-S', 'POSTROUTING']);
  const chains = new Set<string>();
  for (const line of stdout.split('\n')) {
    const args = ruleArgs(line);
    const at = args.indexOf('--comment');
    if (args[0] !== '-A' || at < 0 || !stale(args[at + 1] ?? '')) continue;
    await runTool(tool(family, 'cli'), [...WAIT, '-t', 'nat', '-D', ...args.slice(1)]).catch(ignoreFailure);
    const target = args[args.indexOf('-j') + 1];
    if (target?.startsWith('CNI-')) chains.add(target);
  }
  for (const chain of chains) await dropChain(family, chain);
}

/**
 * Remove the attachment's chain and jumps; succeeds when they are gone. With nft installed the
 * chain can only be an iptables-nft one, visible to a netlink probe, so DEL skips the tools
 * entirely when there is nothing (the common case).
 */
export async function removeMasqueradeIptables(
  network: string,
  attachment: AttachmentId,
  probe: boolean,
): Promise<void> {
  const chain = iptablesChain(network, attachment);
  const comment = commentOf(network, attachment);
  for (const family of [4, 6] as const) {
    if (probe && !(await nftChainExists(TOOLS[family].nftFamily, 'nat', chain))) continue;
    if (!findTool(TOOLS[family].cli)) continue;
    await removeJumps(family, (c) => c === comment);
    // A chain whose jumps were already gone.
    await dropChain(family, chain);
  }
}

/** One line of `iptables -S` as arguments, quotes removed. */
function ruleArgs(line: string): string[] {
  return line
    .trim()
    .split(/\s+/)
    .map((a) => a.replace(/^"(.*)"$/, '$1'));
}

/**
 * Drop the attachment chains whose rules carry a comment `stale` accepts, with or without a
 * jump to them. An ADD killed between writing its chain and adding the POSTROUTING jump leaves
 * a chain no jump leads to, which only its rules' comments identify. Lists the nat table: GC only.
 */
async function removeStaleChains(family: IpFamily, stale: (comment: string) => boolean): Promise<void> {
  const { stdout } = await runTool(tool(family, 'cli'), [...WAIT, '-t', 'nat', '-S']);
  const chains = new Set<string>();
  for (const line of stdout.split('\n')) {
    const args = ruleArgs(line);
    const at = args.indexOf('--comment');
    if (args[0] === '-A' && args[1]?.startsWith('CNI-') && at > 0 && stale(args[at + 1] ?? ''))
      chains.add(args[1]);
  }
  for (const chain of chains) await dropChain(family, chain);
}

/** Remove this network's chains whose attachment is not in `valid`. */
export async function collectMasqueradeIptables(network: string, valid: AttachmentId[]): Promise<void> {
  const prefix = `crosscni:${networkTable(network).slice('crosscni_'.length)}:`;
  const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
  const stale = (c: string) => c.startsWith(prefix) && !keep.has(c.slice(prefix.length));
  for (const family of [4, 6] as const) {
    if (!findTool(TOOLS[family].cli)) continue;
    await removeJumps(family, stale);
    await removeStaleChains(family, stale);
  }
}
