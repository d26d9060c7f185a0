// runtimeConfig capability arguments as podman (lowerCamel keys) and containerd (capitalised
// keys) send them; bad values are code 7 naming the key's full path.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { parseRuntimeConfig } from '../../../plugins/sdk/runtime-config.ts';

function errorOf(value: unknown): CniError {
  try {
    parseRuntimeConfig(value);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('portMappings', () => {
  it("reads podman's lowerCamel keys", () => {
    const config = parseRuntimeConfig({
      portMappings: [
        { hostPort: 18080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
      ],
    });
    expect(config.portMappings).toEqual([
      { hostPort: 18080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1' },
    ]);
  });

  it("reads containerd's capitalised keys, with an empty HostIP meaning any", () => {
    const config = parseRuntimeConfig({
      portMappings: [
        { HostPort: 18100, ContainerPort: 80, Protocol: 'tcp', HostIP: '' },
        { HostPort: 18101, ContainerPort: 81, Protocol: 'SCTP', HostIP: 'fd00::1' },
      ],
    });
    expect(config.portMappings).toEqual([
      { hostPort: 18100, containerPort: 80, protocol: 'tcp' },
      { hostPort: 18101, containerPort: 81, protocol: 'sctp', hostIp: 'fd00::1' },
    ]);
  });

  it('defaults the protocol to tcp', () => {
    expect(
      parseRuntimeConfig({ portMappings: [{ hostPort: 1, containerPort: 65535 }] }).portMappings,
    ).toEqual([{ hostPort: 1, containerPort: 65535, protocol: 'tcp' }]);
  });

  it.each([
    ['hostPort 0', { hostPort: 0, containerPort: 80 }, 'hostPort'],
    ['hostPort 65536', { hostPort: 65536, containerPort: 80 }, 'hostPort'],
    ['HostPort -1', { HostPort: -1, ContainerPort: 80 }, 'hostPort'],
    ['hostPort as a string', { hostPort: '8080', containerPort: 80 }, 'hostPort'],
    ['fractional hostPort', { hostPort: 80.5, containerPort: 80 }, 'hostPort'],
    ['missing hostPort', { containerPort: 80 }, 'hostPort'],
    ['containerPort 0', { hostPort: 8080, containerPort: 0 }, 'containerPort'],
    ['ContainerPort 70000', { HostPort: 8080, ContainerPort: 70000 }, 'containerPort'],
    ['missing containerPort', { hostPort: 8080 }, 'containerPort'],
    ['an unknown protocol', { hostPort: 8080, containerPort: 80, protocol: 'icmp' }, 'protocol'],
    ['a bad hostIP', { hostPort: 8080, containerPort: 80, hostIP: '300.1.1.1' }, 'hostIP'],
  ])('refuses %s with code 7 naming the key', (_what, mapping, key) => {
    const error = errorOf({ portMappings: [{ hostPort: 1, containerPort: 1 }, mapping] });
    expect(error.code).toBe(7);
    expect(error.msg).toContain(`"runtimeConfig.portMappings[1].${key}"`);
  });

  it('refuses a mapping that is not an object, naming its index', () => {
    const error = errorOf({ portMappings: [{ hostPort: 1, containerPort: 1 }, 8080] });
    expect(error.code).toBe(7);
    expect(error.msg).toContain('"runtimeConfig.portMappings[1]" must be an object');
  });

  it('refuses portMappings that is not an array', () => {
    expect(errorOf({ portMappings: { hostPort: 1 } }).msg).toContain('runtimeConfig.portMappings');
  });
});

describe('the other capabilities', () => {
  it('reads bandwidth (either casing), ips, mac, dns, ipRanges, aliases, deviceID, cgroupPath', () => {
    const config = parseRuntimeConfig({
      bandwidth: { ingressRate: 1_000_000, IngressBurst: 2_000, egressRate: 0 },
      ips: ['10.1.0.9/24', 'fd00::9'],
      mac: '02:00:00:00:00:09',
      dns: { servers: ['10.1.0.1'], searches: ['example.org'], options: ['ndots:2'] },
      ipRanges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00::/64', rangeStart: 'fd00::10' }]],
      aliases: ['web', 'www'],
      deviceID: '0000:03:00.1',
      cgroupPath: '/kubepods/pod1',
      unknownCapability: { ignored: true },
    });
    expect(config).toEqual({
      bandwidth: { ingressRate: 1_000_000, ingressBurst: 2_000, egressRate: 0 },
      ips: ['10.1.0.9/24', 'fd00::9'],
      mac: '02:00:00:00:00:09',
      dns: { servers: ['10.1.0.1'], searches: ['example.org'], options: ['ndots:2'] },
      ipRanges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00::/64', rangeStart: 'fd00::10' }]],
      aliases: ['web', 'www'],
      deviceID: '0000:03:00.1',
      cgroupPath: '/kubepods/pod1',
    });
  });

  it.each([undefined, null, {}])('reads %j as no capabilities', (value) => {
    expect(parseRuntimeConfig(value)).toEqual({});
  });

  it.each([
    ['runtimeConfig not an object', [], 'runtimeConfig'],
    ['a negative rate', { bandwidth: { ingressRate: -1 } }, 'runtimeConfig.bandwidth.ingressRate'],
    ['a rate as a string', { bandwidth: { egressRate: '1M' } }, 'runtimeConfig.bandwidth.egressRate'],
    ['ips not strings', { ips: [1] }, 'runtimeConfig.ips[0]'],
    ['dns servers not an array', { dns: { servers: '10.1.0.1' } }, 'runtimeConfig.dns.servers'],
    [
      'a range set that is not an array',
      { ipRanges: [{ subnet: '10.1.0.0/24' }] },
      'runtimeConfig.ipRanges[0]',
    ],
    ['mac not a string', { mac: 2 }, 'runtimeConfig.mac'],
  ])('refuses %s with code 7 naming the key', (_what, value, key) => {
    const error = errorOf(value);
    expect(error.code).toBe(7);
    expect(error.msg).toContain(`"${key}"`);
  });
});
