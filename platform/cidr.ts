/**
 * IP addresses and prefixes as values: parse, format canonically, compare, step, and test
 * containment. Pure and OS-neutral; every module that reads an address from input goes
 * through here so that "10.0.0.1", "::ffff:10.0.0.1" and "fd00::0001" are judged alike.
 * Addresses are held as bigint so IPv4 and IPv6 share one arithmetic.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { IpFamily } from './types.ts';

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

export interface IpPrefix {
  /** The address as written (host bits kept), e.g. 10.0.0.5 of 10.0.0.5/24. */
  address: IpAddress;
  prefixLength: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

export function familyBits(family: IpFamily): number {
  return BITS[family];
}

/** Parse an IP address; undefined when it is not one. Accepts IPv4-mapped IPv6 as IPv4. */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string') return undefined;
  if (isIPv4(text)) return { family: 4, value: ipv4ToBigint(text) };
  if (!isIPv6(text)) return undefined;
  const value = ipv6ToBigint(text);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** Parse "addr/len"; undefined when malformed or the length is out of range. */
export function parseCidr(text: string): IpPrefix | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) return undefined;
  const address = parseIp(text.slice(0, slash));
  if (!address) return undefined;
  let prefixLength = Number(lengthText);
  // An IPv4-mapped IPv6 prefix ("::ffff:10.0.0.0/104") keeps its meaning as IPv4.
  if (address.family === 4 && text.slice(0, slash).includes(':')) prefixLength -= 96;
  if (prefixLength < 0 || prefixLength > BITS[address.family]) return undefined;
  return { address, prefixLength };
}

export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? bigintToIpv4(ip.value) : bigintToIpv6(ip.value);
}

export function formatCidr(prefix: IpPrefix): string {
  return `${formatIp(prefix.address)}/${prefix.prefixLength}`;
}

/** Canonical text of an address ("fd00::1" for "fd00:0::0001"); undefined if invalid. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(BITS[family] - prefixLength)) - 1n;
}

/** The network address of a prefix (host bits cleared). */
export function networkOf(prefix: IpPrefix): IpAddress {
  const { family, value } = prefix.address;
  return { family, value: value & ~hostMask(family, prefix.prefixLength) };
}

/** The last address of a prefix (all host bits set; the IPv4 broadcast address). */
export function lastOf(prefix: IpPrefix): IpAddress {
  const { family, value } = prefix.address;
  return { family, value: value | hostMask(family, prefix.prefixLength) };
}

/** The prefix in canonical network form, e.g. "10.0.0.0/24" for 10.0.0.5/24. */
export function networkCidr(prefix: IpPrefix): string {
  return formatCidr({ address: networkOf(prefix), prefixLength: prefix.prefixLength });
}

export function containsIp(prefix: IpPrefix, ip: IpAddress): boolean {
  if (prefix.address.family !== ip.family) return false;
  return networkOf(prefix).value === networkOf({ address: ip, prefixLength: prefix.prefixLength }).value;
}

export function prefixesOverlap(a: IpPrefix, b: IpPrefix): boolean {
  return containsIp(a, b.address) || containsIp(b, a.address);
}

export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export function addToIp(ip: IpAddress, delta: bigint): IpAddress {
  return { family: ip.family, value: ip.value + delta };
}

/** Whether a CIDR string names a whole network (no host bits), e.g. "10.0.0.0/24". */
export function isNetworkCidr(text: string): boolean {
  const prefix = parseCidr(text);
  return prefix !== undefined && ipEquals(prefix.address, networkOf(prefix));
}

export function defaultRouteCidr(family: IpFamily): string {
  return family === 4 ? '0.0.0.0/0' : '::/0';
}

function ipv4ToBigint(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function bigintToIpv4(value: bigint): string {
  const parts: number[] = [];
  for (let shift = 24n; shift >= 0n; shift -= 8n) parts.push(Number((value >> shift) & 0xffn));
  return parts.join('.');
}

function ipv6ToBigint(text: string): bigint {
  let body = text;
  // Zone ids never reach us from CNI configs, but drop one rather than misparse it.
  const zone = body.indexOf('%');
  if (zone >= 0) body = body.slice(0, zone);
  // Rewrite an embedded dotted quad ("::ffff:1.2.3.4") as two hex groups.
  if (body.includes('.')) {
    const colon = body.lastIndexOf(':');
    const v4 = ipv4ToBigint(body.slice(colon + 1));
    body = `${body.slice(0, colon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [headText, tailText] = body.split('::') as [string, string | undefined];
  const head = headText ? headText.split(':') : [];
  const tail = tailText ? tailText.split(':') : [];
  const zeros = tailText === undefined ? 0 : 8 - head.length - tail.length;
  const groups = [...head, ...Array<string>(zeros).fill('0'), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function bigintToIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}
