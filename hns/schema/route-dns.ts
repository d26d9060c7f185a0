/**
 * The two small shapes networks and endpoints share in schema v2: Route {NextHop,
 * DestinationPrefix, Metric} and Dns {Domain, Search, ServerList, Options}. Builders from the
 * platform's vocabulary and parsers of HNS answers; nothing here knows which object they sit in.
 */
import type { DnsSpec } from '../../platform/types.ts';
import {
  type JsonObject,
  optArray,
  optInteger,
  optString,
  readObject,
  readStringItem,
} from './json-reader.ts';

export interface HcnRoute {
  NextHop?: string;
  DestinationPrefix?: string;
  Metric?: number;
}

export interface HcnDns {
  Domain?: string;
  Search?: string[];
  ServerList?: string[];
  Options?: string[];
}

export interface RouteInput {
  destination: string;
  nextHop?: string;
  metric?: number;
}

export function buildRoute(input: RouteInput): HcnRoute {
  return { NextHop: input.nextHop, DestinationPrefix: input.destination, Metric: input.metric };
}

/** Empty lists are left out, as hcsshim's omitempty does; undefined when nothing is set. */
export function buildDns(spec: DnsSpec | undefined): HcnDns | undefined {
  if (!spec) return undefined;
  const dns: HcnDns = {
    Domain: spec.domain || undefined,
    Search: nonEmpty(spec.search),
    ServerList: nonEmpty(spec.nameservers),
    Options: nonEmpty(spec.options),
  };
  return Object.values(dns).some((v) => v !== undefined) ? dns : undefined;
}

export function parseRoute(value: unknown, path: string): HcnRoute {
  const obj = readObject(value, path);
  return {
    NextHop: optString(obj, 'NextHop', path),
    DestinationPrefix: optString(obj, 'DestinationPrefix', path),
    Metric: optInteger(obj, 'Metric', path, { min: 0 }),
  };
}

export function parseDns(obj: JsonObject, path: string): HcnDns {
  return {
    // Older HNS builds named the domain "Suffix" (hcsshim's first hcn.Dns); accept either.
    Domain: optString(obj, 'Domain', path) ?? optString(obj, 'Suffix', path),
    Search: optArray(obj, 'Search', path, readStringItem),
    ServerList: optArray(obj, 'ServerList', path, readStringItem),
    Options: optArray(obj, 'Options', path, readStringItem),
  };
}

/** The platform's view of an HCN Dns block. */
export function dnsToSpec(dns: HcnDns | undefined): DnsSpec | undefined {
  if (!dns) return undefined;
  return { nameservers: dns.ServerList, domain: dns.Domain, search: dns.Search, options: dns.Options };
}

function nonEmpty(list: string[] | undefined): string[] | undefined {
  return list && list.length > 0 ? [...list] : undefined;
}
