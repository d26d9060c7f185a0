/**
 * Traffic control over rtnetlink, without spawning `tc`: the tcmsg header, the three objects
 * the bandwidth limits need — a tbf qdisc (token bucket), the ingress qdisc, and a u32
 * match-all filter whose mirred action redirects to another device — and typed requests to
 * add, delete and list them on one RtnlSocket. Numbers are from the kernel's uapi headers
 * (linux/rtnetlink.h, pkt_sched.h, pkt_cls.h, tc_act/tc_mirred.h). Raw transport: nothing
 * here knows about containers.
 */
import { endianness } from 'node:os';
import {
  type Attr,
  cString,
  decodeAttrs,
  encodeAttrs,
  readU32,
  str,
  u32,
  writeHostU32,
} from './rtnl-attrs.ts';
import { NLM_F } from './rtnl-constants.ts';
import type { RtnlSocket } from './rtnl.ts';
import { NetlinkError } from './errors.ts';

export const RTM_TC = {
  NEWQDISC: 36,
  DELQDISC: 37,
  GETQDISC: 38,
  NEWTFILTER: 44,
  DELTFILTER: 45,
  GETTFILTER: 46,
} as const;
/** TC_H_ROOT and TC_H_INGRESS: the parents of a root qdisc and of the ingress qdisc. */
export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
/** The ingress qdisc's handle, ffff:0. */
export const INGRESS_HANDLE = 0xffff0000;
const TCA = { KIND: 1, OPTIONS: 2 } as const;
const TCA_TBF = { PARMS: 1, RATE64: 4 } as const;
const TCA_U32 = { CLASSID: 1, SEL: 5, ACT: 7 } as const;
const TCA_ACT = { KIND: 1, OPTIONS: 2 } as const;
const TCA_MIRRED_PARMS = 2;
const TC_U32_TERMINAL = 1;
const TC_ACT_STOLEN = 4;
const TCA_EGRESS_REDIR = 1;
const ETH_P_ALL = 0x0003;
const TC_LINKLAYER_ETHERNET = 1;
const LITTLE_ENDIAN = endianness() === 'LE';
const NLM_F_ECHO = 0x08;

export interface TcHeader {
  ifindex: number;
  handle: number;
  parent: number;
  /** Filters: priority << 16 | protocol in network order. */
  info?: number;
}

/** struct tcmsg: family, padding, ifindex, handle, parent, info. */
export function encodeTcMsg(header: TcHeader, attrs: Attr[] = []): Buffer {
  const h = Buffer.alloc(20);
  writeHostU32(h, 4, header.ifindex);
  writeHostU32(h, 8, header.handle);
  writeHostU32(h, 12, header.parent);
  writeHostU32(h, 16, header.info ?? 0);
  return Buffer.concat([h, encodeAttrs(attrs)]);
}

export interface TcObject extends TcHeader {
  kind: string;
  /** TCA_OPTIONS, still encoded (its layout depends on the kind). */
  options?: Buffer;
}

export function decodeTcMsg(body: Buffer): TcObject {
  const attrs = decodeAttrs(body.subarray(20));
  const object: TcObject = {
    ifindex: readU32(body, 4),
    handle: readU32(body, 8),
    parent: readU32(body, 12),
    info: readU32(body, 16),
    kind: cString(attrs.get(TCA.KIND) ?? Buffer.alloc(0)),
  };
  const options = attrs.get(TCA.OPTIONS);
  if (options) object.options = options;
  return object;
}

// ---- tbf -------------------------------------------------------------------------------------

export interface TbfParams {
  /** Bytes per second. */
  rateBytes: number;
  /** Bytes that may queue (the qdisc's limit). */
  limitBytes: number;
  /** Bucket size as transmission time, in psched ticks. */
  bufferTicks: number;
}

/** struct tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate (12 bytes). */
function rateSpec(rateBytes: number): Buffer {
  const b = Buffer.alloc(12);
  b[1] = TC_LINKLAYER_ETHERNET;
  // Rates of 4 GB/s and more go in TCA_TBF_RATE64; the 32-bit field then says "see there".
  writeHostU32(b, 8, Math.min(rateBytes, 0xffffffff));
  return b;
}

export function tbfOptions(params: TbfParams): Attr[] {
  // struct tc_tbf_qopt: rate, peakrate (unused), limit, buffer, mtu (unused).
  const qopt = Buffer.concat([rateSpec(params.rateBytes), Buffer.alloc(12), Buffer.alloc(12)]);
  writeHostU32(qopt, 24, params.limitBytes);
  writeHostU32(qopt, 28, params.bufferTicks);
  const attrs: Attr[] = [[TCA_TBF.PARMS, qopt]];
  if (params.rateBytes >= 2 ** 32) {
    const rate64 = Buffer.alloc(8);
    if (LITTLE_ENDIAN) rate64.writeBigUInt64LE(BigInt(params.rateBytes));
    else rate64.writeBigUInt64BE(BigInt(params.rateBytes));
    attrs.push([TCA_TBF.RATE64, rate64]);
  }
  return attrs;
}

export function decodeTbf(options: Buffer): TbfParams | undefined {
  const attrs = decodeAttrs(options);
  const qopt = attrs.get(TCA_TBF.PARMS);
  if (!qopt || qopt.length < 36) return undefined;
  const rate64 = attrs.get(TCA_TBF.RATE64);
  return {
    rateBytes: rate64
      ? Number(LITTLE_ENDIAN ? rate64.readBigUInt64LE() : rate64.readBigUInt64BE())
      : readU32(qopt, 8),
    limitBytes: readU32(qopt, 24),
    bufferTicks: readU32(qopt, 28),
  };
}

// ---- u32 match-all + mirred redirect ----------------------------------------------------------

/** `u32 match u32 0 0 action mirred egress redirect dev <ifindex>`. */
function redirectFilterOptions(targetIfindex: number): Attr[] {
  // struct tc_u32_sel (16 bytes) with one key that matches everything: mask 0, value 0.
  const sel = Buffer.alloc(16 + 16);
  sel[0] = TC_U32_TERMINAL;
  sel[2] = 1;
  // struct tc_mirred: index, capab, action, refcnt, bindcnt, eaction, ifindex.
  const mirred = Buffer.alloc(28);
  writeHostU32(mirred, 8, TC_ACT_STOLEN);
  writeHostU32(mirred, 20, TCA_EGRESS_REDIR);
  writeHostU32(mirred, 24, targetIfindex);
  return [
    // classid 1:1, as the reference plugin sets it.
    [TCA_U32.CLASSID, u32(0x00010001)],
    [TCA_U32.SEL, sel],
    [
      TCA_U32.ACT,
      [
        [
          1,
          [
            [TCA_ACT.KIND, str('mirred')],
            [TCA_ACT.OPTIONS, [[TCA_MIRRED_PARMS, mirred]]],
          ],
        ],
      ],
    ],
  ];
}

/** The device a u32 filter's mirred action redirects to, if it has one. */
export function decodeRedirectTarget(options: Buffer): number | undefined {
  const actions = decodeAttrs(options).get(TCA_U32.ACT);
  if (!actions) return undefined;
  for (const [, action] of decodeAttrs(actions)) {
    const inner = decodeAttrs(action);
    if (cString(inner.get(TCA_ACT.KIND) ?? Buffer.alloc(0)) !== 'mirred') continue;
    const parms = decodeAttrs(inner.get(TCA_ACT.OPTIONS) ?? Buffer.alloc(0)).get(TCA_MIRRED_PARMS);
    if (parms && parms.length >= 28) return readU32(parms, 24);
  }
  return undefined;
}

// ---- requests --------------------------------------------------------------------------------

/** `tc qdisc replace dev <ifindex> root handle 1: tbf ...` (replace keeps ADD idempotent). */
export async function replaceRootTbf(sock: RtnlSocket, ifindex: number, params: TbfParams): Promise<void> {
  const body = encodeTcMsg({ ifindex, handle: 0x00010000, parent: TC_H_ROOT }, [
    [TCA.KIND, str('tbf')],
    [TCA.OPTIONS, tbfOptions(params)],
  ]);
  await sock.request(RTM_TC.NEWQDISC, body, NLM_F.CREATE | NLM_F.REPLACE);
}

/** `tc qdisc replace dev <ifindex> ingress`. */
export async function replaceIngressQdisc(sock: RtnlSocket, ifindex: number): Promise<void> {
  const body = encodeTcMsg({ ifindex, handle: INGRESS_HANDLE, parent: TC_H_INGRESS }, [
    [TCA.KIND, str('ingress')],
    [TCA.OPTIONS, []],
  ]);
  await sock.request(RTM_TC.NEWQDISC, body, NLM_F.CREATE | NLM_F.REPLACE);
}

/** Delete the qdisc at `parent` (the root or the ingress one); ENOENT/EINVAL mean there is none. */
export async function deleteQdisc(sock: RtnlSocket, ifindex: number, parent: number): Promise<void> {
  await sock.request(RTM_TC.DELQDISC, encodeTcMsg({ ifindex, handle: 0, parent }));
}

/** Redirect everything entering `ifindex` (under its ingress qdisc) to `targetIfindex`. */
export async function addRedirectFilter(
  sock: RtnlSocket,
  ifindex: number,
  targetIfindex: number,
): Promise<void> {
  const protocol = ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8);
  const body = encodeTcMsg({ ifindex, handle: 0, parent: INGRESS_HANDLE, info: (1 << 16) | protocol }, [
    [TCA.KIND, str('u32')],
    [TCA.OPTIONS, redirectFilterOptions(targetIfindex)],
  ]);
  await sock.request(RTM_TC.NEWTFILTER, body, NLM_F.CREATE | NLM_F.EXCL);
}

/**
 * The qdisc at `parent` (TC_H_ROOT or TC_H_INGRESS) of one device, asked for directly: no dump,
 * so the cost does not grow with the host's devices. Undefined when there is none (or only the
 * device's built-in default, which has no handle).
 */
export async function getQdisc(
  sock: RtnlSocket,
  ifindex: number,
  parent: number,
): Promise<TcObject | undefined> {
  try {
    // Without NLM_F_ECHO the kernel sends a qdisc GET's answer only to the TC multicast group.
    const [reply] = await sock.request(
      RTM_TC.GETQDISC,
      encodeTcMsg({ ifindex, handle: 0, parent }),
      NLM_F_ECHO,
    );
    return reply ? decodeTcMsg(reply) : undefined;
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'EINVAL')) return undefined;
    throw e;
  }
}

/** The filters under one qdisc of one device. */
export async function listFilters(sock: RtnlSocket, ifindex: number, parent: number): Promise<TcObject[]> {
  const replies = await sock.request(
    RTM_TC.GETTFILTER,
    encodeTcMsg({ ifindex, handle: 0, parent }),
    NLM_F.DUMP,
  );
  return replies.map(decodeTcMsg).filter((f) => f.ifindex === ifindex);
}
