/**
 * IP addresses and prefixes as values: parse, format canonically, compare, step, and test
 * containment. Pure and OS-neutral; every module that reads an address from input goes
 * through here so that "10.0.0.1", "::ffff:10.0.0.1" and "fd00::0001" are judged alike.
 * Addresses are held as bigint so IPv4 and IPv6 share one arithmetic.
 *
 * The text is parsed here rather than with node:net's isIPv4/isIPv6: in Node 20 isIPv6 is a
 * large regular expression that V8 compiles on first use, 3-4.5 ms of every plugin exec that
 * parses an address. The parser accepts exactly what isIPv4/isIPv6 accept (checked by
 * test/unit/cidr-parse.property.test.ts): dotted quads without leading zeros, 1-4 hex digits
 * per group in either case, one "::" standing for at least one zero group, a dotted quad as
 * the last 32 bits, and a zone id "%" + [0-9A-Za-z.:-]+ (dropped).
 */
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
  const v4 = parseIpv4Text(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const value = parseIpv6Text(text);
  if (value === undefined) return undefined;
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** node:net's isIPv4, without its regular expression. */
export function isIpv4Text(text: string): boolean {
  return parseIpv4Text(text) !== undefined;
}

/** node:net's isIPv6, without its regular expression. */
export function isIpv6Text(text: string): boolean {
  return parseIpv6Text(text) !== undefined;
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

const CHAR_0 = 48;
const CHAR_9 = 57;

/** A dotted quad: four decimal octets 0-255, no leading zeros, nothing else. */
function parseIpv4Text(text: string): bigint | undefined {
  let value = 0;
  let octets = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let octet = 0;
    while (i < text.length && i - start < 4) {
      const c = text.charCodeAt(i);
      if (c < CHAR_0 || c > CHAR_9) break;
      octet = octet * 10 + (c - CHAR_0);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || octet > 255) return undefined;
    if (digits > 1 && text.charCodeAt(start) === CHAR_0) return undefined;
    value = value * 256 + octet;
    octets++;
    if (octets === 4) return i === text.length ? BigInt(value) : undefined;
    if (text.charCodeAt(i) !== 46 /* . */) return undefined;
    i++;
  }
}

/** Value of a 1-4 digit hex group, or -1. */
function hexGroup(text: string): number {
  if (text.length === 0 || text.length > 4) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let digit: number;
    if (c >= CHAR_0 && c <= CHAR_9) digit = c - CHAR_0;
    else if (c >= 97 && c <= 102)
      digit = c - 87; // a-f
    else if (c >= 65 && c <= 70)
      digit = c - 55; // A-F
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** A zone id as node:net accepts it: one or more of [0-9A-Za-z.:-]. */
function isZoneId(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok =
      (c >= CHAR_0 && c <= CHAR_9) ||
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      c === 45 /* - */ ||
      c === 46 /* . */ ||
      c === 58; /* : */
    if (!ok) return false;
  }
  return true;
}

/** Hex groups of one side of "::" (an embedded dotted quad only where `v4Allowed`), or undefined. */
function groupsOf(text: string, v4Allowed: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (v4Allowed && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4Text(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      const group = hexGroup(part);
      if (group < 0) return undefined;
      groups.push(group);
    }
  }
  return groups;
}

/** An IPv6 address (zone id allowed and dropped) as a 128-bit value, or undefined. */
function parseIpv6Text(text: string): bigint | undefined {
  let body = text;
  const percent = text.indexOf('%');
  if (percent >= 0) {
    if (!isZoneId(text.slice(percent + 1))) return undefined;
    body = text.slice(0, percent);
  }
  const gap = body.indexOf('::');
  if (gap >= 0 && body.indexOf('::', gap + 1) >= 0) return undefined;
  const head = groupsOf(gap < 0 ? body : body.slice(0, gap), gap < 0);
  const tail = gap < 0 ? [] : groupsOf(body.slice(gap + 2), true);
  if (!head || !tail) return undefined;
  const explicit = head.length + tail.length;
  // Without "::" all eight groups are written; "::" stands for at least one zero group.
  if (gap < 0 ? explicit !== 8 : explicit > 7) return undefined;
  let value = 0n;
  for (const g of head) value = (value << 16n) | BigInt(g);
  value <<= BigInt(16 * (8 - explicit));
  for (const g of tail) value = (value << 16n) | BigInt(g);
  return value;
}

function bigintToIpv4(value: bigint): string {
  const parts: number[] = [];
  for (let shift = 24n; shift >= 0n; shift -= 8n) parts.push(Number((value >> shift) & 0xffn));
  return parts.join('.');
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
