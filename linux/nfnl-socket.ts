/**
 * The NETLINK_NETFILTER sockets the nfnl readers and writers (nfnl.ts, nfnl-rules.ts,
 * nfnl-setelem.ts, nfnl-batch.ts) talk to nf_tables over.
 *
 * Why keeping them matters: closing such a socket shortly after nf_tables deleted something
 * (a set element, a chain) waits for an RCU grace period, 12-18 ms: on NETLINK_URELEASE the
 * kernel's nft_rcv_nl_event() flushes the transaction destroy work until the deleted object is
 * freed. A plugin exec pays that once, when it closes its socket or at the latest when it exits,
 * and nothing avoids it there: by default every use gets a socket of its own, closed afterwards.
 * A resident process (the agent) calls keepNfnlSockets() once at start; from then on sockets are
 * kept open and reused, so no request waits for a close.
 *
 * Each use has its socket to itself (a lease), also when kept: the kernel runs one dump per
 * socket at a time (a second one gets EBUSY) and the netlink package groups multipart replies
 * per socket, so concurrent requests of the agent never share one; idle ones wait in a pool.
 * A socket that fails (ENOBUFS: the kernel dropped replies; closed underneath) ends the use in
 * flight with that error and is replaced by a new one at the next use. (When poll reports an
 * overrun before a read does, the netlink package's native code aborts the process instead;
 * only a receive buffer far smaller than the default gets there with these short exchanges.)
 */
import { statSync } from 'node:fs';
import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink';
import { NetlinkError } from './errors.ts';

const NETLINK_NETFILTER = 12;
/** Idle kept sockets beyond this are closed (after a burst of concurrent requests). */
const MAX_IDLE = 8;
/** The calling thread's network namespace. */
const THREAD_NETNS = '/proc/thread-self/ns/net';

/** No NETLINK_NETFILTER socket could be made (errno: EAFNOSUPPORT, EPROTONOSUPPORT, EMFILE, ...). */
export class NfnlUnavailable extends Error {
  constructor(readonly errno: number) {
    super(`cannot open a NETLINK_NETFILTER socket (errno ${errno})`);
  }
}

/** A socket and whether it failed; `run` races a use against that failure. */
class Lease {
  failure: Error | undefined;
  private closed = false;
  private onFailure: ((e: Error) => void) | undefined;

  constructor(readonly socket: NetlinkSocket) {
    // Without a listener an 'error' event (ENOBUFS from recvmsg) would be an uncaught exception.
    socket.on('error', (e: Error) => this.fail(e));
    socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('NETLINK_NETFILTER socket closed'));
    });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.onFailure?.(e);
  }

  /** `use`, ended early by a failure of the socket (lost replies would otherwise never come). */
  async run<T>(use: (socket: NetlinkSocket) => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    const failed = new Promise<never>((_, reject) => {
      this.onFailure = reject;
    });
    const running = use(this.socket);
    // After a failure `running` may still reject (or never settle): that is not unhandled.
    running.catch(() => undefined);
    try {
      return await Promise.race([running, failed]);
    } catch (e) {
      // Anything but the kernel's answer to a request (a send error, a library error) leaves
      // the socket in a state nobody knows: do not reuse it.
      if (!(e instanceof NetlinkError)) this.failure ??= e as Error;
      throw e;
    } finally {
      this.onFailure = undefined;
    }
  }

  close(): void {
    this.onFailure = undefined;
    if (!this.closed) this.socket.close();
  }
}

function open(): Lease {
  try {
    return new Lease(createNetlink(NETLINK_NETFILTER));
  } catch (e) {
    const errno = (e as { errno?: unknown }).errno;
    throw new NfnlUnavailable(typeof errno === 'number' ? Math.abs(errno) : 97 /* EAFNOSUPPORT */);
  }
}

/** Set once keepNfnlSockets() was called: the namespace kept sockets must belong to. */
let keptIn: { dev: number; ino: number } | undefined;
const idle: Lease[] = [];

/**
 * From now on keep NETLINK_NETFILTER sockets open across uses instead of closing each after its
 * use. For a process that serves many invocations (the agent); call it in the host network
 * namespace, outside any namespace section. Idempotent.
 */
export function keepNfnlSockets(): void {
  const { dev, ino } = statSync(THREAD_NETNS);
  keptIn ??= { dev, ino };
}

/** A kept socket from the pool, or a new one made in the namespace keepNfnlSockets() saw. */
function leaseKept(kept: { dev: number; ino: number }): Lease {
  for (let lease = idle.pop(); lease; lease = idle.pop()) {
    if (!lease.failure) return lease;
    lease.close();
  }
  // Callers reach this after an await, so never inside linux/namespace.ts inNetns (synchronous
  // by contract); the check makes sure a kept socket never belongs to a container's namespace.
  const here = statSync(THREAD_NETNS);
  if (here.dev !== kept.dev || here.ino !== kept.ino) {
    throw new Error('a NETLINK_NETFILTER socket was asked for outside the host network namespace');
  }
  return open();
}

function giveBack(lease: Lease): void {
  if (lease.failure || idle.length >= MAX_IDLE) lease.close();
  else idle.push(lease);
}

/**
 * Run `use` with a NETLINK_NETFILTER socket of the host namespace that nobody else uses
 * meanwhile. The socket is closed afterwards, or kept for the next use after keepNfnlSockets().
 * `use` must match replies by sequence number: a kept socket may still receive late replies of
 * an earlier use. Throws NfnlUnavailable when no socket can be made.
 */
export async function withNfnlSocket<T>(use: (socket: NetlinkSocket) => Promise<T>): Promise<T> {
  const kept = keptIn;
  if (!kept) {
    const lease = open();
    try {
      return await lease.run(use);
    } finally {
      lease.close();
    }
  }
  // Leave any synchronous section of the caller (a namespace entered by inNetns) first.
  await Promise.resolve();
  const lease = leaseKept(kept);
  try {
    return await lease.run(use);
  } finally {
    giveBack(lease);
  }
}
