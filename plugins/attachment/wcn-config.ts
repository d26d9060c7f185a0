/**
 * The configuration of the nat and sdnbridge plugins: the dialect of
 * microsoft/windows-container-networking (WCN) read unchanged, plus crosscni's own keys. Parsed
 * and validated once; wrong types and impossible combinations are code 7 naming the key, and
 * unknown keys are ignored (spec). WCN keys match in any case, as Go's JSON decoding does.
 *
 * WCN keys: master, ipam {type | subnet, routes[0].GW}, ipamv6 {subnet, routes[0].GW}, dns
 * {Nameservers, Domain, Search, Options}, optionalFlags {localRoutedPortMapping,
 * allowAclPortMapping, forceBridgeGateway, enableDualStack, loopbackDSR,
 * gatewayFromAdditionalRoutes}, loopbackDSR, additionalRoutes, AdditionalArgs (wcn-policies.ts),
 * capabilities. crosscni keys: bridge, mtu, ipMasqBackend. Reference: docs/plugins/nat.md and
 * docs/plugins/sdnbridge.md.
 */
import { createHash } from 'node:crypto';
import { addToIp, formatIp, networkOf, parseCidr, parseIp } from '../../platform/cidr.ts';
import type { DnsSpec } from '../../platform/types.ts';
import type { NetConf } from '../sdk/config.ts';
import type { Fields } from '../sdk/fields.ts';
import { interfaceNameProblem } from '../sdk/names.ts';
import type { ResultRoute } from '../sdk/result.ts';
import { caselessFields } from './caseless.ts';
import { type EndpointPolicies, parseAdditionalArgs } from './wcn-policies.ts';

export type SwitchPluginType = 'nat' | 'sdnbridge';

/** One range crosscni allocates from itself when `ipam` has a subnet but no type (HNS did it on WCN). */
export interface SubnetRange {
  subnet: string;
  gateway: string;
}

/** Where addresses come from: the IPAM plugin `ipam.type` names, or the subnets in the config. */
export type IpamSource = { kind: 'delegated' } | { kind: 'subnets'; ranges: SubnetRange[]; dataDir?: string };

export interface WcnFlags {
  localRoutedPortMapping: boolean;
  allowAclPortMapping: boolean;
  forceBridgeGateway: boolean;
  enableDualStack: boolean;
  loopbackDSR: boolean;
  gatewayFromAdditionalRoutes: boolean;
}

export interface SwitchConfig {
  type: SwitchPluginType;
  /** The uplink adapter (sdnbridge); nat accepts and ignores it, as WCN does. */
  master?: string;
  /** Linux bridge device; default derived from the network name. */
  bridge: string;
  mtu?: number;
  ipMasqBackend?: 'iptables' | 'nftables';
  ipam: IpamSource;
  /** The config's own DNS block (runtimeConfig.dns and CNI_ARGS are applied per call). */
  dns?: DnsSpec;
  flags: WcnFlags;
  additionalRoutes: ResultRoute[];
  policies: EndpointPolicies;
}

const FLAG_KEYS = [
  'localRoutedPortMapping',
  'allowAclPortMapping',
  'forceBridgeGateway',
  'enableDualStack',
  'loopbackDSR',
  'gatewayFromAdditionalRoutes',
] as const;

/** A per-network bridge name: network names are free text, device names are 15 bytes. */
export function defaultBridgeName(type: SwitchPluginType, network: string): string {
  const hash = createHash('sha256').update(`${type}\0${network}`).digest('hex').slice(0, 8);
  return `${type === 'nat' ? 'cnat' : 'csdn'}${hash}`;
}

function parseFlags(top: Fields): WcnFlags {
  const block = caselessFields(top, ['optionalFlags']).object('optionalFlags');
  const f = block && caselessFields(block, FLAG_KEYS);
  const flags = Object.fromEntries(
    FLAG_KEYS.map((k) => [k, f?.bool(k, false) ?? false]),
  ) as unknown as WcnFlags;
  // Some configs carry loopbackDSR at the top level (the older WCN and sdnoverlay spelling).
  flags.loopbackDSR ||= caselessFields(top, ['loopbackDSR']).bool('loopbackDSR', false);
  return flags;
}

function parseDnsBlock(top: Fields): DnsSpec | undefined {
  const block = caselessFields(top, ['dns']).object('dns');
  if (!block) return undefined;
  const f = caselessFields(block, ['Nameservers', 'Domain', 'Search', 'Options']);
  const dns: DnsSpec = {};
  const nameservers = f.stringArray('Nameservers');
  for (const [i, ns] of (nameservers ?? []).entries()) {
    if (!parseIp(ns)) f.invalid(`Nameservers[${i}]`, `"${ns}" is not an IP address`);
  }
  if (nameservers?.length) dns.nameservers = nameservers;
  const domain = f.string('Domain');
  if (domain) dns.domain = domain;
  const search = f.stringArray('Search');
  if (search?.length) dns.search = search;
  const options = f.stringArray('Options');
  if (options?.length) dns.options = options;
  return Object.keys(dns).length ? dns : undefined;
}

/** WCN's gateway for a typeless subnet: routes[0].GW if given, else the subnet's first address. */
function subnetRange(ipam: Fields): SubnetRange | undefined {
  const f = caselessFields(ipam, ['subnet', 'routes']);
  const subnet = f.cidr('subnet');
  if (!subnet) return undefined;
  const prefix = parseCidr(subnet)!;
  const first = f.objectArray('routes')?.[0];
  // nat.conf in WCN's examples writes "gateway"; Go's Route only knows "gw".
  const gw =
    first && (caselessFields(first, ['GW']).ip('GW') ?? caselessFields(first, ['gateway']).ip('gateway'));
  if (gw && parseIp(gw)?.family !== prefix.address.family) {
    first?.invalid('GW', `"${gw}" is not an address of ${subnet}'s family`);
  }
  return { subnet, gateway: gw ?? formatIp(addToIp(networkOf(prefix), 1n)) };
}

function parseIpamSource(conf: NetConf, top: Fields): IpamSource {
  if (conf.ipam) return { kind: 'delegated' };
  const ipam = caselessFields(top, ['ipam']).object('ipam');
  const ranges: SubnetRange[] = [];
  const v4 = ipam && subnetRange(ipam);
  if (v4) ranges.push(v4);
  const ipamv6 = caselessFields(top, ['ipamv6']).object('ipamv6');
  const v6 = ipamv6 && subnetRange(ipamv6);
  if (v6) ranges.push(v6);
  if (!ranges.length) {
    top.invalid(
      'ipam',
      'needs "type" (an IPAM plugin such as host-local) or "subnet" (crosscni allocates from it, where HNS did for windows-container-networking)',
    );
  }
  if (v4 && v6 && parseCidr(v4.subnet)?.address.family === parseCidr(v6.subnet)?.address.family) {
    top.invalid('ipamv6', 'subnet must be of the other address family than ipam.subnet');
  }
  const dataDir = ipam?.string('dataDir');
  return dataDir ? { kind: 'subnets', ranges, dataDir } : { kind: 'subnets', ranges };
}

/**
 * forceBridgeGateway moves the IPv4 gateway to the subnet's .2 (switch-addresses.ts): a subnet
 * crosscni allocates from must then keep .2 out of the pool instead of the configured gateway.
 */
function withBridgeGateway(source: IpamSource, flags: WcnFlags): IpamSource {
  if (source.kind !== 'subnets' || !flags.forceBridgeGateway) return source;
  const ranges = source.ranges.map((r) => {
    const prefix = parseCidr(r.subnet)!;
    if (prefix.address.family !== 4) return r;
    return { subnet: r.subnet, gateway: formatIp(addToIp(networkOf(prefix), 2n)) };
  });
  return { ...source, ranges };
}

function parseAdditionalRoutes(top: Fields): ResultRoute[] {
  const list = caselessFields(top, ['additionalRoutes']).objectArray('additionalRoutes') ?? [];
  return list.map((entry) => {
    const r = caselessFields(entry, ['dst', 'gw']);
    const route: ResultRoute = { dst: r.cidr('dst') ?? r.invalid('dst', 'is required') };
    const gw = r.ip('gw');
    if (gw) route.gw = gw;
    return route;
  });
}

function parseBackend(f: Fields): SwitchConfig['ipMasqBackend'] {
  const backend = f.string('ipMasqBackend');
  if (backend === undefined || backend === 'iptables' || backend === 'nftables') return backend;
  return f.invalid('ipMasqBackend', `must be "iptables" or "nftables", not "${backend}"`);
}

export function parseSwitchConfig(conf: NetConf, type: SwitchPluginType): SwitchConfig {
  const top = conf.fields;
  const capabilities = top.object('capabilities');
  for (const key of Object.keys(capabilities?.obj ?? {})) capabilities?.bool(key, false);
  const master = caselessFields(top, ['master']).string('master') || undefined;
  const bridge = top.string('bridge') || defaultBridgeName(type, conf.name);
  const nameProblem = interfaceNameProblem(bridge);
  if (nameProblem) top.invalid('bridge', `${nameProblem}: "${bridge}" cannot be a device name`);
  const flags = parseFlags(top);
  const config: SwitchConfig = {
    type,
    bridge,
    ipam: withBridgeGateway(parseIpamSource(conf, top), flags),
    flags,
    additionalRoutes: parseAdditionalRoutes(top),
    policies: parseAdditionalArgs(top),
  };
  if (master) config.master = master;
  const mtu = top.int('mtu', 68, 65535);
  if (mtu) config.mtu = mtu;
  const backend = parseBackend(top);
  if (backend) config.ipMasqBackend = backend;
  const dns = parseDnsBlock(top);
  if (dns) config.dns = dns;
  if (type === 'sdnbridge') {
    if (!master)
      top.invalid('master', 'is required: sdnbridge joins the containers to the segment of this adapter');
    if (master === bridge)
      top.invalid('bridge', `must differ from master ("${master}"): the uplink joins the bridge`);
  }
  if (type === 'nat' && config.flags.enableDualStack) {
    top.invalid(
      'optionalFlags.enableDualStack',
      'needs an sdnbridge (L2Bridge) network, as in windows-container-networking; for nat list both families in the IPAM ranges',
    );
  }
  return config;
}
