/**
 * Reading elements of nftables sets and maps over nfnetlink, without spawning `nft`: a whole
 * set (an NFT_MSG_GETSETELEM dump) or given keys only (one GETSETELEM each), decoded into raw
 * key and data bytes plus the element's comment. The port forwarding code stores an attachment's hash in the comment
 * of each element it adds, so DEL, CHECK and GC find an attachment's elements this way. Also
 * the byte layout of the concatenated keys it uses (each field padded to 4 bytes, as nf_tables
 * registers hold them), both ways, and the NEWSETELEM / DELSETELEM messages that add and delete
 * elements in an nfnl-batch.ts transaction.
 */
import { parseAttributes } from 'netlink/dist/structs';
import { formatIp, parseIp } from '../platform/cidr.ts';
import { NetlinkError } from './errors.ts';
import { NFPROTO, type NftFamily } from './nfnl.ts';
import { NFT_MSG, type NftMessage, NLM_F_CREATE, NLM_F_EXCL } from './nfnl-batch.ts';
import { NfnlUnavailable, withNfnlSocket } from './nfnl-socket.ts';
import {
  type Attr,
  cString,
  decodeAttrs,
  encodeAttrs,
  ipBytes,
  ipFromBytes,
  NLA_F_NESTED,
  readErrno,
  str,
} from './rtnl-attrs.ts';

const NLMSG_ERROR = 2;
const NLM_F_DUMP = 0x300;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_GETSETELEM = 13;
const LIST = { TABLE: 1, SET: 2, ELEMENTS: 3 } as const;
const NFTA_LIST_ELEM = 1;
const ELEM = { KEY: 1, DATA: 2, FLAGS: 3, USERDATA: 6, KEY_END: 10 } as const;
const NFTA_DATA_VALUE = 1;
/** libnftnl's user data TLV type for an element comment (NFTNL_UDATA_SET_ELEM_COMMENT). */
const UDATA_ELEM_COMMENT = 0;
/** ENOENT: no such table or set; the others: nf_tables is not in this kernel. */
const NOTHING_THERE = new Set([2, 95, 93, 97]);

export interface SetElement {
  key: Buffer;
  /** The mapped value of a map element (not of a verdict map). */
  data?: Buffer;
  comment?: string;
  /** NFT_SET_ELEM_* flags (1: the element ends an interval), when not 0. */
  flags?: number;
  /** The last key of an interval element that carries its end (NFTA_SET_ELEM_KEY_END). */
  keyEnd?: Buffer;
}

function udataComment(userdata: Buffer): string | undefined {
  for (let at = 0; at + 2 <= userdata.length; ) {
    const type = userdata[at]!;
    const length = userdata[at + 1]!;
    if (type === UDATA_ELEM_COMMENT) return cString(userdata.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return undefined;
}

function decodeElements(list: Buffer): SetElement[] {
  const out: SetElement[] = [];
  parseAttributes(list, (item) => {
    if ((item.type & 0x7fff) !== NFTA_LIST_ELEM) return;
    const attrs = decodeAttrs(item.data);
    const key = attrs.get(ELEM.KEY);
    if (!key) return;
    const element: SetElement = { key: decodeAttrs(key).get(NFTA_DATA_VALUE) ?? Buffer.alloc(0) };
    const data = attrs.get(ELEM.DATA);
    const value = data && decodeAttrs(data).get(NFTA_DATA_VALUE);
    if (value) element.data = value;
    const userdata = attrs.get(ELEM.USERDATA);
    const comment = userdata && udataComment(userdata);
    if (comment) element.comment = comment;
    const flags = attrs.get(ELEM.FLAGS);
    if (flags && flags.length >= 4 && flags.readUInt32BE(0)) element.flags = flags.readUInt32BE(0);
    const keyEnd = attrs.get(ELEM.KEY_END);
    const end = keyEnd && decodeAttrs(keyEnd).get(NFTA_DATA_VALUE);
    if (end) element.keyEnd = end;
    out.push(element);
  });
  return out;
}

/** Every element of set `set` in `table` (empty when the table or set does not exist). */
export async function nftSetElements(family: NftFamily, table: string, set: string): Promise<SetElement[]> {
  const body = Buffer.concat([
    Buffer.from([NFPROTO[family], 0, 0, 0]),
    encodeAttrs([
      [LIST.TABLE, str(table)],
      [LIST.SET, str(set)],
    ]),
  ]);
  let replies: Array<{ type: number; data: Buffer }>;
  try {
    [replies] = await withNfnlSocket((socket) =>
      socket.request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, body, {
        flags: NLM_F_DUMP,
        checkError: false,
      }),
    );
  } catch (e) {
    if (nothingThere(e)) return [];
    throw e;
  }
  const elements: SetElement[] = [];
  for (const reply of replies) {
    if (reply.type === NLMSG_ERROR) {
      const errno = readErrno(reply.data);
      if (NOTHING_THERE.has(errno)) return [];
      if (errno !== 0) throw new NetlinkError('NFT_MSG_GETSETELEM', errno);
      continue;
    }
    if ((reply.type & 0xff) !== NFT_MSG_NEWSETELEM) continue;
    const list = decodeAttrs(reply.data.subarray(4)).get(LIST.ELEMENTS);
    if (list) elements.push(...decodeElements(list));
  }
  return elements;
}

/** No socket, or a request the socket layer refused with "nothing there". */
function nothingThere(e: unknown): boolean {
  if (e instanceof NfnlUnavailable) return true;
  const errno = (e as { errno?: unknown }).errno;
  return typeof errno === 'number' && NOTHING_THERE.has(Math.abs(errno));
}

/**
 * The elements with these keys, asked for one by one (NFT_MSG_GETSETELEM without a dump, one
 * request per key so a missing one only answers for itself). Missing keys are left out.
 */
export async function nftGetSetElements(
  family: NftFamily,
  table: string,
  wanted: Array<{ set: string; key: Buffer }>,
): Promise<Array<SetElement & { set: string }>> {
  if (!wanted.length) return [];
  try {
    return await withNfnlSocket(async (socket) => {
      const found: Array<SetElement & { set: string }> = [];
      for (const { set, key } of wanted) {
        const body = Buffer.concat([
          Buffer.from([NFPROTO[family], 0, 0, 0]),
          encodeAttrs([
            [LIST.TABLE, str(table)],
            [LIST.SET, str(set)],
            [LIST.ELEMENTS, [[NFTA_LIST_ELEM, [[ELEM.KEY, [[NFTA_DATA_VALUE, key]]]]]]],
          ]),
        ]);
        let replies: Array<{ type: number; data: Buffer }>;
        try {
          [replies] = await socket.request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, body, {
            checkError: false,
          });
        } catch (e) {
          if (nothingThere(e)) continue;
          throw e;
        }
        for (const reply of replies) {
          if (reply.type === NLMSG_ERROR) {
            const errno = readErrno(reply.data);
            if (errno !== 0 && !NOTHING_THERE.has(errno)) throw new NetlinkError('NFT_MSG_GETSETELEM', errno);
            continue;
          }
          const list = decodeAttrs(reply.data.subarray(4)).get(LIST.ELEMENTS);
          for (const element of list ? decodeElements(list) : []) found.push({ ...element, set });
        }
      }
      return found;
    });
  } catch (e) {
    if (e instanceof NfnlUnavailable) return [];
    throw e;
  }
}

/** NFTNL_UDATA_SET_ELEM_COMMENT as libnftnl writes it: type, length, text, NUL. */
function udataOfComment(comment: string): Buffer {
  const text = Buffer.from(`${comment}\0`, 'utf8');
  if (text.length > 255) throw new RangeError(`set element comment too long: ${comment}`);
  return Buffer.concat([Buffer.from([UDATA_ELEM_COMMENT, text.length]), text]);
}

/**
 * One NEWSETELEM / DELSETELEM message for `nftTransaction`, laid out as nft lays out the same
 * `add element` / `delete element` (nested flags included), so the element is the one nft
 * would make: the same key and the same comment user data.
 */
export function setElementMessage(
  operation: 'add' | 'delete',
  family: NftFamily,
  table: string,
  set: string,
  element: { key: Buffer; comment?: string },
  /** Add: fail with EEXIST when the key is there already (nft's `create element`). */
  exclusive = false,
): NftMessage {
  const attrs: Attr[] = [[ELEM.KEY | NLA_F_NESTED, [[NFTA_DATA_VALUE, element.key]]]];
  if (element.comment !== undefined) attrs.push([ELEM.USERDATA, udataOfComment(element.comment)]);
  return {
    type: operation === 'add' ? NFT_MSG.NEWSETELEM : NFT_MSG.DELSETELEM,
    flags: operation === 'add' ? NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0) : 0,
    family,
    what: `${operation} element ${family} ${table} ${set}`,
    attrs: [
      [LIST.TABLE, str(table)],
      [LIST.SET, str(set)],
      [LIST.ELEMENTS | NLA_F_NESTED, [[NFTA_LIST_ELEM | NLA_F_NESTED, attrs]]],
    ],
  };
}

/** Fields of a concatenated key or value, in order. */
export type ConcatField = 'ipv4' | 'ipv6' | 'proto' | 'port';

const WIDTH: Record<ConcatField, number> = { ipv4: 4, ipv6: 16, proto: 4, port: 4 };
const PROTOCOL_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const PROTOCOL_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

/** The bytes of a concatenation from the same text decodeConcat gives (the inverse). */
export function encodeConcat(values: string[], fields: ConcatField[]): Buffer {
  return Buffer.concat(
    fields.map((field, i) => {
      const chunk = Buffer.alloc(WIDTH[field]);
      const value = values[i] ?? '';
      if (field === 'ipv4' || field === 'ipv6') {
        const ip = parseIp(value);
        if (!ip || ip.family !== (field === 'ipv4' ? 4 : 6))
          throw new TypeError(`not an ${field} address: ${value}`);
        ipBytes(ip).copy(chunk);
      } else if (field === 'proto') chunk[0] = PROTOCOL_NUMBERS[value] ?? Number(value);
      else chunk.writeUInt16BE(Number(value), 0);
      return chunk;
    }),
  );
}

/**
 * A concatenation's bytes as nft writes its fields: addresses as text, protocols by name,
 * ports as numbers. Undefined when the bytes do not have the expected length.
 */
export function decodeConcat(bytes: Buffer, fields: ConcatField[]): string[] | undefined {
  const total = fields.reduce((sum, f) => sum + WIDTH[f], 0);
  if (bytes.length !== total) return undefined;
  const out: string[] = [];
  let at = 0;
  for (const field of fields) {
    const chunk = bytes.subarray(at, at + WIDTH[field]);
    if (field === 'ipv4' || field === 'ipv6') out.push(formatIp(ipFromBytes(chunk)));
    else if (field === 'proto') out.push(PROTOCOL_NAMES[chunk[0]!] ?? String(chunk[0]));
    else out.push(String(chunk.readUInt16BE(0)));
    at += WIDTH[field];
  }
  return out;
}
