/**
 * Netlink attribute framing and the scalar encodings inside messages: type-length-value
 * attributes (nested and padded as the kernel expects), host-order integers, NUL-terminated
 * strings, IP and MAC addresses as bytes. Pure; shared by the rtnetlink and nfnetlink code.
 */
import { parseAttributes } from 'netlink/dist/structs';
import type { IpAddress } from '../platform/cidr.ts';
import type { IpFamily } from '../platform/types.ts';
import { AF_INET, AF_INET6 } from './rtnl-constants.ts';

/** Set on an attribute type whose payload is nested attributes, where the kernel insists on it. */
export const NLA_F_NESTED = 0x8000;

/** An attribute to encode: a scalar payload, or nested attributes. */
export type Attr = [type: number, value: Buffer | Attr[]];

export function encodeAttrs(attrs: Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of attrs) {
    const payload = Buffer.isBuffer(value) ? value : encodeAttrs(value);
    const header = Buffer.alloc(4);
    writeHostU16(header, 0, 4 + payload.length);
    writeHostU16(header, 2, type);
    parts.push(header, payload, Buffer.alloc((4 - (payload.length % 4)) % 4));
  }
  return Buffer.concat(parts);
}

/** Attributes by type; for a repeated type the last one wins. */
export function decodeAttrs(data: Buffer): Map<number, Buffer> {
  const map = new Map<number, Buffer>();
  parseAttributes(data, (attr) => map.set(attr.type, attr.data));
  return map;
}

export function u8(value: number): Buffer {
  return Buffer.from([value]);
}

export function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return hostOrder(b);
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return hostOrder(b);
}

export function str(value: string): Buffer {
  return Buffer.from(`${value}\0`, 'utf8');
}

const bigEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

function hostOrder(b: Buffer): Buffer {
  return bigEndian ? b.reverse() : b;
}

export function readU32(b: Buffer, offset = 0): number {
  return bigEndian ? b.readUInt32BE(offset) : b.readUInt32LE(offset);
}

export function readS32(b: Buffer, offset = 0): number {
  return bigEndian ? b.readInt32BE(offset) : b.readInt32LE(offset);
}

export function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

export function writeHostU16(b: Buffer, offset: number, value: number): void {
  if (bigEndian) b.writeUInt16BE(value, offset);
  else b.writeUInt16LE(value, offset);
}

export function writeHostU32(b: Buffer, offset: number, value: number): void {
  if (bigEndian) b.writeUInt32BE(value >>> 0, offset);
  else b.writeUInt32LE(value >>> 0, offset);
}

export function ipBytes(ip: IpAddress): Buffer {
  const length = ip.family === 4 ? 4 : 16;
  const b = Buffer.alloc(length);
  let value = ip.value;
  for (let i = length - 1; i >= 0; i--) {
    b[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return b;
}

export function ipFromBytes(b: Buffer): IpAddress {
  let value = 0n;
  for (const byte of b) value = (value << 8n) | BigInt(byte);
  return { family: b.length === 4 ? 4 : 6, value };
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(/[:-]/).map((octet) => Number.parseInt(octet, 16)));
}

export function macText(b: Buffer): string {
  return [...b].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

export function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

export function readErrno(body: Buffer): number {
  return -readS32(body, 0);
}
