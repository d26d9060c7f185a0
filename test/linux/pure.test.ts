/**
 * The pure parts of the Linux backend, no kernel needed: netlink attribute framing, nft names
 * and batches built from untrusted network names, NAT exception normalisation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { macSpoofAddCommands } from '../../linux/mac-spoof.ts';
import { addressesByFamily, exceptionSet, networkTable } from '../../linux/netfilter-names.ts';
import { masqueradeAddCommands } from '../../linux/netfilter-nft.ts';
import { nftString } from '../../linux/nft.ts';
import { decodeLink, encodeLink } from '../../linux/rtnl-codec.ts';
import {
  decodeAttrs,
  encodeAttrs,
  ipBytes,
  ipFromBytes,
  macBytes,
  macText,
  NLA_F_NESTED,
  str,
  u32,
} from '../../linux/rtnl-attrs.ts';
import { IFLA, IFLA_INFO } from '../../linux/rtnl-constants.ts';
import { parseIp } from '../../platform/cidr.ts';

describe('rtnetlink attribute framing', () => {
  it('pads every attribute to 4 bytes and keeps the nested flag', () => {
    const bytes = encodeAttrs([
      [IFLA.IFNAME, str('eth0')],
      [IFLA.PROTINFO | NLA_F_NESTED, [[4, Buffer.from([1])]]],
    ]);
    // "eth0\0" is 5 bytes: 4 header + 5 + 3 pad = 12; nested: 4 + (4 + 1 + 3) = 12.
    expect(bytes.length).toBe(24);
    expect(bytes.readUInt16LE(12 + 2)).toBe(IFLA.PROTINFO | NLA_F_NESTED);
    expect(decodeAttrs(bytes).get(IFLA.PROTINFO)).toEqual(Buffer.from([5, 0, 4, 0, 1, 0, 0, 0]));
  });

  it('decodes what it encodes for a link', () => {
    const body = encodeLink({ index: 7, flags: 1 }, [
      [IFLA.IFNAME, str('veth0a1b2c3d')],
      [IFLA.MTU, u32(1400)],
      [IFLA.ADDRESS, macBytes('0a:58:0a:00:00:05')],
      [IFLA.LINKINFO, [[IFLA_INFO.KIND, str('veth')]]],
    ]);
    expect(decodeLink(body)).toMatchObject({
      index: 7,
      flags: 1,
      name: 'veth0a1b2c3d',
      mtu: 1400,
      mac: '0a:58:0a:00:00:05',
      kind: 'veth',
    });
  });

  it('round-trips IP addresses and MACs through bytes', () => {
    for (const text of ['10.1.2.3', 'fd00::5', '::', '255.255.255.255']) {
      const ip = parseIp(text)!;
      expect(ipFromBytes(ipBytes(ip))).toEqual(ip);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (raw) => {
        const mac = macText(Buffer.from(raw));
        expect(macBytes(mac)).toEqual(Buffer.from(raw));
      }),
    );
  });
});

describe('netfilter names and batches', () => {
  it('names tables from a hash, never from the network name', () => {
    expect(networkTable('my net')).toMatch(/^crosscni_[0-9a-f]{12}$/);
    expect(networkTable('my net')).toBe(networkTable('my net'));
    expect(networkTable('my net')).not.toBe(networkTable('my net2'));
  });

  it('never lets a network name break out of a batch', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (network, containerId) => {
        const commands = [
          ...masqueradeAddCommands(
            network,
            { containerId, ifname: 'eth0' },
            ['10.0.0.5/24'],
            ['10.0.0.0/24'],
          ),
          ...macSpoofAddCommands(
            network,
            { containerId, ifname: 'eth0' },
            'veth01234567',
            '0a:58:0a:00:00:05',
          ),
        ];
        for (const command of commands) {
          expect(command).not.toContain('\n');
          // Quotes only delimit sanitised strings: nothing inside can end a string or a statement.
          expect((command.match(/"/g) ?? []).length % 2).toBe(0);
          for (const quoted of command.match(/"[^"]*"/g) ?? [])
            expect(quoted).toMatch(/^"[A-Za-z0-9 _.:,=+@-]*"$/);
        }
      }),
    );
    expect(nftString('a"b;c\n{d}')).toBe('"a_b_c__d_"');
  });

  it('normalises NAT exceptions: network form, nested prefixes merged, multicast added, per family', () => {
    expect(exceptionSet(['10.1.2.3/24', '10.0.0.0/8', 'fd00::5/64', 'bogus'], 4)).toEqual([
      '10.0.0.0/8',
      '224.0.0.0/4',
    ]);
    expect(exceptionSet(['10.1.2.3/24', 'fd00::5/64'], 6)).toEqual(['fd00::/64', 'ff00::/8']);
    expect(exceptionSet([], 4)).toEqual(['224.0.0.0/4']);
  });

  it('splits container addresses by family as plain IPs', () => {
    expect(addressesByFamily(['10.0.0.5/24', 'fd00::5/64', '10.0.0.6', '10.0.0.5/24', 'x'])).toEqual({
      4: ['10.0.0.5', '10.0.0.6'],
      6: ['fd00::5'],
    });
  });
});
