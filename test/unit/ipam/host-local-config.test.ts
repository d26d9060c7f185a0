// host-local configuration: every invalid config is refused with code 7 and a message naming
// the key at fault; valid ranges get the reference allocator's defaults.
import { describe, expect, it } from 'vitest';
import { formatCidr, formatIp } from '../../../platform/cidr.ts';
import { DEFAULT_DATA_DIR, parseHostLocalConfig } from '../../../plugins/host-local/config.ts';
import { canonicalizeRange } from '../../../plugins/host-local/range.ts';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { contextFor, hostLocalConfig, type Json } from './ipam-fixture.ts';

function parse(ipam: Json, extra: Json = {}, cniVersion = '1.1.0', env: Record<string, string> = {}) {
  return parseHostLocalConfig(contextFor(hostLocalConfig(ipam, extra, cniVersion), 'ADD', env));
}

/** The CniError that parsing `ipam` throws. */
function refusal(ipam: Json, extra: Json = {}, cniVersion = '1.1.0'): CniError {
  try {
    parse(ipam, extra, cniVersion);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error(`config was accepted: ${JSON.stringify(ipam)}`);
}

const set = (...ranges: Json[]) => ranges;

describe('host-local config: invalid ranges are refused with code 7, naming the key', () => {
  const cases: Array<[string, Json, string, RegExp?]> = [
    ['a subnet that is not CIDR', { ranges: [set({ subnet: '10.1.0.0' })] }, '"ipam.ranges[0][0].subnet"'],
    ['a subnet that is garbage', { ranges: [set({ subnet: 'ten/8' })] }, '"ipam.ranges[0][0].subnet"'],
    [
      'a subnet with host bits set',
      { ranges: [set({ subnet: '10.1.0.5/24' })] },
      '"ipam.ranges[0][0].subnet"',
      /host bits.*10\.1\.0\.0/,
    ],
    ['a /31', { ranges: [set({ subnet: '10.1.0.0/31' })] }, '"ipam.ranges[0][0].subnet"', /too small/],
    ['a /32', { ranges: [set({ subnet: '10.1.0.7/32' })] }, '"ipam.ranges[0][0].subnet"', /too small/],
    ['an IPv6 /127', { ranges: [set({ subnet: 'fd00::/127' })] }, '"ipam.ranges[0][0].subnet"', /too small/],
    ['an IPv6 /128', { ranges: [set({ subnet: 'fd00::1/128' })] }, '"ipam.ranges[0][0].subnet"', /too small/],
    [
      'a gateway outside the subnet',
      { ranges: [set({ subnet: '10.1.0.0/24', gateway: '10.1.1.1' })] },
      '"ipam.ranges[0][0].gateway"',
      /10\.1\.1\.1 is not in network 10\.1\.0\.0\/24/,
    ],
    [
      'a gateway that is not an address',
      { ranges: [set({ subnet: '10.1.0.0/24', gateway: '10.1.0' })] },
      '"ipam.ranges[0][0].gateway"',
    ],
    [
      'rangeStart outside the subnet',
      { ranges: [set({ subnet: '10.1.0.0/24', rangeStart: '10.2.0.10' })] },
      '"ipam.ranges[0][0].rangeStart"',
      /not in network/,
    ],
    [
      'rangeEnd outside the subnet',
      { ranges: [set({ subnet: '10.1.0.0/24', rangeEnd: '10.1.1.10' })] },
      '"ipam.ranges[0][0].rangeEnd"',
      /not in network/,
    ],
    [
      'rangeEnd of the other family',
      { ranges: [set({ subnet: '10.1.0.0/24', rangeEnd: 'fd00::10' })] },
      '"ipam.ranges[0][0].rangeEnd"',
    ],
    [
      'rangeStart after rangeEnd',
      { ranges: [set({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.50', rangeEnd: '10.1.0.40' })] },
      '"ipam.ranges[0][0].rangeStart"',
      /10\.1\.0\.50 is after rangeEnd 10\.1\.0\.40/,
    ],
    [
      'overlapping ranges within a set',
      {
        ranges: [
          set(
            { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20' },
            { subnet: '10.1.0.0/24', rangeStart: '10.1.0.20', rangeEnd: '10.1.0.30' },
          ),
        ],
      },
      '"ipam.ranges[0][1]"',
      /overlaps ipam\.ranges\[0\]\[0\]/,
    ],
    [
      'a range inside another range of the set',
      { ranges: [set({ subnet: '10.1.0.0/16' }, { subnet: '10.1.4.0/24' })] },
      '"ipam.ranges[0][1]"',
      /overlaps/,
    ],
    [
      'overlapping range sets',
      { ranges: [set({ subnet: '10.1.0.0/24' }), set({ subnet: '10.1.0.0/25' })] },
      '"ipam.ranges[1]"',
      /overlaps range set 0/,
    ],
    [
      'mixed families in one set',
      { ranges: [set({ subnet: '10.1.0.0/24' }, { subnet: 'fd00::/64' })] },
      '"ipam.ranges[0][1]"',
      /mixes IPv4 and IPv6/,
    ],
    ['an empty range set', { ranges: [[]] }, '"ipam.ranges[0]"'],
    ['no ranges at all', {}, '"ipam.ranges"'],
    ['a range set that is not an array', { ranges: [{ subnet: '10.1.0.0/24' }] }, '"ipam.ranges[0]"'],
    ['a subnet that is not a string', { ranges: [set({ subnet: 10 })] }, '"ipam.ranges[0][0].subnet"'],
    [
      'a relative dataDir',
      { ranges: [set({ subnet: '10.1.0.0/24' })], dataDir: 'var/lib/cni' },
      '"ipam.dataDir"',
    ],
    [
      'a dataDir climbing out with ".."',
      { ranges: [set({ subnet: '10.1.0.0/24' })], dataDir: '/var/lib/cni/../../etc' },
      '"ipam.dataDir"',
    ],
    [
      'a route with a negative mtu',
      { ranges: [set({ subnet: '10.1.0.0/24' })], routes: [{ dst: '0.0.0.0/0', mtu: -1 }] },
      '"ipam.routes[0].mtu"',
    ],
    [
      'a route without dst',
      { ranges: [set({ subnet: '10.1.0.0/24' })], routes: [{ gw: '10.1.0.1' }] },
      '"ipam.routes[0].dst"',
    ],
  ];

  it.each(cases)('%s', (_title, ipam, key, pattern) => {
    const error = refusal(ipam);
    expect(error.code).toBe(7);
    expect(error.msg).toContain(key);
    if (pattern) expect(error.msg).toMatch(pattern);
  });

  it('names the legacy top-level keys as the user wrote them', () => {
    const error = refusal({ subnet: '10.1.0.9/24' });
    expect(error.code).toBe(7);
    expect(error.msg).toContain('"ipam.subnet"');
    const gateway = refusal({ subnet: '10.1.0.0/24', gateway: '10.9.9.9' });
    expect(gateway.msg).toContain('"ipam.gateway"');
  });

  it('names the legacy range and the ranges list when they overlap', () => {
    const error = refusal({ subnet: '10.1.0.0/24', ranges: [set({ subnet: '10.1.0.0/24' })] });
    expect(error.code).toBe(7);
    expect(error.msg).toContain('"ipam.ranges[0]"');
    expect(error.msg).toContain('ipam.subnet');
  });

  it('names runtimeConfig.ipRanges when a runtime-supplied range is invalid', () => {
    const error = refusal(
      { ranges: [set({ subnet: '10.1.0.0/24' })] },
      { runtimeConfig: { ipRanges: [[{ subnet: '10.7.0.3/24' }]] } },
    );
    expect(error.code).toBe(7);
    expect(error.msg).toContain('"runtimeConfig.ipRanges[0][0].subnet"');
  });

  it('refuses a requested address that is not one (code 7, naming where it came from)', () => {
    const ipam = { ranges: [set({ subnet: '10.1.0.0/24' })] };
    expect(() => parse(ipam, {}, '1.1.0', { CNI_ARGS: 'IP=10.1.0.x' })).toThrow(/CNI_ARGS IP/);
    expect(() => parse(ipam, { args: { cni: { ips: ['nope'] } } })).toThrow(/args\.cni\.ips/);
    expect(() => parse(ipam, { runtimeConfig: { ips: ['10.1.0'] } })).toThrow(/runtimeConfig\.ips/);
    for (const ips of ['10.1.0.5', [5]]) {
      const error = refusal(ipam, { args: { cni: { ips } } });
      expect(error.code).toBe(7);
      expect(error.msg).toContain('"args.cni.ips"');
    }
  });

  it('refuses two range sets of one family at cniVersion 0.2.0, which has one address per family', () => {
    const ipam = { ranges: [set({ subnet: '10.1.0.0/24' }), set({ subnet: '10.2.0.0/24' })] };
    for (const version of ['0.1.0', '0.2.0']) {
      const error = refusal(ipam, {}, version);
      expect(error.code).toBe(1);
      expect(error.msg).toContain('more than 1 address per family');
    }
    expect(parse(ipam, {}, '0.3.0').rangeSets).toHaveLength(2);
    const dual = { ranges: [set({ subnet: '10.1.0.0/24' }), set({ subnet: 'fd00::/64' })] };
    expect(parse(dual, {}, '0.2.0').rangeSets).toHaveLength(2);
  });
});

describe('host-local config: defaults and accepted forms', () => {
  const text = (ipam: Json) =>
    parse(ipam).rangeSets.map((s) =>
      s.map((r) => ({
        subnet: formatCidr(r.subnet),
        rangeStart: formatIp(r.rangeStart),
        rangeEnd: formatIp(r.rangeEnd),
        gateway: formatIp(r.gateway),
      })),
    );

  it('IPv4: rangeStart = network+1, rangeEnd = broadcast-1, gateway = network+1', () => {
    expect(text({ ranges: [set({ subnet: '10.1.0.0/24' })] })).toEqual([
      [{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.1', rangeEnd: '10.1.0.254', gateway: '10.1.0.1' }],
    ]);
    expect(text({ ranges: [set({ subnet: '192.168.8.0/30' })] })).toEqual([
      [
        {
          subnet: '192.168.8.0/30',
          rangeStart: '192.168.8.1',
          rangeEnd: '192.168.8.2',
          gateway: '192.168.8.1',
        },
      ],
    ]);
  });

  it('IPv6: rangeEnd is the last address of the subnet (no broadcast)', () => {
    expect(text({ ranges: [set({ subnet: 'fd00:1::/120' })] })).toEqual([
      [{ subnet: 'fd00:1::/120', rangeStart: 'fd00:1::1', rangeEnd: 'fd00:1::ff', gateway: 'fd00:1::1' }],
    ]);
  });

  it('keeps explicit values and writes addresses canonically', () => {
    expect(
      text({
        ranges: [
          set({
            subnet: 'fd00:0:0:0::/64',
            rangeStart: 'fd00::0010',
            rangeEnd: 'fd00:0::20',
            gateway: 'fd00::00fe',
          }),
        ],
      }),
    ).toEqual([[{ subnet: 'fd00::/64', rangeStart: 'fd00::10', rangeEnd: 'fd00::20', gateway: 'fd00::fe' }]]);
  });

  it('canonicalizeRange applies the same defaults on its own', () => {
    const range = canonicalizeRange({ subnet: '172.16.0.0/12' }, 'r');
    expect(formatIp(range.rangeStart)).toBe('172.16.0.1');
    expect(formatIp(range.rangeEnd)).toBe('172.31.255.254');
    expect(formatIp(range.gateway)).toBe('172.16.0.1');
  });

  it('puts the legacy single range first, before "ranges"', () => {
    const sets = text({ subnet: '10.5.0.0/24', ranges: [set({ subnet: 'fd00::/64' })] });
    expect(sets.map((s) => s[0]!.subnet)).toEqual(['10.5.0.0/24', 'fd00::/64']);
  });

  it('puts runtimeConfig.ipRanges first, before the legacy range and "ranges" (prepended, as the reference)', () => {
    const config = parse(
      { subnet: '10.2.0.0/24', ranges: [set({ subnet: 'fd00::/64' })] },
      { runtimeConfig: { ipRanges: [[{ subnet: '10.9.0.0/24' }]] } },
    );
    expect(config.rangeSets.map((s) => formatCidr(s[0]!.subnet))).toEqual([
      '10.9.0.0/24',
      '10.2.0.0/24',
      'fd00::/64',
    ]);
    // With no configured ranges (the usual use of the capability) they are the only ones.
    const only = parse({}, { runtimeConfig: { ipRanges: [[{ subnet: '10.9.0.0/24' }]] } });
    expect(only.rangeSets.map((s) => formatCidr(s[0]!.subnet))).toEqual(['10.9.0.0/24']);
  });

  it('refuses runtimeConfig.ipRanges overlapping a configured range set, naming both (code 7)', () => {
    const error = refusal(
      { ranges: [set({ subnet: '10.9.0.0/24' })] },
      { runtimeConfig: { ipRanges: [[{ subnet: '10.9.0.0/25' }]] } },
    );
    expect(error.code).toBe(7);
    expect(error.msg).toContain('"ipam.ranges[0]"');
    expect(error.msg).toContain('runtimeConfig.ipRanges[0]');
  });

  it('counts one address asked for twice (CNI_ARGS and runtimeConfig) as one request', () => {
    const config = parse(
      { ranges: [set({ subnet: '10.1.0.0/24' })] },
      { runtimeConfig: { ips: ['10.1.0.7/24'] }, args: { cni: { ips: ['10.1.0.7'] } } },
      '1.1.0',
      { CNI_ARGS: 'IP=10.1.0.7' },
    );
    expect(config.requested.map(formatIp)).toEqual(['10.1.0.7']);
  });

  it('writes routes canonically (host bits kept) and keeps the 1.1.0 route fields', () => {
    const config = parse({
      ranges: [set({ subnet: '10.1.0.0/24' })],
      routes: [{ dst: 'FD00:0::/64', gw: 'FD00::00FE', mtu: 1400, priority: 5 }, { dst: '10.0.0.5/8' }],
    });
    expect(config.routes).toEqual([
      { dst: 'fd00::/64', gw: 'fd00::fe', mtu: 1400, priority: 5 },
      { dst: '10.0.0.5/8' },
    ]);
  });

  it('accepts disjoint ranges of one subnet in one set, and one set per family', () => {
    const config = parse({
      ranges: [
        set(
          { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.19' },
          { subnet: '10.1.0.0/24', rangeStart: '10.1.0.20', rangeEnd: '10.1.0.29' },
        ),
        set({ subnet: 'fd00::/64' }),
      ],
    });
    expect(config.rangeSets.map((s) => s.length)).toEqual([2, 1]);
  });

  it('defaults dataDir to /var/lib/cni/networks and reads routes, resolvConf, requested IPs in order', () => {
    const config = parse(
      {
        ranges: [set({ subnet: '10.1.0.0/24' }), set({ subnet: 'fd00::/64' })],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.0.254' }],
        resolvConf: '/etc/resolv.conf',
      },
      { args: { cni: { ips: ['fd00::9'] } }, runtimeConfig: { ips: ['10.1.0.8/24'] } },
      '1.1.0',
      { CNI_ARGS: 'IP=10.1.0.7' },
    );
    expect(config.dataDir).toBe(DEFAULT_DATA_DIR);
    expect(config.network).toBe('ipamnet');
    expect(config.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.0.254' }]);
    expect(config.resolvConf).toBe('/etc/resolv.conf');
    expect(config.requested.map(formatIp)).toEqual(['10.1.0.7', 'fd00::9', '10.1.0.8']);
  });

  it('ignores keys it does not know', () => {
    expect(() => parse({ ranges: [set({ subnet: '10.1.0.0/24', colour: 'blue' })], extra: 1 })).not.toThrow();
  });
});
