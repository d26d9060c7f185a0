// static IPAM as a runtime sees it, through invokePlugin: configured addresses, routes and
// DNS; CNI_ARGS IP/GATEWAY; args.cni.ips and runtimeConfig.ips replacing the list; the 0.2.0
// one-address-per-family rule; and a stateless DEL/CHECK.
import { describe, expect, it } from 'vitest';
import {
  envFor,
  expectError,
  expectResult,
  expectSilentSuccess,
  type Json,
  staticConfig,
  staticIpam,
} from './ipam-fixture.ts';

const BASE = {
  addresses: [
    { address: '10.10.0.5/24', gateway: '10.10.0.254' },
    { address: 'fd10::5/64', gateway: 'fd10::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '10.99.0.0/16', gw: '10.10.0.253' }],
  dns: {
    nameservers: ['10.10.0.53'],
    domain: 'example.test',
    search: ['example.test'],
    options: ['ndots:1'],
  },
};

function add(ipam: Json, extra: Json = {}, args?: string, cniVersion = '1.1.0') {
  return staticIpam(
    envFor('ADD', 'ctr1', args ? { CNI_ARGS: args } : {}),
    staticConfig(ipam, extra, cniVersion),
  );
}

describe('static ADD', () => {
  it('returns the configured addresses, routes and dns', async () => {
    expect(expectResult(await add(BASE))).toEqual({
      cniVersion: '1.1.0',
      ips: BASE.addresses,
      routes: BASE.routes,
      dns: BASE.dns,
    });
  });

  it('appends CNI_ARGS IP= addresses (CIDR, comma separated) and applies GATEWAY= to those it falls in', async () => {
    const result = expectResult(
      await add({ addresses: [] }, {}, 'IP=10.10.1.5/24, fd10:1::5/64;GATEWAY=10.10.1.1,fd10:1::1'),
    );
    expect(result.ips).toEqual([
      { address: '10.10.1.5/24', gateway: '10.10.1.1' },
      { address: 'fd10:1::5/64', gateway: 'fd10:1::1' },
    ]);
    const appended = expectResult(await add(BASE, {}, 'IP=10.10.2.5/24'));
    expect((appended.ips as Json[]).map((i) => i.address)).toEqual([
      '10.10.0.5/24',
      'fd10::5/64',
      '10.10.2.5/24',
    ]);
  });

  it('needs IP= in CIDR form, GATEWAY= as an address (code 7)', async () => {
    expect(expectError(await add({}, {}, 'IP=10.10.1.5'), 7).msg).toContain('CNI_ARGS IP');
    expect(expectError(await add({}, {}, 'IP=10.10.1.5/24;GATEWAY=nope'), 7).msg).toContain(
      'CNI_ARGS GATEWAY',
    );
  });

  it('args.cni.ips replaces the configured addresses', async () => {
    const result = expectResult(await add(BASE, { args: { cni: { ips: ['10.30.0.5/24', 'fd30::5/64'] } } }));
    expect(result.ips).toEqual([{ address: '10.30.0.5/24' }, { address: 'fd30::5/64' }]);
    expect(result.routes).toEqual(BASE.routes);
  });

  it('runtimeConfig.ips replaces both the configured addresses and args.cni.ips', async () => {
    const result = expectResult(
      await add(BASE, { args: { cni: { ips: ['10.30.0.5/24'] } }, runtimeConfig: { ips: ['10.40.0.5/24'] } }),
    );
    expect(result.ips).toEqual([{ address: '10.40.0.5/24' }]);
  });

  it('refuses addresses that are not CIDR wherever they come from (code 7, naming the source)', async () => {
    expect(expectError(await add({ addresses: [{ address: '10.10.0.5' }] }), 7).msg).toContain(
      '"ipam.addresses[0].address"',
    );
    expect(expectError(await add({}, { args: { cni: { ips: ['10.30.0.5'] } } }), 7).msg).toContain(
      'args.cni.ips',
    );
    expect(expectError(await add({}, { runtimeConfig: { ips: ['x'] } }), 7).msg).toContain(
      'runtimeConfig.ips',
    );
    expect(
      expectError(await add({ addresses: [{ address: '10.10.0.5/24', gateway: 'gw' }] }), 7).msg,
    ).toContain('"ipam.addresses[0].gateway"');
  });

  it('refuses a config without any address (code 7, naming ipam.addresses)', async () => {
    expect(expectError(await add({}), 7).msg).toContain('"ipam.addresses"');
  });

  it('at 0.2.0 answers in the ip4/ip6 shape, and refuses two addresses of one family (code 1)', async () => {
    const one = expectResult(await add(BASE, {}, undefined, '0.2.0'));
    expect(one).toMatchObject({
      cniVersion: '0.2.0',
      ip4: { ip: '10.10.0.5/24', gateway: '10.10.0.254' },
      ip6: { ip: 'fd10::5/64', gateway: 'fd10::1' },
    });
    const two = { addresses: [{ address: '10.10.0.5/24' }, { address: '10.10.0.6/24' }] };
    for (const version of ['0.1.0', '0.2.0']) {
      const error = expectError(await add(two, {}, undefined, version), 1);
      expect(error.msg).toContain('more than 1 address per family');
    }
    const viaArgs = expectError(await add(BASE, {}, 'IP=10.10.9.9/24', '0.2.0'), 1);
    expect(viaArgs.msg).toContain('more than 1 address per family');
    expect(expectResult(await add(two, {}, undefined, '0.3.1')).ips).toHaveLength(2);
  });
});

describe('static DEL and CHECK', () => {
  it('DEL succeeds, repeatedly, with or without a netns', async () => {
    const config = staticConfig(BASE);
    expectSilentSuccess(await staticIpam(envFor('DEL'), config));
    expectSilentSuccess(await staticIpam(envFor('DEL', 'ctr1', { CNI_NETNS: '' }), config));
  });

  it('CHECK compares the configuration with prevResult: every address, with its gateway', async () => {
    const config = (extra: Json = {}) => staticConfig(BASE, extra);
    const added = expectResult(await staticIpam(envFor('ADD'), config()));
    expectSilentSuccess(await staticIpam(envFor('CHECK'), config({ prevResult: added })));
    // prevResult written in another form (0.4.0 shape, non-canonical text) still matches.
    const older = {
      cniVersion: '0.4.0',
      ips: [
        { version: '4', address: '10.10.0.5/24', gateway: '10.10.0.254' },
        { version: '6', address: 'FD10:0::5/64', gateway: 'fd10:0::1' },
      ],
    };
    expectSilentSuccess(await staticIpam(envFor('CHECK'), config({ prevResult: older })));
    const otherGateway = {
      ...added,
      ips: [{ address: '10.10.0.5/24', gateway: '10.10.0.1' }, BASE.addresses[1]],
    };
    expect(
      expectError(await staticIpam(envFor('CHECK'), config({ prevResult: otherGateway })), 5).msg,
    ).toMatch(/10\.10\.0\.5\/24.*gateway 10\.10\.0\.1/);
    const missing = { ...added, ips: [BASE.addresses[0]] };
    expect(expectError(await staticIpam(envFor('CHECK'), config({ prevResult: missing })), 5).msg).toContain(
      'fd10::5/64',
    );
  });

  it('CHECK needs a prevResult (code 7) and a valid configuration (code 7)', async () => {
    expect(expectError(await staticIpam(envFor('CHECK'), staticConfig(BASE)), 7).msg).toContain('prevResult');
    expectError(await staticIpam(envFor('CHECK'), staticConfig({ addresses: [{ address: 'bad' }] })), 7);
  });
});

describe('static output form', () => {
  it('writes addresses, gateways and routes canonically (host bits kept), as the reference prints them', async () => {
    const result = expectResult(
      await add({
        addresses: [{ address: 'FD10:0::5/64', gateway: 'FD10::1' }],
        routes: [{ dst: 'FD00:0::/64', gw: 'FD10::00fe', mtu: 1400 }, { dst: '10.0.0.5/8' }],
      }),
    );
    expect(result).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: 'fd10::5/64', gateway: 'fd10::1' }],
      routes: [{ dst: 'fd00::/64', gw: 'fd10::fe', mtu: 1400 }, { dst: '10.0.0.5/8' }],
    });
  });
});
