// Result conversion (newest model → every version's document) and the reverse (a result or
// prevResult of every version → the newest model), following containernetworking/cni pkg/types.
import { describe, expect, it } from 'vitest';
import { convertResult } from '../../../plugins/sdk/convert.ts';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { parseResult, type Result } from '../../../plugins/sdk/result.ts';
import { type CniVersion, resultShape } from '../../../plugins/sdk/version.ts';
import { VERSIONS } from './cni-call.ts';
import { PREV_MODELS, PREV_RESULTS } from './result-samples.ts';

/** A bridge-like result: host bridge, host veth, container interface, two addresses per family. */
const FULL: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '02:00:00:00:00:01' },
    { name: 'veth1a2b', mac: '02:00:00:00:00:02', mtu: 1450 },
    {
      name: 'eth0',
      mac: '02:00:00:00:00:03',
      sandbox: '/run/netns/blue',
      mtu: 1450,
      socketPath: '/run/vhost-user.sock',
      pciID: '0000:03:00.1',
    },
  ],
  ips: [
    { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 2 },
    { address: 'fd00::5/64', gateway: 'fd00::1', interface: 2 },
    { address: '10.2.0.5/16', interface: 2 },
    { address: 'fd01::5/64' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 0 },
    { dst: '::/0', gw: 'fd00::1', priority: 1024 },
    { dst: '192.168.0.0/16' },
    { dst: 'fd02::/48', table: 10 },
  ],
  dns: {
    nameservers: ['10.1.0.1', 'fd00::1'],
    domain: 'cluster.local',
    search: ['svc.cluster.local'],
    options: ['ndots:5'],
  },
};

const FULL_DNS = FULL.dns;

/** FULL as a 1.0.0 document: no 1.1.0 route or interface fields. */
const FULL_V10 = {
  interfaces: [
    { name: 'cni0', mac: '02:00:00:00:00:01' },
    { name: 'veth1a2b', mac: '02:00:00:00:00:02' },
    { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' },
  ],
  ips: [
    { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 2 },
    { address: 'fd00::5/64', gateway: 'fd00::1', interface: 2 },
    { address: '10.2.0.5/16', interface: 2 },
    { address: 'fd01::5/64' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.1.0.1' },
    { dst: '::/0', gw: 'fd00::1' },
    { dst: '192.168.0.0/16' },
    { dst: 'fd02::/48' },
  ],
  dns: FULL_DNS,
};

const FULL_V02 = {
  ip4: {
    ip: '10.1.0.5/24',
    gateway: '10.1.0.1',
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '192.168.0.0/16' }],
  },
  ip6: {
    ip: 'fd00::5/64',
    gateway: 'fd00::1',
    routes: [{ dst: '::/0', gw: 'fd00::1' }, { dst: 'fd02::/48' }],
  },
  dns: FULL_DNS,
};

function expectedFullDocument(version: CniVersion): Record<string, unknown> {
  switch (resultShape(version)) {
    case 'v02':
      return { cniVersion: version, ...FULL_V02 };
    case 'v04':
      return {
        cniVersion: version,
        ...FULL_V10,
        ips: FULL_V10.ips.map((ip) => ({ version: ip.address.includes(':') ? '6' : '4', ...ip })),
      };
    case 'v1':
      return version === '1.1.0' ? { ...FULL, cniVersion: version } : { cniVersion: version, ...FULL_V10 };
  }
}

const V4_ONLY: Result = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
  ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
  // A v6 route without a v6 address has nowhere to go in 0.2.0.
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '::/0' }],
};

const V6_ONLY: Result = {
  cniVersion: '1.0.0',
  ips: [{ address: '2001:db8::5/64' }, { address: '2001:db8::6/64' }],
};

const NO_IPS: Result = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:09' }] };

const IPAM: Result = {
  cniVersion: '1.0.0',
  ips: [{ address: '10.1.0.7/24', gateway: '10.1.0.1' }],
  routes: [{ dst: '10.0.0.0/8', gw: '10.1.0.1' }],
  dns: { nameservers: ['10.1.0.1'] },
};

const EMPTY: Result = { cniVersion: '1.0.0' };

const SHAPES: Record<string, Result> = { FULL, V4_ONLY, V6_ONLY, NO_IPS, IPAM, EMPTY };

describe('convertResult: the full result at every version', () => {
  it.each(VERSIONS)('%s', (version) => {
    expect(convertResult(FULL, version)).toEqual(expectedFullDocument(version));
  });

  it('does not change the result it converts', () => {
    const before = structuredClone(FULL);
    for (const version of VERSIONS) convertResult(FULL, version);
    expect(FULL).toEqual(before);
  });
});

describe('convertResult: every shape at every version', () => {
  const cases = Object.keys(SHAPES).flatMap((shape) => VERSIONS.map((version) => ({ shape, version })));

  it.each(cases)('$shape → $version', ({ shape, version }) => {
    const result = SHAPES[shape]!;
    const hasIps = (result.ips?.length ?? 0) > 0;
    if (resultShape(version) === 'v02' && !hasIps) {
      let error: unknown;
      try {
        convertResult(result, version);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CniError);
      expect((error as CniError).code).toBe(1);
      expect((error as CniError).msg).toContain(version);
      return;
    }
    const doc = JSON.parse(JSON.stringify(convertResult(result, version))) as Record<string, unknown>;
    expect(doc.cniVersion).toBe(version);
    if (resultShape(version) === 'v02') {
      expect(doc).not.toHaveProperty('ips');
      expect(doc).not.toHaveProperty('interfaces');
      const firstV4 = result.ips?.find((ip) => !ip.address.includes(':'));
      const firstV6 = result.ips?.find((ip) => ip.address.includes(':'));
      expect((doc.ip4 as { ip?: string } | undefined)?.ip).toBe(firstV4?.address);
      expect((doc.ip6 as { ip?: string } | undefined)?.ip).toBe(firstV6?.address);
    } else {
      const ips = (doc.ips ?? []) as Record<string, unknown>[];
      expect(ips.map((ip) => ip.address)).toEqual(result.ips?.map((ip) => ip.address) ?? []);
      for (const ip of ips) {
        if (resultShape(version) === 'v04')
          expect(ip.version).toBe((ip.address as string).includes(':') ? '6' : '4');
        else expect(ip).not.toHaveProperty('version');
      }
      expect(doc).not.toHaveProperty('ip4');
    }
    // Whatever the version, the document reads back as a valid result of that version.
    expect(() => parseResult(doc, version)).not.toThrow();
  });

  it('0.2.0 keeps only the routes of a family that has an address', () => {
    expect(convertResult(V4_ONLY, '0.2.0')).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
    });
    expect(convertResult(V6_ONLY, '0.1.0')).toEqual({ cniVersion: '0.1.0', ip6: { ip: '2001:db8::5/64' } });
  });

  it('omits empty lists and an empty dns object', () => {
    const sparse: Result = {
      cniVersion: '1.1.0',
      interfaces: [],
      ips: [],
      routes: [],
      dns: { nameservers: [] },
    };
    expect(convertResult(sparse, '1.1.0')).toEqual({ cniVersion: '1.1.0' });
  });
});

describe('parseResult: a prevResult of every version into the newest model', () => {
  it.each(VERSIONS)('%s', (version) => {
    expect(parseResult(PREV_RESULTS[version], '1.1.0')).toEqual(PREV_MODELS[version]);
  });

  it.each(VERSIONS)('%s without its own cniVersion takes the config version', (version) => {
    const { cniVersion: _dropped, ...body } = PREV_RESULTS[version];
    expect(parseResult(body, version)).toEqual(PREV_MODELS[version]);
  });

  it.each(VERSIONS)('%s survives convert(parse(doc)) unchanged', (version) => {
    const model = parseResult(PREV_RESULTS[version], version);
    const again = JSON.parse(JSON.stringify(convertResult(model, version)));
    const expected = { ...PREV_RESULTS[version] };
    // Empty dns objects are not written back.
    if (JSON.stringify(expected.dns) === '{}') delete expected.dns;
    expect(again).toEqual(expected);
  });

  it('canonicalises gateway text so results compare equal', () => {
    const model = parseResult(
      { cniVersion: '1.0.0', ips: [{ address: 'fd00::5/64', gateway: 'FD00:0::0001' }] },
      '1.0.0',
    );
    expect(model.ips?.[0]?.gateway).toBe('fd00::1');
  });
});

describe('convertResult then parseResult', () => {
  it.each(VERSIONS)('FULL at %s reads back as the version allows', (version) => {
    const model = parseResult(JSON.parse(JSON.stringify(convertResult(FULL, version))), version);
    if (version === '1.1.0') expect(model).toEqual(FULL);
    else if (resultShape(version) === 'v02') {
      expect(model).toEqual({
        cniVersion: version,
        ips: [
          { address: '10.1.0.5/24', gateway: '10.1.0.1' },
          { address: 'fd00::5/64', gateway: 'fd00::1' },
        ],
        routes: [
          { dst: '0.0.0.0/0', gw: '10.1.0.1' },
          { dst: '192.168.0.0/16' },
          { dst: '::/0', gw: 'fd00::1' },
          { dst: 'fd02::/48' },
        ],
        dns: FULL_DNS,
      });
    } else expect(model).toEqual({ cniVersion: version, ...FULL_V10 });
  });
});
