/**
 * Existence probes for nftables objects over nfnetlink: "is there a chain X in table T?" in
 * well under a millisecond, without spawning `nft`. DEL uses them to skip cleanup of things a
 * network never had (mac spoof chains, iptables-nft masquerade chains), so the common DEL
 * spawns no more tools than it needs. Read-only; nfnl-batch.ts writes.
 */
import { NetlinkError } from './errors.ts';
import { NfnlUnavailable, withNfnlSocket } from './nfnl-socket.ts';
import { encodeAttrs, readErrno, str } from './rtnl-attrs.ts';

const NLMSG_ERROR = 2;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETCHAIN = 4;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;

/** ENOENT, EOPNOTSUPP, EPROTONOSUPPORT, EAFNOSUPPORT. */
const NOTHING_THERE = new Set([2, 95, 93, 97]);

/** nftables address families (NFPROTO_*). */
export const NFPROTO = { inet: 1, ip: 2, bridge: 7, ip6: 10 } as const;
export type NftFamily = keyof typeof NFPROTO;

/** Whether chain `chain` exists in table `table` of `family` (false when nf_tables is not loaded). */
export async function nftChainExists(family: NftFamily, table: string, chain: string): Promise<boolean> {
  // struct nfgenmsg: family, version NFNETLINK_V0, res_id (big endian) 0.
  const header = Buffer.from([NFPROTO[family], 0, 0, 0]);
  const body = Buffer.concat([
    header,
    encodeAttrs([
      [NFTA_CHAIN_TABLE, str(table)],
      [NFTA_CHAIN_NAME, str(chain)],
    ]),
  ]);
  let replies: Array<{ type: number; data: Buffer }>;
  try {
    [replies] = await withNfnlSocket((socket) =>
      socket.request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, body, { checkError: false }),
    );
  } catch (e) {
    if (e instanceof NfnlUnavailable) return false;
    throw e;
  }
  for (const reply of replies) {
    if (reply.type !== NLMSG_ERROR) return true;
    const errno = readErrno(reply.data);
    // ENOENT: no such table or chain; the others: nf_tables is not in this kernel.
    if (NOTHING_THERE.has(errno)) return false;
    if (errno !== 0) throw new NetlinkError('NFT_MSG_GETCHAIN', errno);
  }
  return false;
}
