/**
 * Render a result of the newest model in the shape of any supported version, following the
 * conversion rules of the reference library (containernetworking/cni pkg/types): 0.3.x/0.4.0
 * add `version` to each IP; 0.1.0/0.2.0 keep only the first address of each family with the
 * routes of that family, and refuse a result without any address; fields introduced in 1.1.0
 * are dropped for older versions.
 */
import { parseCidr } from '../../platform/cidr.ts';
import { CniError, ErrorCode } from './errors.ts';
import type { Result, ResultDns, ResultInterface, ResultRoute } from './result.ts';
import { type CniVersion, resultShape, versionAtLeast } from './version.ts';

export type ResultDocument = Record<string, unknown>;

function familyOf(cidr: string): '4' | '6' {
  return parseCidr(cidr)?.address.family === 6 ? '6' : '4';
}

function dnsDocument(dns: ResultDns | undefined): ResultDns | undefined {
  if (!dns) return undefined;
  const doc: ResultDns = {};
  if (dns.nameservers?.length) doc.nameservers = [...dns.nameservers];
  if (dns.domain) doc.domain = dns.domain;
  if (dns.search?.length) doc.search = [...dns.search];
  if (dns.options?.length) doc.options = [...dns.options];
  return Object.keys(doc).length ? doc : undefined;
}

function routeDocument(route: ResultRoute, withV11Fields: boolean): ResultRoute {
  const doc: ResultRoute = { dst: route.dst };
  if (route.gw) doc.gw = route.gw;
  if (withV11Fields) {
    for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      if (route[key] !== undefined) doc[key] = route[key];
    }
  }
  return doc;
}

function interfaceDocument(iface: ResultInterface, withV11Fields: boolean): ResultInterface {
  const doc: ResultInterface = { name: iface.name };
  if (iface.mac) doc.mac = iface.mac;
  if (withV11Fields && iface.mtu) doc.mtu = iface.mtu;
  if (iface.sandbox) doc.sandbox = iface.sandbox;
  if (withV11Fields && iface.socketPath) doc.socketPath = iface.socketPath;
  if (withV11Fields && iface.pciID) doc.pciID = iface.pciID;
  return doc;
}

function toModern(result: Result, version: CniVersion, withIpVersion: boolean): ResultDocument {
  const v11 = versionAtLeast(version, '1.1.0');
  const doc: ResultDocument = { cniVersion: version };
  if (result.interfaces?.length) doc.interfaces = result.interfaces.map((i) => interfaceDocument(i, v11));
  if (result.ips?.length) {
    doc.ips = result.ips.map((ip) => {
      const out: Record<string, unknown> = {};
      if (withIpVersion) out.version = familyOf(ip.address);
      if (ip.interface !== undefined) out.interface = ip.interface;
      out.address = ip.address;
      if (ip.gateway) out.gateway = ip.gateway;
      return out;
    });
  }
  if (result.routes?.length) doc.routes = result.routes.map((r) => routeDocument(r, v11));
  const dns = dnsDocument(result.dns);
  if (dns) doc.dns = dns;
  return doc;
}

function toLegacy(result: Result, version: CniVersion): ResultDocument {
  const blocks: Partial<Record<'4' | '6', { ip: string; gateway?: string; routes?: ResultRoute[] }>> = {};
  for (const ip of result.ips ?? []) {
    const family = familyOf(ip.address);
    if (blocks[family]) continue;
    blocks[family] = ip.gateway ? { ip: ip.address, gateway: ip.gateway } : { ip: ip.address };
  }
  if (!blocks['4'] && !blocks['6']) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `cannot convert result to cniVersion ${version}: it has no IP address, which ${version} requires`,
      'use cniVersion 0.3.0 or later for results without addresses',
    );
  }
  for (const route of result.routes ?? []) {
    const block = blocks[familyOf(route.dst)];
    if (!block) continue;
    block.routes ??= [];
    block.routes.push(routeDocument(route, false));
  }
  const doc: ResultDocument = { cniVersion: version };
  if (blocks['4']) doc.ip4 = blocks['4'];
  if (blocks['6']) doc.ip6 = blocks['6'];
  const dns = dnsDocument(result.dns);
  if (dns) doc.dns = dns;
  return doc;
}

/** The JSON document of `result` as a plugin answering `version` must print it. */
export function convertResult(result: Result, version: CniVersion): ResultDocument {
  switch (resultShape(version)) {
    case 'v02':
      return toLegacy(result, version);
    case 'v04':
      return toModern(result, version, true);
    case 'v1':
      return toModern(result, version, false);
  }
}
