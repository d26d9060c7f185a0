/**
 * Addresses, gateways, routes and DNS of a nat or sdnbridge attachment, decided the way
 * windows-container-networking decides them and the same on every OS:
 * - addresses come from the IPAM plugin `ipam.type` names, or, for a typeless `ipam.subnet`
 *   (which HNS allocated from on WCN), from crosscni's host-local run on a range synthesised
 *   from the subnet, so Linux and Windows hand out addresses alike and DEL releases them;
 * - each family's gateway is IPAM's, else WCN's choice (subnet + 1, `routes[0].GW`,
 *   forceBridgeGateway's .2, gatewayFromAdditionalRoutes);
 * - routes are IPAM's plus a default route per family through the gateway;
 * - DNS is the config's block, WCN's pod-namespace search prefix, then runtimeConfig.dns.
 * This module decides; the platform applies.
 */
import { addToIp, formatIp, networkOf, parseCidr } from '../../platform/cidr.ts';
import type { DnsSpec, IpFamily } from '../../platform/types.ts';
import type { UndoStack } from '../../platform/undo.ts';
import { parseNetConf } from '../sdk/config.ts';
import { decodeJsonObject } from '../sdk/input.ts';
import type { Result, ResultIp, ResultRoute } from '../sdk/result.ts';
import type { CommandContext } from '../sdk/skel.ts';
import { defaultGateway, defaultRoutes, familyOfCidr } from './gateway.ts';
import { allocate, checkAllocation, collectAllocations, ipamReady, release } from './ipam-client.ts';
import type { IpamSource, SwitchConfig } from './wcn-config.ts';

/**
 * The context IPAM runs in: the caller's for a delegated IPAM, else the same config with `ipam`
 * replaced by a host-local range per configured subnet (gateway excluded from allocation).
 */
function ipamContext(ctx: CommandContext, source: IpamSource): CommandContext {
  if (source.kind === 'delegated') return ctx;
  const doc = decodeJsonObject(ctx.stdin, 'network configuration');
  doc.ipam = {
    type: 'host-local',
    ranges: source.ranges.map((r) => [{ subnet: r.subnet, gateway: r.gateway }]),
    ...(source.dataDir ? { dataDir: source.dataDir } : {}),
  };
  const stdin = new TextEncoder().encode(JSON.stringify(doc));
  return { ...ctx, config: parseNetConf(doc), stdin };
}

function defaultRouteGateway(routes: ResultRoute[], family: IpFamily): string | undefined {
  const dst = family === 4 ? '0.0.0.0/0' : '::/0';
  return routes.find((r) => r.dst === dst && r.gw)?.gw;
}

/** The gateway of one address, by WCN's rules. */
function gatewayOf(ip: ResultIp, config: SwitchConfig): string {
  const family = familyOfCidr(ip.address);
  if (family === 4 && config.flags.forceBridgeGateway) {
    // WCN's workaround: the bridge endpoint at .2 of the subnet.
    return formatIp(addToIp(networkOf(parseCidr(ip.address)!), 2n));
  }
  if (ip.gateway) return ip.gateway;
  const fromRoutes = config.flags.gatewayFromAdditionalRoutes
    ? defaultRouteGateway(config.additionalRoutes, family)
    : undefined;
  return fromRoutes ?? defaultGateway(ip.address);
}

export interface AttachmentAddresses {
  ips: ResultIp[];
  /** Routes in the container: IPAM's and one default route per family. */
  routes: ResultRoute[];
  dns?: DnsSpec;
}

/** Allocate and decide; a later failure of ADD releases the allocation (undo). */
export async function allocateAddresses(
  ctx: CommandContext,
  config: SwitchConfig,
  undo: UndoStack,
): Promise<AttachmentAddresses> {
  const ipam: Result = await allocate(ipamContext(ctx, config.ipam), undo);
  const ips = (ipam.ips ?? []).map((ip) => ({ address: ip.address, gateway: gatewayOf(ip, config) }));
  const routes = [...(ipam.routes ?? [])];
  routes.push(...defaultRoutes(ips, routes));
  const addresses: AttachmentAddresses = { ips, routes };
  const dns = effectiveDns(ctx, config, ipam.dns);
  if (dns) addresses.dns = dns;
  return addresses;
}

export async function releaseAddresses(ctx: CommandContext, config: SwitchConfig): Promise<void> {
  await release(ipamContext(ctx, config.ipam));
}

export async function checkAddresses(ctx: CommandContext, config: SwitchConfig): Promise<void> {
  await checkAllocation(ipamContext(ctx, config.ipam));
}

export async function collectAddresses(ctx: CommandContext, config: SwitchConfig): Promise<void> {
  await collectAllocations(ipamContext(ctx, config.ipam));
}

export async function addressesReady(ctx: CommandContext, config: SwitchConfig): Promise<void> {
  await ipamReady(ipamContext(ctx, config.ipam));
}

/**
 * DNS for the endpoint and the result: the config's block (IPAM's when the config has none);
 * as WCN, the first search domain gets the pod's namespace in front when CNI_ARGS names one;
 * then every non-empty runtimeConfig.dns list replaces the config's.
 */
export function effectiveDns(
  ctx: CommandContext,
  config: SwitchConfig,
  ipamDns?: DnsSpec,
): DnsSpec | undefined {
  const base = config.dns ?? ipamDns;
  const dns: DnsSpec = base ? structuredClone(base) : {};
  const podNamespace = ctx.args.get('K8S_POD_NAMESPACE');
  if (podNamespace && dns.search?.length) dns.search[0] = `${podNamespace}.${dns.search[0]}`;
  const runtime = ctx.config.runtimeConfig.dns;
  if (runtime?.servers?.length) dns.nameservers = [...runtime.servers];
  if (runtime?.searches?.length) dns.search = [...runtime.searches];
  if (runtime?.options?.length) dns.options = [...runtime.options];
  return Object.keys(dns).length ? dns : undefined;
}
