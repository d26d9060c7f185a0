/**
 * An endpoint's ACLs (the platform's AclSpec, HCN's ACL policy) rendered as nftables rules for
 * a bridge-family chain. Pure. Meaning, as HCN applies ACLs on the vSwitch port:
 * - direction 'out' is traffic from the container, 'in' traffic to it; "local" is the
 *   container's side (source for out, destination for in), "remote" the peer's;
 * - rules run by ascending priority (config order among equals); the first match decides, and
 *   traffic no rule matches passes;
 * - only IP traffic is subject to ACLs (ARP and other frames always pass).
 * Addresses of both families may be mixed in one ACL: each family gets its own rule, and a
 * family absent from a given address list cannot match it.
 */
import { networkCidr, parseCidr, parseIp, prefixesOverlap, type IpPrefix } from '../platform/cidr.ts';
import type { AclSpec, IpFamily } from '../platform/types.ts';

const PORT_PROTOCOLS = new Set(['6', '17', '132', '136']);
const L3: Record<IpFamily, 'ip' | 'ip6'> = { 4: 'ip', 6: 'ip6' };

/** Addresses of one family as non-overlapping network CIDRs (an nft interval set refuses overlaps). */
function prefixesOf(addresses: string[], family: IpFamily): string[] {
  const kept: IpPrefix[] = [];
  for (const text of addresses) {
    const ip = parseIp(text);
    const prefix = ip ? { address: ip, prefixLength: ip.family === 4 ? 32 : 128 } : parseCidr(text);
    if (!prefix || prefix.address.family !== family) continue;
    const normal = parseCidr(networkCidr(prefix))!;
    const at = kept.findIndex((p) => prefixesOverlap(p, normal));
    if (at < 0) kept.push(normal);
    // Overlapping prefixes are nested: the wider one covers both.
    else if (normal.prefixLength < kept[at]!.prefixLength) kept[at] = normal;
  }
  return kept.map(networkCidr);
}

function set(values: Array<string | number>): string {
  return values.length === 1 ? String(values[0]) : `{ ${values.join(', ')} }`;
}

/** The transport part: protocols, then ports (only TCP/UDP/SCTP/UDP-Lite carry ports). */
function transportMatch(acl: AclSpec, direction: 'in' | 'out'): string[] | undefined {
  const parts: string[] = [];
  const localPorts = acl.localPorts ?? [];
  const remotePorts = acl.remotePorts ?? [];
  let protocols = acl.protocols ?? [];
  if (localPorts.length || remotePorts.length) {
    protocols = protocols.length ? protocols.filter((p) => PORT_PROTOCOLS.has(p)) : ['6', '17'];
    if (!protocols.length) return undefined;
  }
  if (protocols.length) parts.push(`meta l4proto ${set(protocols.map(Number))}`);
  const [sport, dport] = direction === 'out' ? [localPorts, remotePorts] : [remotePorts, localPorts];
  if (sport.length) parts.push(`th sport ${set(sport)}`);
  if (dport.length) parts.push(`th dport ${set(dport)}`);
  return parts;
}

/** nft rule bodies (matches and verdict) for one ACL; none when it can match nothing. */
export function aclRules(acl: AclSpec): string[] {
  const verdict = acl.action === 'allow' ? 'accept' : 'drop';
  const transport = transportMatch(acl, acl.direction);
  if (!transport) return [];
  const local = acl.localAddresses ?? [];
  const remote = acl.remoteAddresses ?? [];
  if (!local.length && !remote.length) {
    return [['meta protocol { ip, ip6 }', ...transport, verdict].join(' ')];
  }
  // Local is the container's side: the source of what it sends, the destination of what it gets.
  const [localField, remoteField] = acl.direction === 'out' ? ['saddr', 'daddr'] : ['daddr', 'saddr'];
  const rules: string[] = [];
  for (const family of [4, 6] as const) {
    const l = prefixesOf(local, family);
    const r = prefixesOf(remote, family);
    if ((local.length && !l.length) || (remote.length && !r.length)) continue;
    const parts = [`meta protocol ${L3[family]}`];
    if (l.length) parts.push(`${L3[family]} ${localField} ${set(l)}`);
    if (r.length) parts.push(`${L3[family]} ${remoteField} ${set(r)}`);
    rules.push([...parts, ...transport, verdict].join(' '));
  }
  return rules;
}

/** The ACLs of one direction in evaluation order: by priority, config order among equals. */
export function aclsInOrder(acls: AclSpec[], direction: 'in' | 'out'): AclSpec[] {
  return acls
    .map((acl, index) => ({ acl, index }))
    .filter(({ acl }) => acl.direction === direction)
    .sort((a, b) => a.acl.priority - b.acl.priority || a.index - b.index)
    .map(({ acl }) => acl);
}
