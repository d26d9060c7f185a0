/**
 * Names and address sets shared by the netfilter backends: per-network table names and
 * per-attachment keys (hashes, so free-text network names and container ids never appear in a
 * command), comment-safe text, and NAT exception lists normalised for nft interval sets and
 * iptables alike. Pure.
 */
import { createHash } from 'node:crypto';
import { networkCidr, parseCidr, parseIp, prefixesOverlap, type IpPrefix } from '../platform/cidr.ts';
import type { IpFamily } from '../platform/types.ts';

const MULTICAST: Record<IpFamily, string> = { 4: '224.0.0.0/4', 6: 'ff00::/8' };

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** nft table name of a network: the same in every family crosscni uses (inet NAT, bridge mac spoof). */
export function networkTable(network: string): string {
  return `crosscni_${sha256(`network\0${network}`).slice(0, 12)}`;
}

/** The key of one attachment in set element comments and chain names. */
export function attachmentHash(containerId: string, ifname: string): string {
  return sha256(`${containerId}\0${ifname}`).slice(0, 16);
}

/** A network name fit for a comment: printable, no quotes, bounded. */
export function commentSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9 _.:=+@-]/g, '_').slice(0, 64);
}

/** Container addresses ("10.22.0.5/16" or "10.22.0.5") by family, as plain IPs. */
export function addressesByFamily(addresses: string[]): Record<IpFamily, string[]> {
  const out: Record<IpFamily, string[]> = { 4: [], 6: [] };
  for (const text of addresses) {
    const ip = parseCidr(text)?.address ?? parseIp(text);
    if (!ip) continue;
    const plain = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
    if (!out[ip.family].includes(plain)) out[ip.family].push(plain);
  }
  return out;
}

/**
 * Exceptions of one family in network form, without prefixes another one contains (an nft
 * interval set refuses overlapping elements), plus the family's multicast range.
 */
export function exceptionSet(exceptions: string[], family: IpFamily): string[] {
  const prefixes: IpPrefix[] = [];
  for (const text of [...exceptions, MULTICAST[family]]) {
    const prefix = parseCidr(text);
    if (!prefix || prefix.address.family !== family) continue;
    const normal = parseCidr(networkCidr(prefix))!;
    const overlapping = prefixes.findIndex((p) => prefixesOverlap(p, normal));
    if (overlapping < 0) prefixes.push(normal);
    // Overlapping prefixes are nested: keep the wider one.
    else if (normal.prefixLength < prefixes[overlapping]!.prefixLength) prefixes[overlapping] = normal;
  }
  return prefixes.map(networkCidr);
}
