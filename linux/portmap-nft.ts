/**
 * Host port forwarding with nftables, the default backend. It lives in the network's `inet`
 * table (the one outbound NAT uses, named from a hash of the network name) beside the
 * masquerade objects, under its own `pm-` names, and holds no per-container chain, set or rule:
 *
 *   map pm-ports4   { type inet_proto . inet_service : ipv4_addr . inet_service }
 *                     tcp . 8080 comment "<attachment hash>" : 10.22.0.5 . 80
 *   map pm-hostips4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
 *   (and pm-ports6, pm-hostips6 with ipv6_addr: DNAT to [addr]:port)
 *   set pm-hairpin4 { type ipv4_addr . ipv4_addr }   container . container  (hairpin SNAT)
 *   set pm-local4   { type ipv4_addr }               container              (localhost SNAT)
 *   chain pm-prerouting { nat hook prerouting priority dstnat; fib daddr type local jump pm-dnat }
 *   chain pm-output     { nat hook output priority -100;       fib daddr type local jump pm-dnat }
 *   chain pm-dnat { meta nfproto ipv4 [conditionsV4] dnat ip to ip daddr . meta l4proto . th dport map @pm-hostips4
 *                   meta nfproto ipv4 [conditionsV4] dnat ip to meta l4proto . th dport map @pm-ports4  (and IPv6) }
 *   chain pm-postrouting { nat hook postrouting priority srcnat;
 *                          ct status dnat ip saddr . ip daddr @pm-hairpin4 masquerade
 *                          ct status dnat ip saddr 127.0.0.0/8 ip daddr @pm-local4 masquerade ... }
 *
 * Why elements only: `nft` fetches every table, chain and set of the host before applying a
 * batch, so per-container chains or sets would make each ADD slower as containers accumulate.
 * The network's first ADD (and any ADD with conditions) is one batch of a fixed number of
 * commands per mapping; later ADDs add their elements over nfnetlink (portmap-direct.ts) once
 * portmap-rules.ts finds the rules in place. Both delete what an earlier ADD of the same
 * attachment made and this one does not (staleElements). DEL, CHECK
 * and GC find an attachment's elements by their comment, reading this network's maps over
 * nfnetlink (nfnl-setelem.ts): key by key when the mappings are known (DEL with runtimeConfig,
 * CHECK), by a dump of the network's maps otherwise; DEL deletes what it found in one
 * nfnetlink transaction (nfnl-batch.ts) and spawns no `nft` at all.
 * A host port another container already holds makes the batch fail (EEXIST): a conflict.
 */
import { canonicalIp } from '../platform/cidr.ts';
import type { AttachmentId } from '../platform/contract.ts';
import { familyOf, isUnspecifiedHostIp, type PlannedForwarding } from '../platform/port-forwarding.ts';
import type { IpFamily, PortMappingSpec, TransportProtocol } from '../platform/types.ts';
import { attachmentHash, commentSafe, networkTable } from './netfilter-names.ts';
import {
  type ConcatField,
  decodeConcat,
  encodeConcat,
  nftGetSetElements,
  nftSetElements,
  type SetElement,
  setElementMessage,
} from './nfnl-setelem.ts';
import type { NftMessage } from './nfnl-batch.ts';
import { nftString } from './nft.ts';
import { nftConditions, type PortCondition } from './portmap-conditions.ts';

const IP: Record<IpFamily, 'ip' | 'ip6'> = { 4: 'ip', 6: 'ip6' };
const ADDR_TYPE: Record<IpFamily, string> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };
const ADDR_FIELD: Record<IpFamily, ConcatField> = { 4: 'ipv4', 6: 'ipv6' };
const NFPROTO: Record<IpFamily, string> = { 4: 'ipv4', 6: 'ipv6' };

const portsMap = (family: IpFamily) => `pm-ports${family}`;
const hostIpsMap = (family: IpFamily) => `pm-hostips${family}`;
const hairpinSet = (family: IpFamily) => `pm-hairpin${family}`;
const LOCAL_SET = 'pm-local4';

export interface NftForwardingOptions {
  snat: boolean;
  /** Matches every forwarding of the network must meet (the latest ADD's configuration). */
  conditions: Record<IpFamily, PortCondition[]>;
  /** Elements an earlier ADD of this attachment made that this one does not: deleted first. */
  stale?: OwnedElement[];
}

/** The base objects; rewrites the base chains' rules (flush + add) so each exists once. */
function skeletonCommands(network: string, conditions: Record<IpFamily, PortCondition[]>): string[] {
  const t = `inet ${networkTable(network)}`;
  const commands = [
    `add table ${t} { comment ${nftString(`crosscni network ${commentSafe(network)}`)}; }`,
    `add set ${t} ${LOCAL_SET} { type ipv4_addr; }`,
  ];
  for (const f of [4, 6] as const) {
    const target = `${ADDR_TYPE[f]} . inet_service`;
    commands.push(
      `add map ${t} ${portsMap(f)} { type inet_proto . inet_service : ${target}; }`,
      `add map ${t} ${hostIpsMap(f)} { type ${ADDR_TYPE[f]} . inet_proto . inet_service : ${target}; }`,
      `add set ${t} ${hairpinSet(f)} { type ${ADDR_TYPE[f]} . ${ADDR_TYPE[f]}; }`,
    );
  }
  commands.push(
    `add chain ${t} pm-dnat`,
    `add chain ${t} pm-prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} pm-output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} pm-postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    ...['pm-dnat', 'pm-prerouting', 'pm-output', 'pm-postrouting'].map((c) => `flush chain ${t} ${c}`),
    `add rule ${t} pm-prerouting fib daddr type local jump pm-dnat`,
    `add rule ${t} pm-output fib daddr type local jump pm-dnat`,
  );
  for (const f of [4, 6] as const) {
    const match = [`meta nfproto ${NFPROTO[f]}`, nftConditions(conditions[f], f)].filter(Boolean).join(' ');
    commands.push(
      `add rule ${t} pm-dnat ${match} dnat ${IP[f]} to ${IP[f]} daddr . meta l4proto . th dport map @${hostIpsMap(f)}`,
      `add rule ${t} pm-dnat ${match} dnat ${IP[f]} to meta l4proto . th dport map @${portsMap(f)}`,
      `add rule ${t} pm-postrouting ct status dnat ${IP[f]} saddr . ${IP[f]} daddr @${hairpinSet(f)} masquerade`,
    );
  }
  commands.push(
    `add rule ${t} pm-postrouting ct status dnat ip saddr 127.0.0.0/8 ip daddr @${LOCAL_SET} masquerade`,
  );
  return commands;
}

/** The map holding a forwarding and its key, in nft syntax. */
function mapEntry(f: PlannedForwarding): { map: string; key: string; value: string } {
  const value = `${f.containerIp} . ${f.containerPort}`;
  if (isUnspecifiedHostIp(f.hostIp))
    return { map: portsMap(f.family), key: `${f.protocol} . ${f.hostPort}`, value };
  return { map: hostIpsMap(f.family), key: `${f.hostIp} . ${f.protocol} . ${f.hostPort}`, value };
}

/** The SNAT set elements a forwarding needs, as [set, element] pairs. */
function snatElements(f: PlannedForwarding): Array<[string, string]> {
  const pairs: Array<[string, string]> = [[hairpinSet(f.family), `${f.containerIp} . ${f.containerIp}`]];
  if (f.family === 4) pairs.push([LOCAL_SET, f.containerIp]);
  return pairs;
}

/** One batch that forwards `forwardings` to one attachment. */
export function forwardingAddCommands(
  network: string,
  attachment: AttachmentId,
  forwardings: PlannedForwarding[],
  options: NftForwardingOptions,
): string[] {
  const t = `inet ${networkTable(network)}`;
  const owner = `comment ${nftString(attachmentHash(attachment.containerId, attachment.ifname))}`;
  const commands = skeletonCommands(network, options.conditions);
  // Before the adds: a changed container port keeps the key, and `add` of a key held with
  // another value fails (it is how a conflict with another container shows).
  for (const e of options.stale ?? []) commands.push(`delete element ${t} ${e.set} { ${e.key} }`);
  const snat = new Map<string, [string, string]>();
  for (const f of forwardings) {
    const { map, key, value } = mapEntry(f);
    // The first add fails (EEXIST) when another container holds the key; delete + add then
    // (re)writes our element with our comment, so a repeated ADD is idempotent.
    commands.push(
      `add element ${t} ${map} { ${key} : ${value} }`,
      `delete element ${t} ${map} { ${key} }`,
      `add element ${t} ${map} { ${key} ${owner} : ${value} }`,
    );
    if (options.snat) for (const pair of snatElements(f)) snat.set(pair.join('\0'), pair);
  }
  for (const [set, element] of snat.values()) {
    // An element left by an earlier owner of this address gets our comment.
    commands.push(
      `add element ${t} ${set} { ${element} }`,
      `delete element ${t} ${set} { ${element} }`,
      `add element ${t} ${set} { ${element} ${owner} }`,
    );
  }
  return commands;
}

/** An element of one of our maps or sets, found by its owner comment. */
export interface OwnedElement {
  set: string;
  /** The key in nft syntax, for people and tests. */
  key: string;
  /** The key as the kernel holds it, for deleting the element over nfnetlink. */
  keyBytes: Buffer;
  /** A map element's value as the kernel holds it. */
  dataBytes?: Buffer;
  owner: string;
  /** For the DNAT maps: the forwarding the element makes. */
  forwarding?: PlannedForwarding;
}

const MAP_LAYOUTS: Array<{ set: string; family: IpFamily; key: ConcatField[]; hostIp: boolean }> = [
  4, 6,
].flatMap((n) => {
  const family = n as IpFamily;
  return [
    { set: portsMap(family), family, key: ['proto', 'port'] as ConcatField[], hostIp: false },
    {
      set: hostIpsMap(family),
      family,
      key: [ADDR_FIELD[family], 'proto', 'port'] as ConcatField[],
      hostIp: true,
    },
  ];
});
const SET_LAYOUTS: Array<{ set: string; key: ConcatField[] }> = [
  { set: hairpinSet(4), key: ['ipv4', 'ipv4'] },
  { set: hairpinSet(6), key: ['ipv6', 'ipv6'] },
  { set: LOCAL_SET, key: ['ipv4'] },
];

type MapLayout = (typeof MAP_LAYOUTS)[number];

/** Every map and set that holds an attachment's elements. */
export const FORWARDING_SETS = [...MAP_LAYOUTS.map((l) => l.set), ...SET_LAYOUTS.map((l) => l.set)];

/** A DNAT map element read back as the forwarding it makes. */
function mapElement(layout: MapLayout, element: SetElement): OwnedElement | undefined {
  if (!element.comment || !element.data) return undefined;
  const key = decodeConcat(element.key, layout.key);
  const value = decodeConcat(element.data, [ADDR_FIELD[layout.family], 'port']);
  if (!key || !value) return undefined;
  const [protocol, hostPort] = key.slice(-2) as [TransportProtocol, string];
  const forwarding: PlannedForwarding = {
    family: layout.family,
    protocol,
    hostPort: Number(hostPort),
    containerIp: value[0]!,
    containerPort: Number(value[1]),
  };
  if (layout.hostIp) forwarding.hostIp = key[0]!;
  return {
    set: layout.set,
    key: key.join(' . '),
    keyBytes: element.key,
    dataBytes: element.data,
    owner: element.comment,
    forwarding,
  };
}

function setElement(layout: (typeof SET_LAYOUTS)[number], element: SetElement): OwnedElement | undefined {
  const key = decodeConcat(element.key, layout.key);
  return key && element.comment
    ? { set: layout.set, key: key.join(' . '), keyBytes: element.key, owner: element.comment }
    : undefined;
}

/**
 * The network's port-forwarding elements whose owner comment passes `wanted`: dumps of this
 * network's maps and sets over nfnetlink (for GC, and for DEL when the mappings are unknown).
 */
export async function ownedElements(
  network: string,
  wanted: (owner: string) => boolean,
): Promise<OwnedElement[]> {
  const table = networkTable(network);
  const out: OwnedElement[] = [];
  for (const layout of MAP_LAYOUTS) {
    for (const element of await nftSetElements('inet', table, layout.set)) {
      const owned = mapElement(layout, element);
      if (owned && wanted(owned.owner)) out.push(owned);
    }
  }
  for (const layout of SET_LAYOUTS) {
    for (const element of await nftSetElements('inet', table, layout.set)) {
      const owned = setElement(layout, element);
      if (owned && wanted(owned.owner)) out.push(owned);
    }
  }
  return out;
}

/** The elements of one attachment, from dumps of the network's maps and sets. */
export function attachmentElements(network: string, attachment: AttachmentId): Promise<OwnedElement[]> {
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  return ownedElements(network, (owner) => owner === hash);
}

/** The map keys `mapping` can have been stored under (either family when it has no hostIP). */
function candidateKeys(mapping: PortMappingSpec): Array<{ layout: MapLayout; values: string[] }> {
  const hostIp = mapping.hostIp ? canonicalIp(mapping.hostIp) : undefined;
  const specific = hostIp !== undefined && !isUnspecifiedHostIp(hostIp);
  return MAP_LAYOUTS.filter(
    (l) => l.hostIp === specific && (hostIp === undefined || familyOf(hostIp) === l.family),
  ).map((layout) => ({
    layout,
    values: specific
      ? [hostIp, mapping.protocol, String(mapping.hostPort)]
      : [mapping.protocol, String(mapping.hostPort)],
  }));
}

/**
 * The elements of one attachment that `mappings` account for, read key by key over nfnetlink
 * (no listing, whatever the number of containers): the DNAT entries the mappings' keys hold
 * with this attachment's comment, and the SNAT entries of the container addresses they name.
 */
export async function mappingElements(
  network: string,
  attachment: AttachmentId,
  mappings: PortMappingSpec[],
): Promise<OwnedElement[]> {
  const table = networkTable(network);
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  const candidates = new Map<string, { layout: MapLayout; key: Buffer }>();
  for (const { layout, values } of mappings.flatMap(candidateKeys)) {
    candidates.set(`${layout.set} ${values.join(' . ')}`, { layout, key: encodeConcat(values, layout.key) });
  }
  const layouts = new Map(MAP_LAYOUTS.map((l) => [l.set, l]));
  const found = await nftGetSetElements(
    'inet',
    table,
    [...candidates.values()].map((c) => ({ set: c.layout.set, key: c.key })),
  );
  const owned = found
    .map((e) => mapElement(layouts.get(e.set)!, e))
    .filter((e): e is OwnedElement => e?.owner === hash);
  const snatWanted = new Map<string, { set: string; key: Buffer; layout: (typeof SET_LAYOUTS)[number] }>();
  for (const f of owned.flatMap((e) => (e.forwarding ? [e.forwarding] : []))) {
    for (const [set] of snatElements(f)) {
      const layout = SET_LAYOUTS.find((l) => l.set === set)!;
      const values = layout.key.map(() => f.containerIp);
      snatWanted.set(`${set} ${values.join(' . ')}`, { set, key: encodeConcat(values, layout.key), layout });
    }
  }
  const snatFound = await nftGetSetElements('inet', table, [...snatWanted.values()]);
  const snat = snatFound
    .map((e) => setElement(SET_LAYOUTS.find((l) => l.set === e.set)!, e))
    .filter((e): e is OwnedElement => e?.owner === hash);
  return [...owned, ...snat];
}

/** One map or set element an ADD writes, as the kernel holds it. */
export interface PlannedElement {
  set: string;
  key: Buffer;
  /** The DNAT target of a map element. */
  data?: Buffer;
}

/** The elements `forwardingAddCommands` writes for `forwardings` (SNAT ones once each). */
export function forwardingElements(forwardings: PlannedForwarding[], snat: boolean): PlannedElement[] {
  const out = new Map<string, PlannedElement>();
  for (const f of forwardings) {
    const layout = MAP_LAYOUTS.find(
      (l) => l.family === f.family && l.hostIp === !isUnspecifiedHostIp(f.hostIp),
    )!;
    const keyValues = layout.hostIp
      ? [f.hostIp!, f.protocol, String(f.hostPort)]
      : [f.protocol, String(f.hostPort)];
    const key = encodeConcat(keyValues, layout.key);
    const data = encodeConcat([f.containerIp, String(f.containerPort)], [ADDR_FIELD[f.family], 'port']);
    out.set(`${layout.set} ${key.toString('hex')}`, { set: layout.set, key, data });
    if (!snat) continue;
    for (const [set] of snatElements(f)) {
      const setLayout = SET_LAYOUTS.find((l) => l.set === set)!;
      const setKey = encodeConcat(
        setLayout.key.map(() => f.containerIp),
        setLayout.key,
      );
      out.set(`${set} ${setKey.toString('hex')}`, { set, key: setKey });
    }
  }
  return [...out.values()];
}

/** Whether `owned` is exactly `planned` (same set, key and value). */
export function sameElement(owned: OwnedElement, planned: PlannedElement): boolean {
  return (
    owned.set === planned.set &&
    owned.keyBytes.equals(planned.key) &&
    (owned.dataBytes === undefined || planned.data === undefined
      ? owned.dataBytes === planned.data
      : owned.dataBytes.equals(planned.data))
  );
}

/** The attachment's existing elements that a new ADD planning `wanted` does not keep. */
export function staleElements(existing: OwnedElement[], wanted: PlannedElement[]): OwnedElement[] {
  return existing.filter((e) => !wanted.some((w) => sameElement(e, w)));
}

/** nfnetlink messages that delete `elements` (found just before, so they exist). */
export function elementDeleteMessages(network: string, elements: OwnedElement[]): NftMessage[] {
  const table = networkTable(network);
  return elements.map((e) => setElementMessage('delete', 'inet', table, e.set, { key: e.keyBytes }));
}
