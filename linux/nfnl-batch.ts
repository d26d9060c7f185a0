/**
 * Writing to nf_tables over nfnetlink without spawning `nft`: one transaction, framed as nft
 * frames it (NFNL_MSG_BATCH_BEGIN, the nf_tables messages, NFNL_MSG_BATCH_END, in one
 * sendmsg), that the kernel applies atomically or not at all. Every message asks for an ACK,
 * so each answers for itself; a GETGEN request sent after the batch is the barrier: its reply
 * comes after every reply to the batch (the kernel processes the batch inside sendmsg and
 * answers in order), so no timeout is needed. Raw transport: callers build the messages.
 * Replies count by sequence number, and the socket is the caller's alone (nfnl-socket.ts), so
 * concurrent transactions each get their own outcome.
 */
import type { NetlinkSocket } from 'netlink/dist/netlink';
import { NetlinkError } from './errors.ts';
import { NFPROTO, type NftFamily } from './nfnl.ts';
import { NfnlUnavailable, withNfnlSocket } from './nfnl-socket.ts';
import { type Attr, encodeAttrs, readErrno, writeHostU16, writeHostU32 } from './rtnl-attrs.ts';

const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETGEN = 16;

export const NFT_MSG = { NEWSETELEM: 12, DELSETELEM: 14 } as const;
export const NLM_F_CREATE = 0x400;
export const NLM_F_EXCL = 0x200;

export interface NftMessage {
  /** NFT_MSG_* */
  type: number;
  /** NLM_F_* besides REQUEST and ACK (e.g. CREATE, EXCL). */
  flags: number;
  family: NftFamily;
  attrs: Attr[];
  /** Names the message in errors, e.g. "add element inet t masq4". */
  what: string;
}

/** The kernel refused a batch: the errno of the first message that failed, and which one. */
export class NftBatchError extends NetlinkError {
  constructor(
    readonly failed: NftMessage | undefined,
    errno: number,
  ) {
    super(failed ? failed.what : 'nf_tables batch', errno);
  }
}

function frame(type: number, flags: number, seq: number, port: number, body: Buffer): Buffer {
  // struct nlmsghdr, host order: len, type, flags, seq, pid.
  const header = Buffer.alloc(16);
  writeHostU32(header, 0, 16 + body.length);
  writeHostU16(header, 4, type);
  writeHostU16(header, 6, flags);
  writeHostU32(header, 8, seq);
  writeHostU32(header, 12, port);
  return Buffer.concat([header, body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
}

/** struct nfgenmsg: family, NFNETLINK_V0, res_id (big endian). */
function nfgenmsg(family: number, resId: number): Buffer {
  const b = Buffer.from([family, 0, 0, 0]);
  b.writeUInt16BE(resId, 2);
  return b;
}

function sendRaw(socket: NetlinkSocket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.socket.send(data, undefined, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Apply `messages` as one nf_tables transaction. Resolves when the kernel committed it; throws
 * NftBatchError with the first failing message's errno (ENOENT: a table, set or element it
 * names does not exist; EEXIST: ...), in which case nothing was applied.
 */
export async function nftTransaction(messages: NftMessage[]): Promise<void> {
  if (!messages.length) return;
  try {
    await withNfnlSocket((socket) => applyBatch(socket, messages));
  } catch (e) {
    if (e instanceof NfnlUnavailable) throw new NftBatchError(undefined, e.errno);
    throw e;
  }
}

async function applyBatch(socket: NetlinkSocket, messages: NftMessage[]): Promise<void> {
  const port = socket.address().port;
  const begin = socket.generateSeq();
  // Every sequence number of this batch: a kept socket may still receive late replies of an
  // earlier use, and those are not this batch's answers.
  const bySeq = new Map<number, NftMessage | undefined>([[begin, undefined]]);
  const parts = [frame(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin, port, nfgenmsg(0, NFNL_SUBSYS_NFTABLES))];
  for (const message of messages) {
    const seq = socket.generateSeq();
    bySeq.set(seq, message);
    const body = Buffer.concat([nfgenmsg(NFPROTO[message.family], 0), encodeAttrs(message.attrs)]);
    parts.push(
      frame(
        (NFNL_SUBSYS_NFTABLES << 8) | message.type,
        NLM_F_REQUEST | NLM_F_ACK | message.flags,
        seq,
        port,
        body,
      ),
    );
  }
  const end = socket.generateSeq();
  bySeq.set(end, undefined);
  parts.push(frame(NFNL_MSG_BATCH_END, NLM_F_REQUEST, end, port, nfgenmsg(0, NFNL_SUBSYS_NFTABLES)));

  // Replies to the batch have no pending request in the socket layer: they arrive as events.
  let failure: NftBatchError | undefined;
  const onMessage = (replies: Array<{ type: number; seq: number; data: Buffer }>) => {
    for (const reply of replies) {
      if (reply.type !== NLMSG_ERROR || !bySeq.has(reply.seq)) continue;
      const errno = readErrno(reply.data);
      if (errno === 0 || failure) continue;
      // An error on BATCH_BEGIN itself (no nf_tables, a bad batch) names no message.
      failure = new NftBatchError(bySeq.get(reply.seq), errno);
    }
  };
  socket.on('message', onMessage);
  try {
    await sendRaw(socket, Buffer.concat(parts));
    // The barrier: a plain request after the batch, answered after all of the batch's replies.
    await socket.request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, nfgenmsg(0, 0), {
      checkError: false,
    });
  } finally {
    socket.off('message', onMessage);
  }
  if (failure) throw failure;
}
