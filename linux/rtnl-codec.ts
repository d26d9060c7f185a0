/**
 * rtnetlink message bodies: the ifinfomsg / ifaddrmsg / rtmsg headers with their attributes,
 * and the decoded views of links, addresses and routes the platform reads. Pure: no socket, no
 * kernel. The netlink package's generated rtnetlink structs cover all of this but cost ~6 ms
 * to load on every plugin run, so crosscni encodes the few messages it needs itself
 * (framing in rtnl-attrs.ts, numbers in rtnl-constants.ts).
 */
import { formatIp, type IpAddress } from '../platform/cidr.ts';
import {
  type Attr,
  cString,
  decodeAttrs,
  encodeAttrs,
  ipFromBytes,
  macText,
  readS32,
  readU32,
  writeHostU32,
} from './rtnl-attrs.ts';
import type { IpFamily } from '../platform/types.ts';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA,
  IFLA,
  IFLA_BRPORT,
  IFLA_BR_VLAN_FILTERING,
  IFLA_INFO,
  RTA,
  RTAX,
} from './rtnl-constants.ts';

// ---- links ----------------------------------------------------------------------------------

export interface IfInfoHeader {
  family?: number;
  index?: number;
  flags?: number;
  change?: number;
}

/** struct ifinfomsg followed by attributes. */
export function encodeLink(header: IfInfoHeader, attrs: Attr[] = []): Buffer {
  const h = Buffer.alloc(16);
  h[0] = header.family ?? AF_UNSPEC;
  writeHostU32(h, 4, header.index ?? 0);
  writeHostU32(h, 8, header.flags ?? 0);
  writeHostU32(h, 12, header.change ?? 0);
  return Buffer.concat([h, encodeAttrs(attrs)]);
}

export interface LinkInfo {
  index: number;
  name: string;
  flags: number;
  mtu: number;
  mac?: string;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the namespace `linkNetnsId` names, if set). */
  link?: number;
  linkNetnsId?: number;
  master?: number;
  /** IFLA_INFO_KIND: "bridge", "veth", ...; absent for plain devices (lo, physical NICs). */
  kind?: string;
  slaveKind?: string;
  vlanFiltering?: boolean;
  /** Bridge port state, present when the link is a bridge port. */
  hairpin?: boolean;
  isolated?: boolean;
}

export function decodeLink(body: Buffer): LinkInfo {
  const attrs = decodeAttrs(body.subarray(16));
  const link: LinkInfo = {
    index: readS32(body, 4),
    flags: readU32(body, 8),
    name: cString(attrs.get(IFLA.IFNAME) ?? Buffer.alloc(0)),
    mtu: attrs.has(IFLA.MTU) ? readU32(attrs.get(IFLA.MTU)!) : 0,
  };
  const mac = attrs.get(IFLA.ADDRESS);
  if (mac) link.mac = macText(mac);
  const peer = attrs.get(IFLA.LINK);
  if (peer) link.link = readS32(peer);
  const netnsId = attrs.get(IFLA.LINK_NETNSID);
  if (netnsId) link.linkNetnsId = readS32(netnsId);
  const master = attrs.get(IFLA.MASTER);
  if (master) link.master = readU32(master);
  const info = attrs.get(IFLA.LINKINFO);
  if (info) {
    const inner = decodeAttrs(info);
    const kind = inner.get(IFLA_INFO.KIND);
    if (kind) link.kind = cString(kind);
    const slaveKind = inner.get(IFLA_INFO.SLAVE_KIND);
    if (slaveKind) link.slaveKind = cString(slaveKind);
    const data = inner.get(IFLA_INFO.DATA);
    if (data && link.kind === 'bridge') {
      const filtering = decodeAttrs(data).get(IFLA_BR_VLAN_FILTERING);
      if (filtering) link.vlanFiltering = filtering[0] === 1;
    }
    const slaveData = inner.get(IFLA_INFO.SLAVE_DATA);
    if (slaveData && link.slaveKind === 'bridge') {
      const port = decodeAttrs(slaveData);
      link.hairpin = port.get(IFLA_BRPORT.MODE)?.[0] === 1;
      link.isolated = port.get(IFLA_BRPORT.ISOLATED)?.[0] === 1;
    }
  }
  return link;
}

// ---- addresses ------------------------------------------------------------------------------

export interface AddressInfo {
  family: IpFamily;
  index: number;
  prefixLength: number;
  scope: number;
  /** IFA_F_* flags (IFA_FLAGS when present, else ifa_flags). */
  flags: number;
  address: IpAddress;
}

/** struct ifaddrmsg followed by attributes. */
export function encodeAddress(
  header: { family: number; prefixLength: number; flags?: number; scope?: number; index: number },
  attrs: Attr[] = [],
): Buffer {
  const h = Buffer.alloc(8);
  h[0] = header.family;
  h[1] = header.prefixLength;
  h[2] = (header.flags ?? 0) & 0xff;
  h[3] = header.scope ?? 0;
  writeHostU32(h, 4, header.index);
  return Buffer.concat([h, encodeAttrs(attrs)]);
}

export function decodeAddress(body: Buffer): AddressInfo | undefined {
  const family = body[0] === AF_INET ? 4 : body[0] === AF_INET6 ? 6 : undefined;
  if (!family) return undefined;
  const attrs = decodeAttrs(body.subarray(8));
  // For IPv4, IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on p2p links).
  const raw = (family === 4 ? attrs.get(IFA.LOCAL) : undefined) ?? attrs.get(IFA.ADDRESS);
  if (!raw) return undefined;
  const flagsAttr = attrs.get(IFA.FLAGS);
  return {
    family,
    prefixLength: body[1]!,
    flags: flagsAttr ? readU32(flagsAttr) : body[2]!,
    scope: body[3]!,
    index: readU32(body, 4),
    address: ipFromBytes(raw),
  };
}

export function addressCidr(a: AddressInfo): string {
  return `${formatIp(a.address)}/${a.prefixLength}`;
}

// ---- routes ---------------------------------------------------------------------------------

export interface RtHeader {
  family: number;
  dstLength: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags?: number;
}

/** struct rtmsg followed by attributes. */
export function encodeRoute(header: RtHeader, attrs: Attr[] = []): Buffer {
  const h = Buffer.alloc(12);
  h[0] = header.family;
  h[1] = header.dstLength;
  // Tables above 255 only fit in RTA_TABLE; rtm_table then says RT_TABLE_UNSPEC.
  h[4] = header.table < 256 ? header.table : 0;
  h[5] = header.protocol;
  h[6] = header.scope;
  h[7] = header.type;
  writeHostU32(h, 8, header.flags ?? 0);
  return Buffer.concat([h, encodeAttrs(attrs)]);
}

export interface RouteInfo {
  family: IpFamily;
  dst: IpAddress;
  dstLength: number;
  gateway?: IpAddress;
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  priority?: number;
  mtu?: number;
  advmss?: number;
}

export function decodeRoute(body: Buffer): RouteInfo | undefined {
  const family = body[0] === AF_INET ? 4 : body[0] === AF_INET6 ? 6 : undefined;
  if (!family) return undefined;
  const attrs = decodeAttrs(body.subarray(12));
  const dst = attrs.get(RTA.DST);
  const route: RouteInfo = {
    family,
    dst: dst ? ipFromBytes(dst) : { family, value: 0n },
    dstLength: body[1]!,
    table: attrs.has(RTA.TABLE) ? readU32(attrs.get(RTA.TABLE)!) : body[4]!,
    protocol: body[5]!,
    scope: body[6]!,
    type: body[7]!,
    flags: readU32(body, 8),
  };
  const gw = attrs.get(RTA.GATEWAY);
  if (gw) route.gateway = ipFromBytes(gw);
  const oif = attrs.get(RTA.OIF);
  if (oif) route.oif = readU32(oif);
  const priority = attrs.get(RTA.PRIORITY);
  if (priority) route.priority = readU32(priority);
  const metrics = attrs.get(RTA.METRICS);
  if (metrics) {
    const m = decodeAttrs(metrics);
    if (m.has(RTAX.MTU)) route.mtu = readU32(m.get(RTAX.MTU)!);
    if (m.has(RTAX.ADVMSS)) route.advmss = readU32(m.get(RTAX.ADVMSS)!);
  }
  return route;
}
