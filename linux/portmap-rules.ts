/**
 * Do a network's `pm-` chains already hold exactly the rules portmap-nft.ts writes (without
 * conditionsV4/V6)? Read over nfnetlink (nfnl-rules.ts), so the common portmap ADD, on a
 * network whose forwarding rules exist, adds its map and set elements without spawning `nft`.
 *
 * The expected rules, as nft 1.0 encodes them (`nft --debug=netlink`):
 *
 *   pm-prerouting, pm-output: fib daddr type; cmp eq local; immediate jump pm-dnat
 *   pm-dnat (IPv4 hostIP map, IPv4 port map, then IPv6):
 *     meta load nfproto; cmp eq 2|10; [payload load daddr]; meta load l4proto;
 *     payload load th dport; lookup @pm-hostips4|@pm-ports4 dreg; nat dnat ip|ip6
 *   pm-postrouting (hairpin4, hairpin6, local4):
 *     ct load status; bitwise & dnat; cmp neq 0; meta load nfproto; cmp eq 2|10;
 *     payload load saddr [cmp eq 127]; payload load daddr; lookup @pm-hairpin4|...; masq
 *
 * Every attribute is compared byte for byte except register numbers, which depend on how a
 * given nft version allocates them: those only have to be the same where the data flows
 * (a lookup reads the register the address was loaded into; NAT reads what the lookup wrote).
 * Anything else (another rule count, order, or shape, e.g. rules with conditions) answers
 * false, and the caller rewrites the chains with nft as before.
 */
import type { IpFamily } from '../platform/types.ts';
import { nftChainRules, type RuleExpression } from './nfnl-rules.ts';
import { type Attr, encodeAttrs, str } from './rtnl-attrs.ts';

/** A register, named for the data it carries; the same name must be the same register. */
interface Register {
  reg: string;
}
type Expected = { name: string; attrs: Array<[type: number, value: Buffer | Register]> };

const NFPROTO_OF: Record<IpFamily, number> = { 4: 2, 6: 10 };
const ADDR_LEN: Record<IpFamily, number> = { 4: 4, 6: 16 };
const SADDR_OFFSET: Record<IpFamily, number> = { 4: 12, 6: 8 };
const DADDR_OFFSET: Record<IpFamily, number> = { 4: 16, 6: 24 };
const NETWORK_HEADER = 1;
const TRANSPORT_HEADER = 2;
const NFT_META_NFPROTO = 15;
const NFT_META_L4PROTO = 16;
const NFT_CT_STATUS = 2;
const IPS_DST_NAT = 0x20;
const NFT_CMP_EQ = 0;
const NFT_CMP_NEQ = 1;
const NFT_JUMP = 0xfffffffd;
const NFT_NAT_DNAT = 1;
/** NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED */
const NAT_FLAGS = 3;
const NFT_FIB_RESULT_ADDRTYPE = 3;
const NFTA_FIB_F_DADDR = 2;
const RTN_LOCAL = 2;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;

function be32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** struct nft_data holding `bytes`, as NFTA_CMP_DATA and friends carry it. */
function data(bytes: Buffer): Buffer {
  return encodeAttrs([[NFTA_DATA_VALUE, bytes]]);
}

/** A host-order u32 as nft puts it in a register-sized constant. */
function hostU32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

const r = (reg: string): Register => ({ reg });

const meta = (key: number, dreg: string): Expected => ({
  name: 'meta',
  attrs: [
    [1, r(dreg)],
    [2, be32(key)],
  ],
});
const cmp = (op: number, sreg: string, value: Buffer): Expected => ({
  name: 'cmp',
  attrs: [
    [1, r(sreg)],
    [2, be32(op)],
    [3, data(value)],
  ],
});
const payload = (base: number, offset: number, length: number, dreg: string): Expected => ({
  name: 'payload',
  attrs: [
    [1, r(dreg)],
    [2, be32(base)],
    [3, be32(offset)],
    [4, be32(length)],
  ],
});
const lookup = (set: string, sreg: string, dreg?: string): Expected => ({
  name: 'lookup',
  attrs: [[1, str(set)], [2, r(sreg)], ...(dreg ? [[3, r(dreg)] as [number, Register]] : []), [5, be32(0)]],
});

/** `meta nfproto ipv4|ipv6` */
const nfproto = (family: IpFamily): Expected[] => [
  meta(NFT_META_NFPROTO, 'nfproto'),
  cmp(NFT_CMP_EQ, 'nfproto', Buffer.from([NFPROTO_OF[family]])),
];

/** `fib daddr type local jump pm-dnat` */
function jumpToDnat(): Expected[] {
  const verdict: Attr[] = [
    [
      NFTA_DATA_VERDICT,
      [
        [1, be32(NFT_JUMP)],
        [2, str('pm-dnat')],
      ],
    ],
  ];
  return [
    {
      name: 'fib',
      attrs: [
        [1, r('type')],
        [2, be32(NFT_FIB_RESULT_ADDRTYPE)],
        [3, be32(NFTA_FIB_F_DADDR)],
      ],
    },
    cmp(NFT_CMP_EQ, 'type', hostU32(RTN_LOCAL)),
    {
      name: 'immediate',
      attrs: [
        [1, r('verdict')],
        [2, encodeAttrs(verdict)],
      ],
    },
  ];
}

/** `meta nfproto X dnat X to [X daddr .] meta l4proto . th dport map @<map>` */
function dnat(family: IpFamily, map: string, byHostIp: boolean): Expected[] {
  return [
    ...nfproto(family),
    ...(byHostIp ? [payload(NETWORK_HEADER, DADDR_OFFSET[family], ADDR_LEN[family], 'key')] : []),
    meta(NFT_META_L4PROTO, byHostIp ? 'l4proto' : 'key'),
    payload(TRANSPORT_HEADER, 2, 2, 'dport'),
    lookup(map, 'key', 'target'),
    {
      name: 'nat',
      attrs: [
        [1, be32(NFT_NAT_DNAT)],
        [2, be32(NFPROTO_OF[family])],
        [3, r('target')],
        [4, r('target')],
        [5, r('port')],
        [6, r('port')],
        [7, be32(NAT_FLAGS)],
      ],
    },
  ];
}

/** `ct status dnat` */
const afterDnat = (): Expected[] => [
  {
    name: 'ct',
    attrs: [
      [1, r('status')],
      [2, be32(NFT_CT_STATUS)],
    ],
  },
  {
    name: 'bitwise',
    attrs: [
      [1, r('status')],
      [2, r('status')],
      [3, be32(4)],
      [4, data(hostU32(IPS_DST_NAT))],
      [5, data(hostU32(0))],
      [6, be32(0)],
    ],
  },
  cmp(NFT_CMP_NEQ, 'status', hostU32(0)),
];

/** `ct status dnat X saddr . X daddr @pm-hairpinN masquerade` */
function hairpin(family: IpFamily): Expected[] {
  return [
    ...afterDnat(),
    ...nfproto(family),
    payload(NETWORK_HEADER, SADDR_OFFSET[family], ADDR_LEN[family], 'key'),
    payload(NETWORK_HEADER, DADDR_OFFSET[family], ADDR_LEN[family], 'daddr'),
    lookup(`pm-hairpin${family}`, 'key'),
    { name: 'masq', attrs: [] },
  ];
}

/** `ct status dnat ip saddr 127.0.0.0/8 ip daddr @pm-local4 masquerade` */
function localhost(): Expected[] {
  return [
    ...afterDnat(),
    ...nfproto(4),
    payload(NETWORK_HEADER, SADDR_OFFSET[4], 1, 'saddr'),
    cmp(NFT_CMP_EQ, 'saddr', Buffer.from([127])),
    payload(NETWORK_HEADER, DADDR_OFFSET[4], 4, 'key'),
    lookup('pm-local4', 'key'),
    { name: 'masq', attrs: [] },
  ];
}

/** The rules each chain must hold, in order. */
const EXPECTED: Record<string, Expected[][]> = {
  'pm-prerouting': [jumpToDnat()],
  'pm-output': [jumpToDnat()],
  'pm-dnat': [
    dnat(4, 'pm-hostips4', true),
    dnat(4, 'pm-ports4', false),
    dnat(6, 'pm-hostips6', true),
    dnat(6, 'pm-ports6', false),
  ],
  'pm-postrouting': [hairpin(4), hairpin(6), localhost()],
};

const isRegister = (v: Buffer | Register): v is Register => !Buffer.isBuffer(v);

/** Whether `actual` is the rule `expected` describes (registers matched by name). */
export function ruleMatches(actual: RuleExpression[], expected: Expected[]): boolean {
  if (actual.length !== expected.length) return false;
  const registers = new Map<string, string>();
  return expected.every((want, i) => {
    const got = actual[i]!;
    if (got.name !== want.name || got.attrs.size !== want.attrs.length) return false;
    return want.attrs.every(([type, value]) => {
      const bytes = got.attrs.get(type);
      if (!bytes) return false;
      if (!isRegister(value)) return bytes.equals(value);
      const seen = registers.get(value.reg);
      registers.set(value.reg, bytes.toString('hex'));
      return seen === undefined || seen === bytes.toString('hex');
    });
  });
}

/** Whether the `pm-` chains of inet `table` hold exactly the rules of an ADD without conditions. */
export async function portmapRulesCurrent(table: string): Promise<boolean> {
  for (const [chain, rules] of Object.entries(EXPECTED)) {
    const found = await nftChainRules('inet', table, chain);
    if (found.length !== rules.length || !rules.every((rule, i) => ruleMatches(found[i]!, rule)))
      return false;
  }
  return true;
}
