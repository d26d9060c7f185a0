// host-local's ADD as a runtime sees it, through the SDK's invokePlugin in this process (the
// store's flock comes from the Linux platform and works unprivileged), with a temporary
// dataDir per test. Asserts results, error codes and the files left behind. DEL, CHECK, GC
// and STATUS are in host-local-lifecycle.test.ts.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addressesOf,
  addressFiles,
  envFor,
  expectError,
  expectResult,
  expectSilentSuccess,
  hostLocal,
  hostLocalConfig,
  type Json,
  TempDirs,
} from './ipam-fixture.ts';

const dirs = new TempDirs();
let dataDir = '';
beforeEach(() => {
  dataDir = dirs.make('crosscni-hl-');
});
afterEach(() => dirs.cleanup());

const V4 = [{ subnet: '10.20.0.0/24' }];
const V6 = [{ subnet: 'fd20::/64' }];

function config(ipam: Json, extra: Json = {}, cniVersion = '1.1.0'): Json {
  return hostLocalConfig({ dataDir, ...ipam }, extra, cniVersion);
}

/** The network's address files (name → content). */
function files(network = 'ipamnet'): Record<string, string> {
  return addressFiles(join(dataDir, network));
}

describe('host-local ADD', () => {
  it('hands out rangeStart (skipping the gateway) and records it in the store', async () => {
    const result = expectResult(await hostLocal(envFor('ADD', 'ctr1'), config({ ranges: [V4] })));
    expect(result).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.20.0.2/24', gateway: '10.20.0.1' }],
    });
    expect(files()).toEqual({ '10.20.0.2': 'ctr1\r\neth0' });
  });

  it('returns the configured routes and one address per range set (dual-stack)', async () => {
    const routes = [
      { dst: '0.0.0.0/0' },
      { dst: '::/0', gw: 'fd20::fe' },
      { dst: '192.168.0.0/16', gw: '10.20.0.9' },
    ];
    const ipam = {
      ranges: [
        [{ subnet: '10.20.0.0/24', gateway: '10.20.0.254' }],
        [{ subnet: 'fd20::/64', rangeStart: 'fd20::100' }],
      ],
      routes,
    };
    const result = expectResult(await hostLocal(envFor('ADD'), config(ipam)));
    expect(result).toEqual({
      cniVersion: '1.1.0',
      ips: [
        { address: '10.20.0.1/24', gateway: '10.20.0.254' },
        { address: 'fd20::100/64', gateway: 'fd20::1' },
      ],
      routes,
    });
    const older = expectResult(await hostLocal(envFor('ADD', 'ctr2'), config(ipam, {}, '0.4.0')));
    expect(older.ips).toEqual([
      { version: '4', address: '10.20.0.2/24', gateway: '10.20.0.254' },
      { version: '6', address: 'fd20::101/64', gateway: 'fd20::1' },
    ]);
  });

  it('refuses a second ADD for the same container and interface, keeping its one address', async () => {
    const ipam = { ranges: [V4, V6] };
    expectResult(await hostLocal(envFor('ADD', 'ctr1'), config(ipam)));
    const error = expectError(await hostLocal(envFor('ADD', 'ctr1'), config(ipam)), 5);
    expect(error.msg).toMatch(
      /10\.20\.0\.2 has been allocated to ctr1\/eth0, duplicate allocation is not allowed/,
    );
    expect(files()).toEqual({ '10.20.0.2': 'ctr1\r\neth0', 'fd20::2': 'ctr1\r\neth0' });
    // A requested address does not get around the rule.
    expectError(await hostLocal(envFor('ADD', 'ctr1', { CNI_ARGS: 'IP=10.20.0.50' }), config(ipam)), 5);
    expect(Object.keys(files())).toHaveLength(2);
  });

  it('gives another interface of the same container its own address', async () => {
    expectResult(await hostLocal(envFor('ADD', 'ctr1'), config({ ranges: [V4] })));
    const second = expectResult(
      await hostLocal(envFor('ADD', 'ctr1', { CNI_IFNAME: 'net1' }), config({ ranges: [V4] })),
    );
    expect(addressesOf(second)).toEqual(['10.20.0.3/24']);
    expect(files()).toEqual({ '10.20.0.2': 'ctr1\r\neth0', '10.20.0.3': 'ctr1\r\nnet1' });
  });

  it('continues round robin after a DEL instead of reusing the freed address at once', async () => {
    const ipam = { ranges: [V4] };
    for (const id of ['a', 'b', 'c']) expectResult(await hostLocal(envFor('ADD', id), config(ipam)));
    expectSilentSuccess(await hostLocal(envFor('DEL', 'b'), config(ipam)));
    const next = expectResult(await hostLocal(envFor('ADD', 'd'), config(ipam)));
    expect(addressesOf(next)).toEqual(['10.20.0.5/24']);
  });

  it('fills a small range, then fails naming the range and saying it is full', async () => {
    const ipam = { ranges: [[{ subnet: '10.20.0.0/29', rangeStart: '10.20.0.2', rangeEnd: '10.20.0.4' }]] };
    for (const id of ['a', 'b', 'c']) expectResult(await hostLocal(envFor('ADD', id), config(ipam)));
    const error = expectError(await hostLocal(envFor('ADD', 'd'), config(ipam)), 5);
    expect(error.msg).toBe(
      'failed to allocate for range 0: no IP addresses available in range set: 10.20.0.2-10.20.0.4 (the range set is full)',
    );
    expect(Object.keys(files())).toEqual(['10.20.0.2', '10.20.0.3', '10.20.0.4']);
  });

  it('releases the first family when the second cannot be allocated', async () => {
    const ipam = { ranges: [V4, [{ subnet: 'fd20::/64', rangeStart: 'fd20::5', rangeEnd: 'fd20::5' }]] };
    expectResult(await hostLocal(envFor('ADD', 'a'), config(ipam)));
    expectError(await hostLocal(envFor('ADD', 'b'), config(ipam)), 5);
    expect(Object.values(files())).toEqual(['a\r\neth0', 'a\r\neth0']);
  });

  it('puts resolvConf into dns', async () => {
    const resolv = join(dataDir, 'resolv.conf');
    writeFileSync(
      resolv,
      [
        '# generated',
        'nameserver 10.20.0.53',
        'nameserver fd20::53',
        'domain example.test',
        'search a.example.test b.example.test',
        'options ndots:2 edns0',
        '; comment',
        '   # indented comment',
        'search c.example.test',
        'nameserver 10.20.0.54 # not a comment here, as in the reference',
        'sortlist 10.20.0.0',
        '',
      ].join('\n'),
    );
    const result = expectResult(await hostLocal(envFor('ADD'), config({ ranges: [V4], resolvConf: resolv })));
    // The reference's rules: search and options lines accumulate; '#' and ';' start a comment
    // only at the start of a line.
    expect(result.dns).toEqual({
      nameservers: ['10.20.0.53', 'fd20::53', '10.20.0.54'],
      domain: 'example.test',
      search: ['a.example.test', 'b.example.test', 'c.example.test'],
      options: ['ndots:2', 'edns0'],
    });
  });

  it('fails with code 5 on an unreadable resolvConf and keeps no address for the failed ADD', async () => {
    const answer = await hostLocal(
      envFor('ADD'),
      config({ ranges: [V4, V6], resolvConf: join(dataDir, 'missing.conf') }),
    );
    const error = expectError(answer, 5);
    expect(error.msg).toContain('missing.conf');
    expect(files()).toEqual({});
  });

  it('answers at 0.2.0 in the ip4/ip6 shape', async () => {
    const result = expectResult(await hostLocal(envFor('ADD'), config({ ranges: [V4, V6] }, {}, '0.2.0')));
    expect(result).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.20.0.2/24', gateway: '10.20.0.1' },
      ip6: { ip: 'fd20::2/64', gateway: 'fd20::1' },
    });
  });

  it('allocates from runtimeConfig.ipRanges as range set 0, before the configured sets', async () => {
    const result = expectResult(
      await hostLocal(
        envFor('ADD'),
        config({ ranges: [V6] }, { runtimeConfig: { ipRanges: [[{ subnet: '10.30.0.0/24' }]] } }),
      ),
    );
    expect(addressesOf(result)).toEqual(['10.30.0.2/24', 'fd20::2/64']);
    expect(
      readdirSync(join(dataDir, 'ipamnet'))
        .filter((n) => n.startsWith('last_'))
        .sort(),
    ).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1']);
  });

  it('returns routes canonically, with the 1.1.0 route fields only at 1.1.0', async () => {
    const routes = [{ dst: 'FD20:0::/64', gw: 'FD20::FE', mtu: 1400, table: 100 }];
    const now = expectResult(await hostLocal(envFor('ADD', 'a'), config({ ranges: [V6], routes })));
    expect(now.routes).toEqual([{ dst: 'fd20::/64', gw: 'fd20::fe', mtu: 1400, table: 100 }]);
    const older = expectResult(
      await hostLocal(envFor('ADD', 'b'), config({ ranges: [V6], routes }, {}, '1.0.0')),
    );
    expect(older.routes).toEqual([{ dst: 'fd20::/64', gw: 'fd20::fe' }]);
  });

  it('refuses two addresses of one family at 0.2.0 (code 1) without reserving anything', async () => {
    const ipam = { ranges: [V4, [{ subnet: '10.21.0.0/24' }]] };
    const error = expectError(await hostLocal(envFor('ADD'), config(ipam, {}, '0.2.0')), 1);
    expect(error.msg).toContain('more than 1 address per family');
    expect(files()).toEqual({});
  });
});

describe('host-local ADD: requested addresses', () => {
  const ipam = { ranges: [V4, V6] };

  it('takes CNI_ARGS IP= for the set that contains it', async () => {
    const result = expectResult(
      await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'IP=10.20.0.77' }), config(ipam)),
    );
    expect(addressesOf(result)).toEqual(['10.20.0.77/24', 'fd20::2/64']);
  });

  it('takes one address per family from CNI_ARGS IP=a,b', async () => {
    const result = expectResult(
      await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'IP=fd20::99,10.20.0.99' }), config(ipam)),
    );
    expect(addressesOf(result)).toEqual(['10.20.0.99/24', 'fd20::99/64']);
  });

  it('takes args.cni.ips and runtimeConfig.ips (address or CIDR)', async () => {
    const fromArgs = expectResult(
      await hostLocal(envFor('ADD', 'a'), config(ipam, { args: { cni: { ips: ['10.20.0.40'] } } })),
    );
    expect(addressesOf(fromArgs)).toEqual(['10.20.0.40/24', 'fd20::2/64']);
    const fromRuntime = expectResult(
      await hostLocal(
        envFor('ADD', 'b'),
        config(ipam, { runtimeConfig: { ips: ['10.20.0.41/24', 'fd20::41/64'] } }),
      ),
    );
    expect(addressesOf(fromRuntime)).toEqual(['10.20.0.41/24', 'fd20::41/64']);
  });

  it('takes an address asked for twice (CNI_ARGS and runtimeConfig) once', async () => {
    const result = expectResult(
      await hostLocal(
        envFor('ADD', 'a', { CNI_ARGS: 'IP=10.20.0.42' }),
        config(ipam, { runtimeConfig: { ips: ['10.20.0.42/24'] } }),
      ),
    );
    expect(addressesOf(result)).toEqual(['10.20.0.42/24', 'fd20::2/64']);
  });

  it('refuses two requested addresses in one range set (code 7) and keeps nothing', async () => {
    const error = expectError(
      await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'IP=10.20.0.42,10.20.0.43' }), config(ipam)),
      7,
    );
    expect(error.msg).toMatch(/failed to allocate all requested IPs: 10\.20\.0\.43/);
    expect(files()).toEqual({});
  });

  it('refuses the gateway (code 7) and keeps nothing', async () => {
    const error = expectError(
      await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'IP=10.20.0.1' }), config(ipam)),
      7,
    );
    expect(error.msg).toMatch(/10\.20\.0\.1.*gateway/);
    expect(files()).toEqual({});
  });

  it('refuses an address another container holds (code 5) and keeps nothing for the loser', async () => {
    expectResult(await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'IP=10.20.0.60' }), config(ipam)));
    const error = expectError(
      await hostLocal(envFor('ADD', 'b', { CNI_ARGS: 'IP=10.20.0.60' }), config(ipam)),
      5,
    );
    expect(error.msg).toContain('10.20.0.60');
    expect(Object.values(files())).toEqual(['a\r\neth0', 'a\r\neth0']);
  });

  it('refuses an address outside every range set (code 7) and releases what it took', async () => {
    const error = expectError(
      await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'IP=10.99.0.5' }), config(ipam)),
      7,
    );
    expect(error.msg).toMatch(/failed to allocate all requested IPs: 10\.99\.0\.5/);
    expect(files()).toEqual({});
  });

  it('refuses a CNI_ARGS key it does not know unless IgnoreUnknown=1', async () => {
    expectError(await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'FOO=1' }), config(ipam)), 4);
    expectResult(await hostLocal(envFor('ADD', 'a', { CNI_ARGS: 'IgnoreUnknown=1;FOO=1' }), config(ipam)));
  });
});
