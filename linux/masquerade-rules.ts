/**
 * Does a network's masquerade chain already hold the two rules an ADD would write for these
 * exceptions? Read over nfnetlink (the chain's rules, and the anonymous interval set a rule
 * with several exceptions looks up), so the common ADD, on a network whose table exists and
 * whose exceptions did not change, adds its set elements without spawning `nft`.
 *
 * The rules netfilter-nft.ts writes, as nft encodes them (`nft --debug=netlink`):
 *
 *   meta load nfproto; cmp eq <2 | 10>; payload load saddr; lookup @masq4 | @masq6;
 *   payload load daddr (or its first bytes); then either `lookup @__setN` inverted (several
 *   exceptions: an interval set) or `[bitwise mask]; cmp neq` (one prefix); masq
 *
 * Anything else (another rule count, order, shape, or other exceptions) answers false and the
 * caller rewrites the chain with nft, as before. The exceptions are compared as address
 * intervals, so the check does not depend on how nft split or merged them.
 */
import { networkCidr, parseCidr } from '../platform/cidr.ts';
import type { IpFamily } from '../platform/types.ts';
import { exceptionSet } from './netfilter-names.ts';
import { nftChainRules, type RuleExpression } from './nfnl-rules.ts';
import { nftSetElements, type SetElement } from './nfnl-setelem.ts';
import { cString, decodeAttrs } from './rtnl-attrs.ts';

const NFPROTO_OF: Record<IpFamily, number> = { 4: 2, 6: 10 };
/** Offset of the destination address in the network header. */
const DADDR_OFFSET: Record<IpFamily, number> = { 4: 16, 6: 24 };
const SADDR_OFFSET: Record<IpFamily, number> = { 4: 12, 6: 8 };
const NFTA_META_KEY = 2;
const NFT_META_NFPROTO = 15;
const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const NFT_PAYLOAD_NETWORK_HEADER = 1;
const NFT_LOOKUP_F_INV = 1;
const NFT_CMP_EQ = 0;
const NFT_CMP_NEQ = 1;
const NFT_SET_ELEM_INTERVAL_END = 1;
const PAYLOAD = { BASE: 2, OFFSET: 3, LEN: 4 } as const;
const LOOKUP = { SET: 1, FLAGS: 5 } as const;
const CMP = { OP: 2, DATA: 3 } as const;
const BITWISE = { MASK: 4 } as const;
const NFTA_DATA_VALUE = 1;

/** Half-open intervals [start, end) of addresses. */
type Interval = [bigint, bigint];

function be32(attrs: Map<number, Buffer>, type: number): number | undefined {
  const b = attrs.get(type);
  return b && b.length >= 4 ? b.readUInt32BE(0) : undefined;
}

function dataValue(attrs: Map<number, Buffer>, type: number): Buffer | undefined {
  const nested = attrs.get(type);
  return nested && decodeAttrs(nested).get(NFTA_DATA_VALUE);
}

function bytesValue(bytes: Buffer): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Sorted, with touching and overlapping intervals merged. */
function normalise(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Interval[] = [];
  for (const [start, end] of sorted) {
    const last = out[out.length - 1];
    if (!last || start > last[1]) out.push([start, end]);
    else if (end > last[1]) last[1] = end;
  }
  return out;
}

function sameIntervals(a: Interval[], b: Interval[]): boolean {
  return a.length === b.length && a.every(([s, e], i) => s === b[i]![0] && e === b[i]![1]);
}

/** The exceptions a rule should skip, as intervals (what exceptionSet gives, plus multicast). */
function expectedIntervals(exceptions: string[], family: IpFamily): Interval[] {
  return normalise(
    exceptionSet(exceptions, family).map((cidr) => {
      const prefix = parseCidr(networkCidr(parseCidr(cidr)!))!;
      const size = 1n << BigInt(BITS[family] - prefix.prefixLength);
      return [prefix.address.value, prefix.address.value + size] as Interval;
    }),
  );
}

/** The intervals an interval set's elements describe (start elements, then end elements). */
export function setIntervals(elements: SetElement[], family: IpFamily): Interval[] {
  const top = 1n << BigInt(BITS[family]);
  const points = elements
    .map((e) => ({
      key: bytesValue(e.key),
      end: ((e.flags ?? 0) & NFT_SET_ELEM_INTERVAL_END) !== 0,
      keyEnd: e.keyEnd ? bytesValue(e.keyEnd) + 1n : undefined,
    }))
    // By address; where an interval ends exactly where the next starts, the end comes first.
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : Number(b.end) - Number(a.end)));
  const out: Interval[] = [];
  let open: bigint | undefined;
  for (const point of points) {
    if (point.keyEnd !== undefined) out.push([point.key, point.keyEnd]);
    else if (!point.end) open ??= point.key;
    else if (open !== undefined) {
      out.push([open, point.key]);
      open = undefined;
    }
  }
  if (open !== undefined) out.push([open, top]);
  return normalise(out);
}

/** The prefix a `[bitwise]; cmp neq` pair matches, as an interval; undefined if it is not one. */
function comparedPrefix(
  family: IpFamily,
  loadLength: number,
  bitwise: RuleExpression | undefined,
  cmp: RuleExpression,
): Interval | undefined {
  const value = dataValue(cmp.attrs, CMP.DATA);
  if (!value || value.length !== loadLength || be32(cmp.attrs, CMP.OP) !== NFT_CMP_NEQ) return undefined;
  const mask = bitwise ? dataValue(bitwise.attrs, BITWISE.MASK) : Buffer.alloc(loadLength, 0xff);
  if (!mask || mask.length !== loadLength) return undefined;
  const maskBits = [...mask].map((b) => b.toString(2).padStart(8, '0')).join('');
  if (!/^1*0*$/.test(maskBits)) return undefined;
  const prefixLength = maskBits.indexOf('0') < 0 ? maskBits.length : maskBits.indexOf('0');
  const width = BITS[family] / 8;
  const start = bytesValue(Buffer.concat([value, Buffer.alloc(width - loadLength)]));
  return [start, start + (1n << BigInt(BITS[family] - prefixLength))];
}

/** The exception intervals of one rule, if it has the shape above for `set`; else undefined. */
async function ruleExceptions(
  table: string,
  rule: RuleExpression[],
  family: IpFamily,
  set: string,
): Promise<Interval[] | undefined> {
  const names = rule.map((e) => e.name).join(' ');
  const [meta, proto, saddr, masqLookup, daddr, ...rest] = rule;
  if (!names.startsWith('meta cmp payload lookup payload ') || !names.endsWith(' masq')) return undefined;
  if (be32(meta!.attrs, NFTA_META_KEY) !== NFT_META_NFPROTO) return undefined;
  if (
    be32(proto!.attrs, CMP.OP) !== NFT_CMP_EQ ||
    dataValue(proto!.attrs, CMP.DATA)?.[0] !== NFPROTO_OF[family]
  )
    return undefined;
  if (be32(saddr!.attrs, PAYLOAD.OFFSET) !== SADDR_OFFSET[family]) return undefined;
  const lookupSet = masqLookup!.attrs.get(LOOKUP.SET);
  if (!lookupSet || cString(lookupSet) !== set || (be32(masqLookup!.attrs, LOOKUP.FLAGS) ?? 0) !== 0)
    return undefined;
  const loadLength = be32(daddr!.attrs, PAYLOAD.LEN) ?? 0;
  if (
    be32(daddr!.attrs, PAYLOAD.BASE) !== NFT_PAYLOAD_NETWORK_HEADER ||
    be32(daddr!.attrs, PAYLOAD.OFFSET) !== DADDR_OFFSET[family] ||
    loadLength < 1 ||
    loadLength > BITS[family] / 8
  )
    return undefined;
  const middle = rest.slice(0, -1);
  if (middle.length === 1 && middle[0]!.name === 'lookup') {
    const anonymous = middle[0]!.attrs.get(LOOKUP.SET);
    if (!anonymous || be32(middle[0]!.attrs, LOOKUP.FLAGS) !== NFT_LOOKUP_F_INV) return undefined;
    if (loadLength !== BITS[family] / 8) return undefined;
    return setIntervals(await nftSetElements('inet', table, cString(anonymous)), family);
  }
  const [bitwise, cmp] = middle.length === 2 ? middle : [undefined, middle[0]];
  if (cmp?.name !== 'cmp' || (bitwise && bitwise.name !== 'bitwise') || middle.length > 2) return undefined;
  const prefix = comparedPrefix(family, loadLength, bitwise, cmp);
  return prefix && [prefix];
}

/**
 * Whether chain `postrouting` of inet `table` holds exactly the IPv4 rule for set `sets[4]`
 * and the IPv6 rule for `sets[6]`, in that order, with these exceptions.
 */
export async function masqueradeRulesCurrent(
  table: string,
  sets: Record<IpFamily, string>,
  exceptions: string[],
): Promise<boolean> {
  const rules = await nftChainRules('inet', table, 'postrouting');
  if (rules.length !== 2) return false;
  for (const [i, family] of [4, 6].entries() as IterableIterator<[number, IpFamily]>) {
    const found = await ruleExceptions(table, rules[i]!, family, sets[family]);
    if (!found || !sameIntervals(found, expectedIntervals(exceptions, family))) return false;
  }
  return true;
}
