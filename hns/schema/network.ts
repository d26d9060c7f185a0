/**
 * The HostComputeNetwork document of HCN schema v2: its type, a builder from typed input, and a
 * parser of HNS's answer. Key names and order follow hcn.md (ID, Name, Type, Policies, MacPool,
 * Dns, Ipams, Flags, SchemaVersion); absent and empty values are left out. Deciding what network
 * a CNI config needs is the platform's job, not this module's.
 */
import { parseCidr } from '../../platform/cidr.ts';
import type { DnsSpec } from '../../platform/types.ts';
import {
  type JsonObject,
  optArray,
  optInteger,
  optObject,
  optString,
  readObject,
  reqString,
} from './json-reader.ts';
import {
  type NetworkPolicy,
  type SubnetPolicy,
  parseNetworkPolicy,
  parseSubnetPolicy,
  vlanSubnetPolicy,
} from './network-policy.ts';
import {
  type HcnDns,
  type HcnRoute,
  type RouteInput,
  buildDns,
  buildRoute,
  parseDns,
  parseRoute,
} from './route-dns.ts';
import { type SchemaVersion, readSchemaVersion, schemaV2 } from './version.ts';

export const NETWORK_TYPES = [
  'NAT',
  'ICS',
  'Transparent',
  'L2Bridge',
  'L2Tunnel',
  'Overlay',
  'Private',
] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

/** HostComputeNetwork.Flags bits (hcn.md). */
export const NETWORK_FLAGS = { None: 0, EnableNonPersistent: 8, DisableHostPort: 1024 } as const;

export interface HcnSubnet {
  IpAddressPrefix?: string;
  Policies?: SubnetPolicy[];
  Routes?: HcnRoute[];
}

export interface HcnIpam {
  Type?: 'Static' | 'DHCP';
  Subnets?: HcnSubnet[];
}

export interface HcnMacRange {
  StartMacAddress?: string;
  EndMacAddress?: string;
}

/** A type HNS reported that this schema does not list (kept, not refused). */
export type OtherNetworkType = string & Record<never, never>;

export interface HostComputeNetwork {
  ID?: string;
  Name?: string;
  Type?: NetworkType | OtherNetworkType;
  Policies?: NetworkPolicy[];
  MacPool?: { Ranges?: HcnMacRange[] };
  Dns?: HcnDns;
  Ipams?: HcnIpam[];
  Flags?: number;
  SchemaVersion?: SchemaVersion;
}

/** A network as HNS reports it: it always has an ID. */
export type HcnNetwork = HostComputeNetwork & { ID: string };

export interface SubnetInput {
  /** CIDR of the subnet, e.g. "10.22.0.0/16". */
  prefix: string;
  /** The subnet's gateway: becomes the subnet's default route. */
  gateway?: string;
  routes?: RouteInput[];
  /** Tag the subnet's traffic with this VLAN (a VLAN subnet policy). */
  vlanId?: number;
  policies?: SubnetPolicy[];
}

export interface NetworkInput {
  name: string;
  type: NetworkType;
  subnets?: SubnetInput[];
  /** Default Static, which is what a CNI IPAM-managed network is. */
  ipamType?: 'Static' | 'DHCP';
  policies?: NetworkPolicy[];
  macPool?: Array<{ start: string; end: string }>;
  dns?: DnsSpec;
  /** NETWORK_FLAGS bits. */
  flags?: number;
}

/** A subnet's gateway is HCN's default route of that subnet, in the subnet's address family. */
function defaultRoute(prefix: string): string {
  return parseCidr(prefix)?.address.family === 6 ? '::/0' : '0.0.0.0/0';
}

export function buildSubnet(input: SubnetInput): HcnSubnet {
  const routes: HcnRoute[] = [];
  if (input.gateway)
    routes.push(buildRoute({ destination: defaultRoute(input.prefix), nextHop: input.gateway }));
  for (const r of input.routes ?? []) routes.push(buildRoute(r));
  const policies: SubnetPolicy[] = [...(input.policies ?? [])];
  if (input.vlanId) policies.push(vlanSubnetPolicy(input.vlanId));
  return {
    IpAddressPrefix: input.prefix,
    Policies: policies.length ? policies : undefined,
    Routes: routes.length ? routes : undefined,
  };
}

export function buildNetwork(input: NetworkInput): HostComputeNetwork {
  const subnets = (input.subnets ?? []).map(buildSubnet);
  const ranges = (input.macPool ?? []).map((r) => ({ StartMacAddress: r.start, EndMacAddress: r.end }));
  return {
    Name: input.name,
    Type: input.type,
    Policies: input.policies?.length ? [...input.policies] : undefined,
    MacPool: ranges.length ? { Ranges: ranges } : undefined,
    Dns: buildDns(input.dns),
    Ipams: subnets.length ? [{ Type: input.ipamType ?? 'Static', Subnets: subnets }] : undefined,
    Flags: input.flags || undefined,
    SchemaVersion: schemaV2(),
  };
}

function parseSubnet(value: unknown, path: string): HcnSubnet {
  const obj = readObject(value, path);
  return {
    IpAddressPrefix: optString(obj, 'IpAddressPrefix', path),
    Policies: optArray(obj, 'Policies', path, parseSubnetPolicy),
    Routes: optArray(obj, 'Routes', path, parseRoute),
  };
}

function parseIpam(value: unknown, path: string): HcnIpam {
  const obj = readObject(value, path);
  const type = optString(obj, 'Type', path);
  return {
    // HNS has spelled DHCP both "DHCP" and "Dhcp"; anything that is not DHCP is static.
    Type: type === undefined ? undefined : type.toUpperCase() === 'DHCP' ? 'DHCP' : 'Static',
    Subnets: optArray(obj, 'Subnets', path, parseSubnet),
  };
}

function parseMacPool(obj: JsonObject, path: string): { Ranges?: HcnMacRange[] } {
  return {
    Ranges: optArray(obj, 'Ranges', path, (v, p) => {
      const r = readObject(v, p);
      return {
        StartMacAddress: optString(r, 'StartMacAddress', p),
        EndMacAddress: optString(r, 'EndMacAddress', p),
      };
    }),
  };
}

function parseNetworkType(obj: JsonObject, path: string): NetworkType | OtherNetworkType | undefined {
  const type = optString(obj, 'Type', path);
  if (type === undefined) return undefined;
  // Compared case-insensitively so "nat" and "NAT" are one type to the platform.
  return NETWORK_TYPES.find((t) => t.toLowerCase() === type.toLowerCase()) ?? type;
}

/** A network from HNS's answer; unknown members are ignored, a missing ID is an error. */
export function parseNetwork(value: unknown, path = 'network'): HcnNetwork {
  const obj = readObject(value, path);
  return {
    ID: reqString(obj, 'ID', path),
    Name: optString(obj, 'Name', path),
    Type: parseNetworkType(obj, path),
    Policies: optArray(obj, 'Policies', path, parseNetworkPolicy),
    MacPool: optObject(obj, 'MacPool', path, parseMacPool),
    Dns: optObject(obj, 'Dns', path, parseDns),
    Ipams: optArray(obj, 'Ipams', path, parseIpam),
    Flags: optInteger(obj, 'Flags', path, { min: 0 }),
    SchemaVersion: readSchemaVersion(obj, path),
  };
}

/** Every subnet prefix of the network, in document order. */
export function networkSubnets(network: HostComputeNetwork): HcnSubnet[] {
  return (network.Ipams ?? []).flatMap((ipam) => ipam.Subnets ?? []);
}
