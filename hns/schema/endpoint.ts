/**
 * The HostComputeEndpoint document of HCN schema v2: its type, a builder from typed input, and a
 * parser of HNS's answer. Key names and order follow hcn.md (ID, Name, HostComputeNetwork,
 * HostComputeNamespace, Policies, IpConfigurations, Dns, Routes, MacAddress, Flags,
 * SchemaVersion); absent and empty values are left out. Attaching the endpoint to a namespace
 * is a separate modify request (modify.ts), not part of this document.
 */
import { parseCidr, formatIp } from '../../platform/cidr.ts';
import type { DnsSpec } from '../../platform/types.ts';
import { HcnResponseError } from '../errors.ts';
import { normalizeGuid } from '../guid.ts';
import { type EndpointPolicy, parseEndpointPolicy } from './endpoint-policy.ts';
import { optArray, optInteger, optObject, optString, readObject, reqString } from './json-reader.ts';
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

/** HostComputeEndpoint.Flags bits (hcn.md). */
export const ENDPOINT_FLAGS = { None: 0, RemoteEndpoint: 1 } as const;

export interface HcnIpConfig {
  IpAddress?: string;
  PrefixLength?: number;
}

export interface HostComputeEndpoint {
  ID?: string;
  Name?: string;
  /** GUID of the network the endpoint is on. */
  HostComputeNetwork?: string;
  /** GUID of the namespace it is attached to; HNS sets it, a create document leaves it out. */
  HostComputeNamespace?: string;
  Policies?: EndpointPolicy[];
  IpConfigurations?: HcnIpConfig[];
  Dns?: HcnDns;
  Routes?: HcnRoute[];
  /** HNS spells MACs upper-case with dashes: "00-15-5D-01-02-03". */
  MacAddress?: string;
  Flags?: number;
  SchemaVersion?: SchemaVersion;
}

/** An endpoint as HNS reports it: it always has an ID. */
export type HcnEndpoint = HostComputeEndpoint & { ID: string };

export interface EndpointInput {
  name: string;
  /** GUID of the network; HCN also takes the network as a handle, this records it in the document. */
  networkId: string;
  /** CIDRs: the address and the prefix length of its subnet, e.g. "10.22.0.5/16". */
  addresses?: string[];
  routes?: RouteInput[];
  dns?: DnsSpec;
  /** Any common MAC spelling; written as HNS spells it. */
  mac?: string;
  policies?: EndpointPolicy[];
  /** ENDPOINT_FLAGS bits. */
  flags?: number;
}

/** "00:15:5d:01:02:03" or "00-15-5D-01-02-03" as HNS's "00-15-5D-01-02-03"; undefined if not a MAC. */
export function toHcnMac(mac: string): string | undefined {
  const m =
    /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/i.exec(
      mac,
    );
  return m ? m.slice(1).join('-').toUpperCase() : undefined;
}

/** HNS's MAC spelling as the platform's "00:15:5d:01:02:03". */
export function fromHcnMac(mac: string): string {
  return mac.replaceAll('-', ':').toLowerCase();
}

/** "10.22.0.5/16" as {IpAddress:"10.22.0.5", PrefixLength:16}. */
export function buildIpConfig(cidr: string): HcnIpConfig {
  const prefix = parseCidr(cidr);
  if (!prefix) throw new TypeError(`not an address with prefix length: ${JSON.stringify(cidr)}`);
  return { IpAddress: formatIp(prefix.address), PrefixLength: prefix.prefixLength };
}

export function buildEndpoint(input: EndpointInput): HostComputeEndpoint {
  const network = normalizeGuid(input.networkId);
  if (!network) throw new TypeError(`endpoint ${input.name}: network ID is not a GUID: ${input.networkId}`);
  const mac = input.mac === undefined ? undefined : toHcnMac(input.mac);
  if (input.mac !== undefined && !mac)
    throw new TypeError(`endpoint ${input.name}: not a MAC address: ${input.mac}`);
  const ipConfigs = (input.addresses ?? []).map(buildIpConfig);
  const routes = (input.routes ?? []).map(buildRoute);
  return {
    Name: input.name,
    HostComputeNetwork: network,
    Policies: input.policies?.length ? [...input.policies] : undefined,
    IpConfigurations: ipConfigs.length ? ipConfigs : undefined,
    Dns: buildDns(input.dns),
    Routes: routes.length ? routes : undefined,
    MacAddress: mac,
    Flags: input.flags || undefined,
    SchemaVersion: schemaV2(),
  };
}

function parseIpConfig(value: unknown, path: string): HcnIpConfig {
  const obj = readObject(value, path);
  return {
    IpAddress: optString(obj, 'IpAddress', path),
    PrefixLength: optInteger(obj, 'PrefixLength', path, { min: 0, max: 128 }),
  };
}

/** An endpoint from HNS's answer; unknown members are ignored, a missing ID is an error. */
export function parseEndpoint(value: unknown, path = 'endpoint'): HcnEndpoint {
  const obj = readObject(value, path);
  return {
    ID: reqString(obj, 'ID', path),
    Name: optString(obj, 'Name', path),
    HostComputeNetwork: optString(obj, 'HostComputeNetwork', path),
    HostComputeNamespace: optString(obj, 'HostComputeNamespace', path) || undefined,
    Policies: optArray(obj, 'Policies', path, parseEndpointPolicy),
    IpConfigurations: optArray(obj, 'IpConfigurations', path, parseIpConfig),
    Dns: optObject(obj, 'Dns', path, parseDns),
    Routes: optArray(obj, 'Routes', path, parseRoute),
    MacAddress: optString(obj, 'MacAddress', path),
    Flags: optInteger(obj, 'Flags', path, { min: 0 }),
    SchemaVersion: readSchemaVersion(obj, path),
  };
}

/** The endpoint's addresses as CIDRs ("10.22.0.5/16"). */
export function endpointAddresses(endpoint: HostComputeEndpoint, path = 'endpoint'): string[] {
  return (endpoint.IpConfigurations ?? []).map((c, i) => {
    if (!c.IpAddress || c.PrefixLength === undefined) {
      throw new HcnResponseError(`${path}.IpConfigurations[${i}]`, 'address or prefix length missing');
    }
    return `${c.IpAddress}/${c.PrefixLength}`;
  });
}
