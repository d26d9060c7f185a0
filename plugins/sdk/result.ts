/**
 * CNI results as typed values. A plugin builds its result once in the newest model (`Result`,
 * the 1.1.0 shape); `convert.ts` renders it in the version a config asks for, and
 * `parseResult` reads a result of any supported version (a prevResult, an IPAM answer) back
 * into the newest model. This module validates shapes; it never touches the OS.
 */
import { canonicalIp, parseCidr, parseIp } from '../../platform/cidr.ts';
import { CniError, ErrorCode } from './errors.ts';
import { type CniVersion, isSupportedVersion, resultShape } from './version.ts';

export interface ResultInterface {
  name: string;
  mac?: string;
  /** 1.1.0 */
  mtu?: number;
  sandbox?: string;
  /** 1.1.0 */
  socketPath?: string;
  /** 1.1.0 */
  pciID?: string;
}

export interface ResultIp {
  /** CIDR: address with the subnet's prefix length. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface ResultRoute {
  dst: string;
  gw?: string;
  /** 1.1.0 route fields */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface ResultDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The newest result model (1.1.0). */
export interface Result {
  cniVersion: string;
  interfaces?: ResultInterface[];
  ips?: ResultIp[];
  routes?: ResultRoute[];
  dns?: ResultDns;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(where: string, problem: string): never {
  throw new CniError(ErrorCode.DecodingFailure, `invalid result: ${where} ${problem}`);
}

function optionalString(obj: JsonObject, key: string, where: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${where}.${key}`, 'must be a string');
  return value;
}

function optionalNumber(obj: JsonObject, key: string, where: string): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(`${where}.${key}`, 'must be an integer');
  return value;
}

function optionalStringArray(obj: JsonObject, key: string, where: string): string[] | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    fail(`${where}.${key}`, 'must be an array of strings');
  }
  return value as string[];
}

function requireCidr(obj: JsonObject, key: string, where: string): string {
  const value = optionalString(obj, key, where);
  if (value === undefined) fail(`${where}.${key}`, 'is missing');
  const prefix = parseCidr(value);
  if (!prefix) fail(`${where}.${key}`, `"${value}" is not an address in CIDR notation`);
  return value;
}

function optionalIp(obj: JsonObject, key: string, where: string): string | undefined {
  const value = optionalString(obj, key, where);
  if (value === undefined || value === '') return undefined;
  if (!parseIp(value)) fail(`${where}.${key}`, `"${value}" is not an IP address`);
  return value;
}

export function parseDns(value: unknown, where = 'dns'): ResultDns | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) fail(where, 'must be an object');
  const dns: ResultDns = {};
  const nameservers = optionalStringArray(value, 'nameservers', where);
  const domain = optionalString(value, 'domain', where);
  const search = optionalStringArray(value, 'search', where);
  const options = optionalStringArray(value, 'options', where);
  if (nameservers) dns.nameservers = nameservers;
  if (domain) dns.domain = domain;
  if (search) dns.search = search;
  if (options) dns.options = options;
  return dns;
}

function parseRoute(value: unknown, where: string): ResultRoute {
  if (!isObject(value)) fail(where, 'must be an object');
  const route: ResultRoute = { dst: requireCidr(value, 'dst', where) };
  const gw = optionalIp(value, 'gw', where);
  if (gw) route.gw = gw;
  for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = optionalNumber(value, key, where);
    if (n !== undefined) route[key] = n;
  }
  return route;
}

function parseRoutes(value: unknown, where: string): ResultRoute[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) fail(where, 'must be an array');
  return value.map((r, i) => parseRoute(r, `${where}[${i}]`));
}

function parseInterface(value: unknown, where: string): ResultInterface {
  if (!isObject(value)) fail(where, 'must be an object');
  const name = optionalString(value, 'name', where);
  if (!name) fail(`${where}.name`, 'is missing');
  const iface: ResultInterface = { name };
  for (const key of ['mac', 'sandbox', 'socketPath', 'pciID'] as const) {
    const s = optionalString(value, key, where);
    if (s) iface[key] = s;
  }
  const mtu = optionalNumber(value, 'mtu', where);
  if (mtu) iface.mtu = mtu;
  return iface;
}

/** Parse a 0.3.x/0.4.0 or 1.x result body into the newest model. */
function parseModernResult(doc: JsonObject, version: CniVersion): Result {
  const result: Result = { cniVersion: version };
  if (doc.interfaces !== undefined && doc.interfaces !== null) {
    if (!Array.isArray(doc.interfaces)) fail('interfaces', 'must be an array');
    result.interfaces = doc.interfaces.map((v, i) => parseInterface(v, `interfaces[${i}]`));
  }
  if (doc.ips !== undefined && doc.ips !== null) {
    if (!Array.isArray(doc.ips)) fail('ips', 'must be an array');
    result.ips = doc.ips.map((v, i) => {
      const where = `ips[${i}]`;
      if (!isObject(v)) fail(where, 'must be an object');
      const ip: ResultIp = { address: requireCidr(v, 'address', where) };
      const gateway = optionalIp(v, 'gateway', where);
      if (gateway) ip.gateway = gateway;
      const index = optionalNumber(v, 'interface', where);
      if (index !== undefined) {
        if (index < 0 || index >= (result.interfaces?.length ?? 0)) {
          fail(`${where}.interface`, `index ${index} does not name one of the result's interfaces`);
        }
        ip.interface = index;
      }
      // 0.3.x/0.4.0 carry "version"; it must agree with the address when present.
      const family = optionalString(v, 'version', where);
      if (family !== undefined) {
        const actual = String(parseCidr(ip.address)?.address.family);
        if (family !== actual) fail(`${where}.version`, `"${family}" does not match address ${ip.address}`);
      }
      return ip;
    });
  }
  const routes = parseRoutes(doc.routes, 'routes');
  if (routes) result.routes = routes;
  const dns = parseDns(doc.dns);
  if (dns) result.dns = dns;
  return result;
}

/** Parse a 0.1.0/0.2.0 result (ip4/ip6 objects) into the newest model. */
function parseLegacyResult(doc: JsonObject, version: CniVersion): Result {
  const result: Result = { cniVersion: version, ips: [], routes: [] };
  for (const key of ['ip4', 'ip6'] as const) {
    const block = doc[key];
    if (block === undefined || block === null) continue;
    if (!isObject(block)) fail(key, 'must be an object');
    const ip: ResultIp = { address: requireCidr(block, 'ip', key) };
    const gateway = optionalIp(block, 'gateway', key);
    if (gateway) ip.gateway = gateway;
    result.ips!.push(ip);
    result.routes!.push(...(parseRoutes(block.routes, `${key}.routes`) ?? []));
  }
  const dns = parseDns(doc.dns);
  if (dns) result.dns = dns;
  return result;
}

/**
 * Read a result document of any supported version into the newest model. `fallbackVersion`
 * applies when the document carries no cniVersion (a prevResult inherits its config's).
 */
export function parseResult(value: unknown, fallbackVersion: CniVersion): Result {
  if (!isObject(value)) fail('document', 'must be a JSON object');
  const declared = value.cniVersion;
  if (declared !== undefined && typeof declared !== 'string') fail('cniVersion', 'must be a string');
  const version = declared || fallbackVersion;
  if (!isSupportedVersion(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `result has cniVersion "${version}", which this plugin cannot read`,
      'supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0',
    );
  }
  const parsed =
    resultShape(version) === 'v02' ? parseLegacyResult(value, version) : parseModernResult(value, version);
  return normaliseResult(parsed);
}

/** Canonical address text, so results compare equal however an IPAM wrote them. */
function normaliseResult(result: Result): Result {
  for (const ip of result.ips ?? []) {
    if (ip.gateway) ip.gateway = canonicalIp(ip.gateway) ?? ip.gateway;
  }
  return result;
}
