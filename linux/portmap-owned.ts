/**
 * Does an attachment own any element of a network's port forwarding maps and sets? Answered
 * from dumps of those maps and sets over nfnetlink, by searching each reply's raw bytes for
 * the comment user data an owned element carries (NFTNL_UDATA_SET_ELEM_COMMENT with the
 * attachment's hash) instead of decoding every element: ADD asks this every time, so a
 * repeated ADD can replace what an earlier one made, and decoding tens of thousands of
 * elements in JavaScript would make every ADD on a large network slow (measured: ~1 ms per
 * 100 containers decoded, far less scanned). Only an ADD whose attachment owns something
 * decodes the elements (portmap-nft.ts attachmentElements). Read-only.
 */
import { createNetlink } from 'netlink/dist/netlink';
import { NetlinkError } from './errors.ts';
import { NFPROTO } from './nfnl.ts';
import { encodeAttrs, readErrno, str } from './rtnl-attrs.ts';

const NETLINK_NETFILTER = 12;
const NLMSG_ERROR = 2;
const NLM_F_DUMP = 0x300;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETSETELEM = 13;
const LIST = { TABLE: 1, SET: 2 } as const;
/** libnftnl's user data TLV type for an element comment (NFTNL_UDATA_SET_ELEM_COMMENT). */
const UDATA_ELEM_COMMENT = 0;
/** ENOENT: no such table or set; the others: nf_tables is not in this kernel. */
const NOTHING_THERE = new Set([2, 95, 93, 97]);

/** The user data bytes of an element whose comment is `comment`, as libnftnl writes them. */
function commentUserdata(comment: string): Buffer {
  const text = Buffer.from(`${comment}\0`, 'utf8');
  return Buffer.concat([Buffer.from([UDATA_ELEM_COMMENT, text.length]), text]);
}

/** Whether a dump of inet `table`'s set `set` holds an element with comment `comment`. */
async function setHasComment(table: string, set: string, needle: Buffer): Promise<boolean> {
  let socket: ReturnType<typeof createNetlink>;
  try {
    socket = createNetlink(NETLINK_NETFILTER);
  } catch {
    return false;
  }
  try {
    const body = Buffer.concat([
      Buffer.from([NFPROTO.inet, 0, 0, 0]),
      encodeAttrs([
        [LIST.TABLE, str(table)],
        [LIST.SET, str(set)],
      ]),
    ]);
    let replies: Array<{ type: number; data: Buffer }>;
    try {
      [replies] = await socket.request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, body, {
        flags: NLM_F_DUMP,
        checkError: false,
      });
    } catch (e) {
      const errno = (e as { errno?: unknown }).errno;
      if (typeof errno === 'number' && NOTHING_THERE.has(Math.abs(errno))) return false;
      throw e;
    }
    for (const reply of replies) {
      if (reply.type === NLMSG_ERROR) {
        const errno = readErrno(reply.data);
        if (NOTHING_THERE.has(errno)) return false;
        if (errno !== 0) throw new NetlinkError('NFT_MSG_GETSETELEM', errno);
        continue;
      }
      // A false match (the bytes inside a key) only costs the full read that follows.
      if (reply.data.includes(needle)) return true;
    }
    return false;
  } finally {
    socket.close();
  }
}

/** Whether any of `sets` of inet `table` holds an element with comment `comment`. */
export async function ownsAnyElement(table: string, sets: string[], comment: string): Promise<boolean> {
  const needle = commentUserdata(comment);
  const found = await Promise.all(sets.map((set) => setHasComment(table, set, needle)));
  return found.some(Boolean);
}
