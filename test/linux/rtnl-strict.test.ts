/**
 * Strict netlink checking on the real kernel: with it, an address dump asks the kernel for one
 * link's addresses, so RtnlSocket.addresses costs the same however many interfaces the host has.
 * Run in a scratch namespace holding many links.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openNetlinkIn, openNetns, closeNetns } from '../../linux/namespace.ts';
import { encodeAddress, decodeAddress } from '../../linux/rtnl-codec.ts';
import { NLM_F, RTM } from '../../linux/rtnl-constants.ts';
import { isRoot, KernelScratch, sh, skipReason } from '../support/kernel.ts';

const scratch = new KernelScratch();
afterEach(() => scratch.cleanup());

describe.skipIf(!isRoot)(`strict netlink address dumps (${skipReason})`, () => {
  it('returns one link addresses, and the kernel itself filters the dump', async () => {
    const ns = scratch.namespace('cts');
    const script = Array.from({ length: 20 }, (_, i) =>
      [
        `link add d${i} type bridge`,
        `addr add 10.77.${i}.1/24 dev d${i}`,
        `addr add fd77:${i}::1/64 dev d${i}`,
        `link set d${i} up`,
      ].join('\n'),
    ).join('\n');
    sh('ip', ['-n', ns.name, '-batch', '-'], `${script}\n`);
    const index = Number(sh('ip', ['netns', 'exec', ns.name, 'cat', '/sys/class/net/d7/ifindex']).trim());
    const netns = openNetns(ns.path);
    const sock = openNetlinkIn(netns);
    try {
      const all = await sock.addresses(index);
      const text = all.map((a) => `${a.address.family}:${a.prefixLength}`).sort();
      expect(all.every((a) => a.index === index)).toBe(true);
      expect(text).toEqual(expect.arrayContaining(['4:24', '6:64']));
      expect((await sock.addresses(index, 10)).every((a) => a.family === 6)).toBe(true);
      // After addresses() turned strict checking on, a raw dump with ifa_index gets only that
      // link's addresses back: the filtering happened in the kernel.
      const raw = await sock.request(
        RTM.GETADDR,
        encodeAddress({ family: 0, prefixLength: 0, index }),
        NLM_F.DUMP,
      );
      const indexes = new Set(raw.map((r) => decodeAddress(r)?.index));
      expect([...indexes]).toEqual([index]);
      // A link that does not exist has no addresses (strict checking answers ENODEV).
      expect(await sock.addresses(999_999)).toEqual([]);
    } finally {
      sock.close();
      closeNetns(netns);
    }
  });
});
