/**
 * Kept NETLINK_NETFILTER sockets (linux/nfnl-socket.ts, the agent's mode) against the real
 * kernel: transactions and reads reuse a socket; concurrent transactions with different outcomes
 * each get their own; late replies of an earlier use do not count for the next; a socket closed
 * underneath is replaced; kept sockets belong to the host namespace even
 * when asked for inside a container's. Tables are uniquely named and removed after each test.
 * This file's process keeps its sockets (vitest runs each file in its own process).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeNetns, inNetns, openNetns } from '../../linux/namespace.ts';
import { nftChainExists } from '../../linux/nfnl.ts';
import { NftBatchError, nftTransaction } from '../../linux/nfnl-batch.ts';
import { nftChainRules } from '../../linux/nfnl-rules.ts';
import {
  encodeConcat,
  nftGetSetElements,
  nftSetElements,
  setElementMessage,
} from '../../linux/nfnl-setelem.ts';
import { keepNfnlSockets, withNfnlSocket } from '../../linux/nfnl-socket.ts';
import { isRoot, KernelScratch, sh, uniqueName } from '../support/kernel.ts';

const scratch = new KernelScratch();
afterEach(() => scratch.cleanup());

/** A table with a set of IPv4 addresses and a chain with one rule. */
function table(): string {
  const name = uniqueName('ctk');
  scratch.nftTable('inet', name);
  sh(
    'nft',
    ['-f', '-'],
    `table inet ${name} {
  set s { type ipv4_addr; }
  chain c { ip saddr @s counter accept; }
}
`,
  );
  return name;
}

const key = (address: string) => encodeConcat([address], ['ipv4']);
const add = (t: string, address: string) =>
  setElementMessage('add', 'inet', t, 's', { key: key(address), comment: 'kept' }, true);
const del = (t: string, address: string) =>
  setElementMessage('delete', 'inet', t, 's', { key: key(address) });

async function addresses(t: string): Promise<string[]> {
  return (await nftSetElements('inet', t, 's')).map((e) => [...e.key].join('.')).sort();
}

/** The socket the next sequential use gets. */
const nextSocket = () => withNfnlSocket(async (socket) => socket);

/** Send a GETCHAIN for a chain that does not exist and do not wait for its ENOENT reply. */
function leaveLateError(socket: Awaited<ReturnType<typeof nextSocket>>, t: string): void {
  const name = (s: string) => Buffer.from(`${s}\0`);
  const attr = (type: number, data: Buffer) => {
    const b = Buffer.alloc((4 + data.length + 3) & ~3);
    b.writeUInt16LE(4 + data.length, 0);
    b.writeUInt16LE(type, 2);
    data.copy(b, 4);
    return b;
  };
  const body = Buffer.concat([Buffer.from([1, 0, 0, 0]), attr(1, name(t)), attr(3, name('missing'))]);
  // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETCHAIN, NLM_F_REQUEST | NLM_F_ACK.
  socket.send((10 << 8) | 4, body, { flags: 0x1 | 0x4 });
}

beforeAll(() => {
  if (isRoot) keepNfnlSockets();
});

describe.skipIf(!isRoot)('kept nfnetlink sockets', () => {
  it('serve transactions and reads one after another on the same socket', async () => {
    const t = table();
    const first = await nextSocket();
    await nftTransaction([add(t, '10.1.0.1'), add(t, '10.1.0.2')]);
    expect(await addresses(t)).toEqual(['10.1.0.1', '10.1.0.2']);
    const found = await nftGetSetElements('inet', t, [{ set: 's', key: key('10.1.0.2') }]);
    expect(found.map((e) => e.comment)).toEqual(['kept']);
    expect(await nftChainExists('inet', t, 'c')).toBe(true);
    expect(await nftChainExists('inet', t, 'missing')).toBe(false);
    expect((await nftChainRules('inet', t, 'c')).length).toBe(1);
    await nftTransaction([del(t, '10.1.0.1')]);
    await expect(nftTransaction([del(t, '10.1.0.1')])).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await addresses(t)).toEqual(['10.1.0.2']);
    expect(await nextSocket()).toBe(first);
  });

  it('gives concurrent transactions their own outcomes, on sockets of their own', async () => {
    const t = table();
    await nftTransaction([add(t, '10.2.0.1')]);
    const sockets = await Promise.all([nextSocket(), nextSocket(), nextSocket()]);
    expect(new Set(sockets).size).toBe(3);
    const outcomes = await Promise.allSettled([
      nftTransaction([del(t, '10.2.0.99')]),
      nftTransaction([add(t, '10.2.0.2')]),
      nftTransaction([add(t, '10.2.0.1')]),
      nftTransaction([add(t, '10.2.0.3'), del(t, '10.2.0.1')]),
      nftTransaction([del(t, '10.2.0.98'), add(t, '10.2.0.4')]),
    ]);
    const codes = outcomes.map((o) =>
      o.status === 'fulfilled' ? 'ok' : o.reason instanceof NftBatchError ? o.reason.code : String(o.reason),
    );
    expect(codes).toEqual(['ENOENT', 'ok', 'EEXIST', 'ok', 'ENOENT']);
    // A failing transaction applied nothing (10.2.0.4 is not there).
    expect(await addresses(t)).toEqual(['10.2.0.2', '10.2.0.3']);
  });

  it('does not count a late reply of an earlier use as the next transaction`s answer', async () => {
    const t = table();
    const socket = await nextSocket();
    // The ENOENT reply is queued in the kernel when send returns; the transaction that follows
    // on the same socket reads it among its own replies.
    await withNfnlSocket(async (s) => leaveLateError(s, t));
    await nftTransaction([add(t, '10.3.0.1')]);
    expect(await nextSocket()).toBe(socket);
    expect(await addresses(t)).toEqual(['10.3.0.1']);
  });

  it('replaces a socket closed underneath, in use or idle', async () => {
    const t = table();
    await withNfnlSocket(async (s) => s.close());
    const fresh = await nextSocket();
    await nftTransaction([add(t, '10.4.0.1')]);
    expect(await nextSocket()).toBe(fresh);
    fresh.close();
    await nftTransaction([add(t, '10.4.0.2')]);
    expect(await nextSocket()).not.toBe(fresh);
    expect(await addresses(t)).toEqual(['10.4.0.1', '10.4.0.2']);
  });

  it('makes kept sockets in the host namespace when asked inside a container`s', async () => {
    const t = table();
    const ns = openNetns(scratch.namespace('ctk').path);
    try {
      // More at once than the pool holds idle: some of these make new sockets.
      const asked = inNetns(ns, () => Array.from({ length: 12 }, () => nftChainExists('inet', t, 'c')));
      expect(await Promise.all(asked)).toEqual(Array(12).fill(true));
      await nftTransaction([add(t, '10.6.0.1')]);
      expect(await addresses(t)).toEqual(['10.6.0.1']);
    } finally {
      closeNetns(ns);
    }
  });
});
