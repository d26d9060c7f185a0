/**
 * Host port forwarding with iptables, for hosts without `nft` (or when the operator asks for
 * the "iptables" backend). The reference plugin's layout under crosscni's own names, in the nat
 * table of each family:
 *
 *   PREROUTING, OUTPUT  -m addrtype --dst-type LOCAL -j CROSSCNI-HOSTPORT-DNAT
 *   POSTROUTING         -j CROSSCNI-HOSTPORT-MASQ       (-m mark --mark <bit> -j MASQUERADE)
 *   CROSSCNI-HOSTPORT-DNAT  -p tcp -m multiport --dports 8080,.. [conditions] -j CROSSCNI-DN-<att>
 *   CROSSCNI-DN-<att>   -p tcp --dport 8080 -s <container> -j CROSSCNI-HOSTPORT-SETMARK   (hairpin)
 *                       -p tcp --dport 8080 -s 127.0.0.1 -j CROSSCNI-HOSTPORT-SETMARK     (localhost)
 *                       -p tcp --dport 8080 -j DNAT --to-destination <container>:80 -m comment ..
 *
 * The DNAT rules carry comments recording their forwarding, for CHECK. The attachment's
 * chain is written with one iptables-restore --noflush; the shared chains and jumps are made
 * only when missing. DEL and GC list CROSSCNI-HOSTPORT-DNAT to find jumps: the fallback's
 * price, as with the masquerade fallback.
 */
import { createHash } from 'node:crypto';
import type { AttachmentId } from '../platform/contract.ts';
import { isUnspecifiedHostIp, type PlannedForwarding } from '../platform/port-forwarding.ts';
import { canonicalIp } from '../platform/cidr.ts';
import type { IpFamily, TransportProtocol } from '../platform/types.ts';
import { CommandError } from './errors.ts';
import { attachmentHash, networkTable } from './netfilter-names.ts';
import { findTool, runTool } from './nft.ts';
import { iptablesConditions, type PortCondition } from './portmap-conditions.ts';

const CLI: Record<IpFamily, string> = { 4: 'iptables', 6: 'ip6tables' };
const RESTORE: Record<IpFamily, string> = { 4: 'iptables-restore', 6: 'ip6tables-restore' };
const WAIT = ['-w', '10'];
export const IPTABLES_DNAT_CHAIN = 'CROSSCNI-HOSTPORT-DNAT';
const DNAT_CHAIN = IPTABLES_DNAT_CHAIN;
const SETMARK_CHAIN = 'CROSSCNI-HOSTPORT-SETMARK';
const MASQ_CHAIN = 'CROSSCNI-HOSTPORT-MASQ';
const LOCALHOST: Record<IpFamily, string | undefined> = { 4: '127.0.0.1', 6: undefined };
/** iptables multiport takes at most 15 ports per rule. */
const MULTIPORT_MAX = 15;
const PROTOCOLS: readonly TransportProtocol[] = ['tcp', 'udp', 'sctp'];

/** The comment that records a forwarding in its DNAT rule: all DEL and CHECK need to know. */
export function forwardingComment(f: PlannedForwarding): string {
  return `pm ${f.family} ${f.protocol} ${f.hostPort} ${f.hostIp ?? '-'} ${f.containerIp} ${f.containerPort}`;
}

/** A forwarding read back from its rule comment; undefined for anything else. */
export function parseForwardingComment(comment: string): PlannedForwarding | undefined {
  const [tag, family, protocol, hostPort, hostIp, containerIp, containerPort, ...rest] = comment.split(' ');
  if (tag !== 'pm' || rest.length || (family !== '4' && family !== '6')) return undefined;
  if (!PROTOCOLS.includes(protocol as TransportProtocol)) return undefined;
  const ip = canonicalIp(containerIp ?? '');
  const hp = Number(hostPort);
  const cp = Number(containerPort);
  if (!ip || !Number.isInteger(hp) || !Number.isInteger(cp)) return undefined;
  const f: PlannedForwarding = {
    family: Number(family) as IpFamily,
    protocol: protocol as TransportProtocol,
    hostPort: hp,
    containerPort: cp,
    containerIp: ip,
  };
  if (hostIp && hostIp !== '-') f.hostIp = hostIp;
  return f;
}

export interface IptablesForwardingOptions {
  snat: boolean;
  conditions: Record<IpFamily, PortCondition[]>;
  /** The mark bit for masquerade (reference default 13). */
  markMasqBit: number;
  /** The operator's own mark chain, used instead of ours (and then no MASQ chain is made). */
  externalSetMarkChain?: string;
}

export function portmapIptablesAvailable(family: IpFamily): boolean {
  return findTool(CLI[family]) !== undefined && findTool(RESTORE[family]) !== undefined;
}

/** "CROSSCNI-DN-" + 16 hex: 28 characters, iptables' limit for chain names. */
export function iptablesAttachmentChain(network: string, attachment: AttachmentId): string {
  const digest = createHash('sha256')
    .update(`${network}\0${attachment.containerId}\0${attachment.ifname}`)
    .digest('hex');
  return `CROSSCNI-DN-${digest.slice(0, 16)}`;
}

/** The comment tagging an attachment's jumps: network and attachment hashes, never raw names. */
function jumpComment(network: string, attachment: AttachmentId): string {
  return `crosscni:${networkTable(network).slice('crosscni_'.length)}:${attachmentHash(attachment.containerId, attachment.ifname)}`;
}

function cli(family: IpFamily, args: string[]): Promise<{ stdout: string }> {
  const tool = findTool(CLI[family]);
  if (!tool) throw new CommandError(CLI[family], undefined, `${CLI[family]} is not installed`);
  return runTool(tool, [...WAIT, '-t', 'nat', ...args]);
}

const exists = (family: IpFamily, args: string[]) =>
  cli(family, ['-C', ...args]).then(
    () => true,
    () => false,
  );

/** Shared chains and the jumps into them; made when missing, never flushed. */
async function ensureSharedChains(family: IpFamily, options: IptablesForwardingOptions): Promise<void> {
  const chains = options.externalSetMarkChain ? [DNAT_CHAIN] : [DNAT_CHAIN, SETMARK_CHAIN, MASQ_CHAIN];
  for (const chain of chains) {
    await cli(family, ['-N', chain]).catch((e: unknown) => {
      if (!(e instanceof CommandError) || !/exists/i.test(e.stderr)) throw e;
    });
  }
  const local = ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DNAT_CHAIN];
  for (const hook of ['PREROUTING', 'OUTPUT']) {
    if (!(await exists(family, [hook, ...local]))) await cli(family, ['-A', hook, ...local]);
  }
  if (options.externalSetMarkChain) return;
  const mark = `0x${(1 << options.markMasqBit).toString(16)}`;
  const setMark = [SETMARK_CHAIN, '-j', 'MARK', '--set-xmark', `${mark}/${mark}`];
  if (!(await exists(family, setMark))) await cli(family, ['-A', ...setMark]);
  const masq = [MASQ_CHAIN, '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'MASQUERADE'];
  if (!(await exists(family, masq))) await cli(family, ['-A', ...masq]);
  if (!(await exists(family, ['POSTROUTING', '-j', MASQ_CHAIN])))
    await cli(family, ['-I', 'POSTROUTING', '1', '-j', MASQ_CHAIN]);
}

/** iptables-restore lines of the attachment's chain and its jumps for one family. */
function restoreLines(
  chain: string,
  comment: string,
  forwardings: PlannedForwarding[],
  family: IpFamily,
  options: IptablesForwardingOptions,
): string[] {
  const mark = options.externalSetMarkChain ?? SETMARK_CHAIN;
  const lines = ['*nat', `:${chain} - [0:0]`];
  const ports = new Map<string, number[]>();
  for (const f of forwardings) {
    const match = ['-p', f.protocol, '--dport', String(f.hostPort)];
    if (!isUnspecifiedHostIp(f.hostIp)) match.unshift('-d', f.hostIp!);
    const target =
      family === 4 ? `${f.containerIp}:${f.containerPort}` : `[${f.containerIp}]:${f.containerPort}`;
    if (options.snat) {
      lines.push(`-A ${chain} ${match.join(' ')} -s ${f.containerIp} -j ${mark}`);
      const localhost = LOCALHOST[family];
      if (localhost) lines.push(`-A ${chain} ${match.join(' ')} -s ${localhost} -j ${mark}`);
    }
    lines.push(
      `-A ${chain} ${match.join(' ')} -m comment --comment "${forwardingComment(f)}" -j DNAT --to-destination ${target}`,
    );
    ports.set(f.protocol, [...(ports.get(f.protocol) ?? []), f.hostPort]);
  }
  const conditions = iptablesConditions(options.conditions[family]).join(' ');
  for (const [protocol, list] of ports) {
    const unique = [...new Set(list)];
    for (let i = 0; i < unique.length; i += MULTIPORT_MAX) {
      const dports = unique.slice(i, i + MULTIPORT_MAX).join(',');
      lines.push(
        `-A ${DNAT_CHAIN} -p ${protocol} -m multiport --dports ${dports} ${conditions} -m comment --comment ${comment} -j ${chain}`.replace(
          /\s+/g,
          ' ',
        ),
      );
    }
  }
  lines.push('COMMIT', '');
  return lines;
}

export async function addForwardingsIptables(
  network: string,
  attachment: AttachmentId,
  forwardings: PlannedForwarding[],
  options: IptablesForwardingOptions,
): Promise<void> {
  const chain = iptablesAttachmentChain(network, attachment);
  const comment = jumpComment(network, attachment);
  await removeForwardingsIptables(network, attachment);
  for (const family of [4, 6] as const) {
    const mine = forwardings.filter((f) => f.family === family);
    if (!mine.length) continue;
    await ensureSharedChains(family, options);
    const lines = restoreLines(chain, comment, mine, family, options);
    await runTool(findTool(RESTORE[family])!, ['--noflush', ...WAIT], lines.join('\n'));
  }
}

/** Delete the DNAT-chain jumps whose comment passes `stale`; returns the chains they targeted. */
async function removeJumps(family: IpFamily, stale: (comment: string) => boolean): Promise<Set<string>> {
  const chains = new Set<string>();
  const listing = await cli(family, ['-S', DNAT_CHAIN]).catch(() => undefined);
  for (const line of listing?.stdout.split('\n') ?? []) {
    const args = line
      .trim()
      .split(/\s+/)
      .map((a) => a.replace(/^"(.*)"$/, '$1'));
    const at = args.indexOf('--comment');
    if (args[0] !== '-A' || at < 0 || !stale(args[at + 1] ?? '')) continue;
    await cli(family, ['-D', ...args.slice(1)]).catch(() => undefined);
    chains.add(args[args.indexOf('-j') + 1] ?? '');
  }
  return chains;
}

async function dropChain(family: IpFamily, chain: string): Promise<void> {
  await cli(family, ['-F', chain]).catch(() => undefined);
  await cli(family, ['-X', chain]).catch(() => undefined);
}

/** Remove the attachment's chain and jumps in both families; succeeds when they are gone. */
export async function removeForwardingsIptables(network: string, attachment: AttachmentId): Promise<void> {
  const chain = iptablesAttachmentChain(network, attachment);
  const comment = jumpComment(network, attachment);
  for (const family of [4, 6] as const) {
    if (!portmapIptablesAvailable(family)) continue;
    await removeJumps(family, (c) => c === comment);
    await dropChain(family, chain);
  }
}

/** The attachment's forwardings as its chain's DNAT comments record them. */
export async function readForwardingsIptables(
  network: string,
  attachment: AttachmentId,
): Promise<PlannedForwarding[]> {
  const chain = iptablesAttachmentChain(network, attachment);
  const out: PlannedForwarding[] = [];
  for (const family of [4, 6] as const) {
    if (!portmapIptablesAvailable(family)) continue;
    const listing = await cli(family, ['-S', chain]).catch(() => undefined);
    for (const match of listing?.stdout.matchAll(/--comment "?(pm [^"\n]+?)"? -j DNAT/g) ?? []) {
      const f = parseForwardingComment(match[1]!);
      if (f) out.push(f);
    }
  }
  return out;
}

/** Remove this network's attachment chains whose attachment is not in `valid`. */
export async function collectForwardingsIptables(network: string, valid: AttachmentId[]): Promise<void> {
  const prefix = `crosscni:${networkTable(network).slice('crosscni_'.length)}:`;
  const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
  for (const family of [4, 6] as const) {
    if (!portmapIptablesAvailable(family)) continue;
    const chains = await removeJumps(
      family,
      (c) => c.startsWith(prefix) && !keep.has(c.slice(prefix.length)),
    );
    for (const chain of chains) if (chain.startsWith('CROSSCNI-DN-')) await dropChain(family, chain);
  }
}
