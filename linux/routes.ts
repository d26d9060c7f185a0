/**
 * Addresses and routes of one interface, over a netlink socket bound to the interface's
 * namespace: add them as the reference plugin's ipam.ConfigureIface does (a route without a
 * gateway goes through the gateway of an address of its family, if there is one), read them
 * back for CHECK, and wait for IPv6 duplicate address detection to finish.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  containsIp,
  formatIp,
  lastOf,
  networkOf,
  parseCidr,
  parseIp,
  type IpAddress,
} from '../platform/cidr.ts';
import { PlatformError } from '../platform/errors.ts';
import type { InterfaceAddress, RouteSpec } from '../platform/types.ts';
import { hasErrno, platformError } from './errors.ts';
import type { RtnlSocket } from './rtnl.ts';
import { addressCidr } from './rtnl-codec.ts';
import { type Attr, afOf, ipBytes, u32 } from './rtnl-attrs.ts';
import {
  AF_UNSPEC,
  IFA,
  IFA_F,
  RT_SCOPE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RTA,
  RTAX,
  RTN_UNICAST,
  RTNH_F_ONLINK,
  RTPROT_BOOT,
} from './rtnl-constants.ts';

const SETTLE_POLL_MS = 50;

function parseCidrOrThrow(cidr: string, what: string): NonNullable<ReturnType<typeof parseCidr>> {
  const prefix = parseCidr(cidr);
  if (!prefix)
    throw new PlatformError('invalid', `${what}: "${cidr}" is not an address with a prefix length`);
  return prefix;
}

/** The ifaddrmsg header and attributes of `cidr` on link `index`. */
export function addressMessage(index: number, cidr: string, nodad = false) {
  const prefix = parseCidrOrThrow(cidr, 'address');
  const { address, prefixLength } = prefix;
  const attrs: Attr[] = [[IFA.ADDRESS, ipBytes(address)]];
  if (address.family === 4) {
    attrs.push([IFA.LOCAL, ipBytes(address)]);
    // As iproute2 and the Go netlink library do: a broadcast address unless /31 or /32.
    if (prefixLength < 31) attrs.push([IFA.BROADCAST, ipBytes(lastOf(prefix))]);
  }
  const flags = nodad && address.family === 6 ? IFA_F.NODAD : 0;
  if (flags) attrs.push([IFA.FLAGS, u32(flags)]);
  return { header: { family: afOf(address.family), prefixLength, flags, index }, attrs };
}

/** Add addresses to link `index`; an address already there is fine. */
export async function addAddresses(
  sock: RtnlSocket,
  index: number,
  ifname: string,
  addresses: InterfaceAddress[],
  nodad: boolean,
): Promise<void> {
  for (const { cidr } of addresses) {
    const { header, attrs } = addressMessage(index, cidr, nodad);
    try {
      await sock.addAddress(header, attrs);
    } catch (e) {
      if (!hasErrno(e, 'EEXIST')) throw platformError(e, `add address ${cidr} to ${ifname}`);
    }
  }
}

/** The gateway a route without one uses: the first address gateway of its family (reference behaviour). */
function gatewayFor(route: RouteSpec, family: 4 | 6, addresses: InterfaceAddress[]): IpAddress | undefined {
  if (route.gw) return parseIp(route.gw);
  for (const a of addresses) {
    const gw = a.gateway ? parseIp(a.gateway) : undefined;
    if (gw && gw.family === family) return gw;
  }
  return undefined;
}

/** Add routes through link `index`; a route already there is fine. */
export async function addRoutes(
  sock: RtnlSocket,
  index: number,
  ifname: string,
  routes: RouteSpec[],
  addresses: InterfaceAddress[],
): Promise<void> {
  const subnets = addresses.map((a) => parseCidr(a.cidr)).filter((p) => p !== undefined);
  for (const route of routes) {
    const dst = parseCidrOrThrow(route.dst, `route on ${ifname}`);
    const family = dst.address.family;
    const gw = gatewayFor(route, family, addresses);
    if (route.gw && (!gw || gw.family !== family)) {
      throw new PlatformError(
        'invalid',
        `route to ${route.dst} on ${ifname}: gateway "${route.gw}" is not an IPv${family} address`,
      );
    }
    const attrs: Attr[] = [[RTA.OIF, u32(index)]];
    if (dst.prefixLength > 0) attrs.push([RTA.DST, ipBytes(networkOf(dst))]);
    if (gw) attrs.push([RTA.GATEWAY, ipBytes(gw)]);
    if (route.priority !== undefined) attrs.push([RTA.PRIORITY, u32(route.priority)]);
    const table = route.table ?? RT_TABLE_MAIN;
    if (route.table !== undefined) attrs.push([RTA.TABLE, u32(table)]);
    const metrics: Attr[] = [];
    if (route.mtu) metrics.push([RTAX.MTU, u32(route.mtu)]);
    if (route.advmss) metrics.push([RTAX.ADVMSS, u32(route.advmss)]);
    if (metrics.length) attrs.push([RTA.METRICS, metrics]);
    // A gateway outside every subnet of the interface is reachable only if declared on-link
    // (e.g. /32 container addresses); the kernel refuses it otherwise.
    const onlink = gw !== undefined && !subnets.some((s) => containsIp(s, gw));
    try {
      await sock.addRoute(
        {
          family: afOf(family),
          dstLength: dst.prefixLength,
          table,
          protocol: RTPROT_BOOT,
          scope: route.scope ?? (gw ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK),
          type: RTN_UNICAST,
          flags: onlink ? RTNH_F_ONLINK : 0,
        },
        attrs,
      );
    } catch (e) {
      if (hasErrno(e, 'EEXIST')) continue;
      const via = gw ? ` via ${formatIp(gw)}` : '';
      throw platformError(
        e,
        `add route to ${route.dst}${via} on ${ifname}`,
        'is the gateway reachable from the interface addresses?',
      );
    }
  }
}

/** Addresses of link `index` as CIDR strings. */
export async function readAddresses(sock: RtnlSocket, index: number): Promise<string[]> {
  return (await sock.addresses(index)).map(addressCidr);
}

/** Unicast routes leaving through link `index`, in every table but the kernel's local one. */
export async function readRoutes(sock: RtnlSocket, index: number): Promise<RouteSpec[]> {
  const routes: RouteSpec[] = [];
  for (const r of await sock.routes(AF_UNSPEC)) {
    if (r.oif !== index || r.table === RT_TABLE_LOCAL || r.type !== RTN_UNICAST) continue;
    const spec: RouteSpec = {
      dst: `${formatIp(networkOf({ address: r.dst, prefixLength: r.dstLength }))}/${r.dstLength}`,
    };
    if (r.gateway) spec.gw = formatIp(r.gateway);
    if (r.priority !== undefined) spec.priority = r.priority;
    if (r.table !== RT_TABLE_MAIN) spec.table = r.table;
    if (r.scope !== RT_SCOPE.UNIVERSE) spec.scope = r.scope;
    if (r.mtu) spec.mtu = r.mtu;
    if (r.advmss) spec.advmss = r.advmss;
    routes.push(spec);
  }
  return routes;
}

/**
 * Wait until no IPv6 address of link `index` is tentative (DAD running), as the reference
 * plugin's SettleAddresses does; fails when DAD found a duplicate or does not finish in time.
 */
export async function settleAddresses(
  sock: RtnlSocket,
  index: number,
  ifname: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const addresses = (await sock.addresses(index)).filter((a) => a.family === 6);
    const failed = addresses.find((a) => a.flags & IFA_F.DADFAILED);
    if (failed) {
      throw new PlatformError(
        'conflict',
        `address ${addressCidr(failed)} on ${ifname} is already in use on the network (duplicate address detection failed)`,
      );
    }
    if (!addresses.some((a) => a.flags & IFA_F.TENTATIVE)) return;
    if (Date.now() > deadline) {
      throw new PlatformError(
        'io',
        `${ifname} still has tentative IPv6 addresses after ${timeoutMs} ms`,
        'is DAD stuck?',
      );
    }
    await sleep(SETTLE_POLL_MS);
  }
}
