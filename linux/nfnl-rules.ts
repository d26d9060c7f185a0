/**
 * Reading the rules of one nftables chain over nfnetlink (an NFT_MSG_GETRULE dump the kernel
 * filters by table and chain), decoded down to each expression's name and attributes. Lets a
 * plugin check that a chain already holds the rules it would write, without spawning `nft`.
 * Read-only.
 */
import { parseAttributes } from 'netlink/dist/structs';
import { NetlinkError } from './errors.ts';
import { NFPROTO, type NftFamily } from './nfnl.ts';
import { NfnlUnavailable, withNfnlSocket } from './nfnl-socket.ts';
import { cString, decodeAttrs, encodeAttrs, readErrno, str } from './rtnl-attrs.ts';

const NLMSG_ERROR = 2;
const NLM_F_DUMP = 0x300;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_GETRULE = 7;
const RULE = { TABLE: 1, CHAIN: 2, EXPRESSIONS: 4 } as const;
const NFTA_LIST_ELEM = 1;
const EXPR = { NAME: 1, DATA: 2 } as const;
/** ENOENT, EOPNOTSUPP, EPROTONOSUPPORT, EAFNOSUPPORT: nothing there to read. */
const NOTHING_THERE = new Set([2, 95, 93, 97]);

export interface RuleExpression {
  /** "meta", "cmp", "payload", "lookup", "bitwise", "masq", ... */
  name: string;
  /** NFTA_<NAME>_* attributes by type (nested ones still encoded). */
  attrs: Map<number, Buffer>;
}

function decodeExpressions(list: Buffer): RuleExpression[] {
  const out: RuleExpression[] = [];
  parseAttributes(list, (item) => {
    if (item.type !== NFTA_LIST_ELEM) return;
    const attrs = decodeAttrs(item.data);
    const name = attrs.get(EXPR.NAME);
    const data = attrs.get(EXPR.DATA);
    out.push({ name: name ? cString(name) : '', attrs: data ? decodeAttrs(data) : new Map() });
  });
  return out;
}

/** The rules of `chain` in order, each as its expressions; empty when the chain does not exist. */
export async function nftChainRules(
  family: NftFamily,
  table: string,
  chain: string,
): Promise<RuleExpression[][]> {
  const body = Buffer.concat([
    Buffer.from([NFPROTO[family], 0, 0, 0]),
    encodeAttrs([
      [RULE.TABLE, str(table)],
      [RULE.CHAIN, str(chain)],
    ]),
  ]);
  let replies: Array<{ type: number; data: Buffer }>;
  try {
    [replies] = await withNfnlSocket((socket) =>
      socket.request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, body, {
        flags: NLM_F_DUMP,
        checkError: false,
      }),
    );
  } catch (e) {
    if (e instanceof NfnlUnavailable) return [];
    const errno = (e as { errno?: unknown }).errno;
    if (typeof errno === 'number' && NOTHING_THERE.has(Math.abs(errno))) return [];
    throw e;
  }
  const rules: RuleExpression[][] = [];
  for (const reply of replies) {
    if (reply.type === NLMSG_ERROR) {
      const errno = readErrno(reply.data);
      if (NOTHING_THERE.has(errno)) return [];
      if (errno !== 0) throw new NetlinkError('NFT_MSG_GETRULE', errno);
      continue;
    }
    if ((reply.type & 0xff) !== NFT_MSG_NEWRULE) continue;
    const attrs = decodeAttrs(reply.data.subarray(4));
    // A dump of a table with this chain's name in another family is filtered by family already.
    if (cString(attrs.get(RULE.CHAIN) ?? Buffer.alloc(0)) !== chain) continue;
    const list = attrs.get(RULE.EXPRESSIONS);
    rules.push(list ? decodeExpressions(list) : []);
  }
  return rules;
}
