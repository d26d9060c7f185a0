// The pure parts of port forwarding and bandwidth limits: which forwardings mappings mean for
// a container's families, the conditions' translation, the forwarding records DEL and CHECK
// read back, the reference's token bucket arithmetic and the tc message codec. No kernel.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nftConditions, parseConditions } from '../../linux/portmap-conditions.ts';
import { decodeConcat, encodeConcat } from '../../linux/nfnl-setelem.ts';
import { forwardingComment, parseForwardingComment } from '../../linux/portmap-iptables.ts';
import { forwardingAddCommands } from '../../linux/portmap-nft.ts';
import { decodeTbf, decodeTcMsg, encodeTcMsg, tbfOptions } from '../../linux/tc.ts';
import { tbfBurstBits, tbfParams, tickInUsec } from '../../linux/tbf.ts';
import { encodeAttrs } from '../../linux/rtnl-attrs.ts';
import { PlatformError } from '../../platform/errors.ts';
import { missingForwardings, planForwardings } from '../../platform/port-forwarding.ts';

const tcp80 = { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const };

describe('planForwardings', () => {
  it('forwards to the first address of each family the container has (IPv4-only: IPv4 only)', () => {
    expect(planForwardings([tcp80], ['10.1.0.5/24', '10.1.0.6/24'])).toEqual([
      { ...tcp80, family: 4, containerIp: '10.1.0.5' },
    ]);
    expect(planForwardings([tcp80], ['10.1.0.5/24', 'FD00::0005/64']).map((f) => f.containerIp)).toEqual([
      '10.1.0.5',
      'fd00::5',
    ]);
  });

  it('restricts a hostIP (also 0.0.0.0 and ::) to its own family', () => {
    const both = ['10.1.0.5/24', 'fd00::5/64'];
    expect(planForwardings([{ ...tcp80, hostIp: '0.0.0.0' }], both).map((f) => f.family)).toEqual([4]);
    expect(planForwardings([{ ...tcp80, hostIp: '::' }], both).map((f) => f.family)).toEqual([6]);
    expect(planForwardings([{ ...tcp80, hostIp: 'fd00::1' }], ['10.1.0.5/24'])).toEqual([]);
  });

  it('refuses one host port mapped to two container ports', () => {
    expect(() => planForwardings([tcp80, { ...tcp80, containerPort: 81 }], ['10.1.0.5/24'])).toThrow(
      PlatformError,
    );
    expect(planForwardings([tcp80, tcp80], ['10.1.0.5/24'])).toHaveLength(1);
  });

  it('reports exactly the forwardings that are not installed', () => {
    const planned = planForwardings([tcp80, { ...tcp80, protocol: 'udp' }], ['10.1.0.5/24']);
    const installed = [{ ...tcp80, containerIp: '10.1.0.5' }];
    expect(missingForwardings(planned, installed).map((f) => f.protocol)).toEqual(['udp']);
  });
});

describe('port forwarding conditions', () => {
  it('translates the reference iptables matches to nft', () => {
    const parsed = parseConditions(['-s', '10.0.0.0/8,192.168.0.1', '!', '-i', 'docker+'], 4);
    expect(nftConditions(parsed, 4)).toBe('ip saddr { 10.0.0.0/8, 192.168.0.1 } iifname != "docker*"');
    expect(nftConditions(parseConditions(['!', '-d', 'fd00::/8'], 6), 6)).toBe('ip6 daddr != fd00::/8');
  });

  it('refuses anything it cannot translate safely, naming it', () => {
    expect(() => parseConditions(['-m', 'comment'], 4)).toThrow(/cannot use "-m"/);
    expect(() => parseConditions(['-s', '10.0.0.0/8; flush ruleset'], 4)).toThrow(/not an address/);
    expect(() => parseConditions(['-s', 'fd00::1'], 4)).toThrow(/not an IPv4 address/);
    expect(() => parseConditions(['-i', 'a"b'], 4)).toThrow(/not an interface name/);
  });
});

describe('forwarding batches and records', () => {
  const planned = planForwardings(
    [tcp80, { hostPort: 53, containerPort: 5353, protocol: 'udp', hostIp: 'fd00::1' }],
    ['10.1.0.5/24', 'fd00::5/64'],
  );

  it('nftables: one owned map element per forwarding, no per-container chain or set', () => {
    const commands = forwardingAddCommands('net', { containerId: 'c', ifname: 'eth0' }, planned, {
      snat: true,
      conditions: { 4: parseConditions(['-s', '10.0.0.0/8'], 4), 6: [] },
    });
    const owned = commands.filter((c) => /^add element .* comment "[0-9a-f]{16}" /.test(c));
    expect(owned).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/pm-ports4 \{ tcp \. 8080 comment "\w+" : 10\.1\.0\.5 \. 80 \}/),
        expect.stringMatching(/pm-ports6 \{ tcp \. 8080 comment "\w+" : fd00::5 \. 80 \}/),
        expect.stringMatching(/pm-hostips6 \{ fd00::1 \. udp \. 53 comment "\w+" : fd00::5 \. 5353 \}/),
        expect.stringContaining('pm-hairpin4 { 10.1.0.5 . 10.1.0.5 comment'),
        expect.stringContaining('pm-local4 { 10.1.0.5 comment'),
      ]),
    );
    expect(commands.filter((c) => /^add (chain|set|map) /.test(c) && /pm-[0-9a-f]{16}/.test(c))).toEqual([]);
    expect(commands).toContain(
      `add rule inet ${commands[0]!.split(' ')[3]} pm-dnat meta nfproto ipv4 ip saddr 10.0.0.0/8 dnat ip to meta l4proto . th dport map @pm-ports4`,
    );
  });

  it('iptables: every DNAT rule comment reads back as its forwarding', () => {
    expect(planned.map(forwardingComment).map(parseForwardingComment)).toEqual(planned);
    expect(parseForwardingComment('pm 4 icmp 1 - 10.0.0.1 1')).toBeUndefined();
    expect(parseForwardingComment('something else')).toBeUndefined();
  });
});

describe('nf_tables concatenated keys', () => {
  it('encode and decode as nft writes them, each field in a 4-byte register', () => {
    const key = encodeConcat(['fd00::1', 'udp', '53'], ['ipv6', 'proto', 'port']);
    expect(key.toString('hex')).toBe(`fd000000000000000000000000000001${'11000000'}${'00350000'}`);
    expect(decodeConcat(key, ['ipv6', 'proto', 'port'])).toEqual(['fd00::1', 'udp', '53']);
    expect(decodeConcat(key, ['ipv4', 'port'])).toBeUndefined();
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.constantFrom('tcp', 'udp', 'sctp'),
        fc.integer({ min: 1, max: 65535 }),
        (ip, proto, port) => {
          const values = [ip, proto, String(port)];
          expect(
            decodeConcat(encodeConcat(values, ['ipv4', 'proto', 'port']), ['ipv4', 'proto', 'port']),
          ).toEqual(values);
        },
      ),
    );
  });
});

describe('token bucket parameters', () => {
  it("match the reference plugin's arithmetic", () => {
    // 8 Mbit/s with an 80 kbit bucket: 1 MB/s, 10 ms of bucket, 25 ms of queue plus the bucket.
    const params = tbfParams(8_000_000, 80_000);
    expect(params).toEqual({
      rateBytes: 1_000_000,
      bufferTicks: Math.floor(10_000 * tickInUsec()),
      limitBytes: 35_000,
    });
    expect(tbfBurstBits(params)).toBe(80_000);
  });

  it('read back a burst within a microsecond of traffic', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8_000, max: 40_000_000_000 }),
        fc.integer({ min: 8_000, max: 2 ** 34 }),
        (rate, burst) => {
          const params = tbfParams(rate, burst);
          fc.pre(params.bufferTicks < 0xffffffff);
          const slackBits = 8 * (Math.ceil((rate / 8 / 1e6) * 1.1) + 1);
          expect(Math.abs(tbfBurstBits(params) - Math.floor(burst / 8) * 8)).toBeLessThanOrEqual(slackBits);
        },
      ),
    );
  });
});

describe('tc messages', () => {
  it('round-trip a tbf qdisc, 64-bit rates included', () => {
    for (const rateBytes of [125_000, 2 ** 33]) {
      const params = { rateBytes, limitBytes: 4096, bufferTicks: 156_250 };
      const body = encodeTcMsg({ ifindex: 7, handle: 0x10000, parent: 0xffffffff }, [
        [1, Buffer.from('tbf\0')],
        [2, tbfOptions(params)],
      ]);
      const decoded = decodeTcMsg(body);
      expect(decoded).toMatchObject({ ifindex: 7, handle: 0x10000, parent: 0xffffffff, kind: 'tbf' });
      expect(decodeTbf(decoded.options!)).toEqual(params);
    }
    expect(decodeTbf(encodeAttrs([[1, Buffer.alloc(4)]]))).toBeUndefined();
  });
});
