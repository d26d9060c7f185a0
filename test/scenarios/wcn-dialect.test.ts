// The config vocabulary of nat and sdnbridge, pure: windows-container-networking configs are
// read unchanged in both policy dialects (HCN v2 and HNS v1) and in any key case, crosscni's own
// keys beside them, unknown keys ignored (refusals: wcn-dialect-errors.test.ts).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { effectiveDns } from '../../plugins/attachment/switch-addresses.ts';
import { endpointSpec, networkSpec } from '../../plugins/attachment/switch-specs.ts';
import {
  defaultBridgeName,
  parseSwitchConfig,
  type SwitchPluginType,
} from '../../plugins/attachment/wcn-config.ts';
import { parseCniArgs } from '../../plugins/sdk/args.ts';
import { parseNetConf } from '../../plugins/sdk/config.ts';
import type { CommandContext } from '../../plugins/sdk/skel.ts';

type Doc = Record<string, unknown>;

const sdnbridge = (extra: Doc = {}): Doc => ({
  cniVersion: '1.0.0',
  name: 'l2bridgeNetwork',
  type: 'sdnbridge',
  master: 'Ethernet',
  ipam: { subnet: '192.168.1.0/24', routes: [{ GW: '192.168.1.2' }] },
  ...extra,
});

const policy = (value: Doc) => ({ Name: 'EndpointPolicy', Value: value });

function parse(doc: Doc, type: SwitchPluginType = 'sdnbridge') {
  return parseSwitchConfig(parseNetConf(doc), type);
}

function ctx(doc: Doc, args = 'IgnoreUnknown=1'): CommandContext {
  return {
    command: 'ADD',
    containerId: 'c0ffee',
    netns: '/run/netns/x',
    ifname: 'eth0',
    args: parseCniArgs(args),
    path: [],
    env: {},
    config: parseNetConf(doc),
    stdin: Buffer.from(JSON.stringify(doc)),
  };
}

describe('windows-container-networking configs, unchanged', () => {
  test('the v2 (HCN) and v1 (HNS) policy forms mean the same', () => {
    const v2 = parse(
      sdnbridge({
        AdditionalArgs: [
          policy({ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } }),
          policy({ Type: 'SDNRoute', Settings: { DestinationPrefix: '11.0.0.0/8', NeedEncap: true } }),
          policy({
            Type: 'ACL',
            Settings: { Protocols: '6', Action: 'Allow', Direction: 'In', LocalPorts: '80', Priority: 200 },
          }),
          policy({ Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } }),
        ],
      }),
    );
    const v1 = parse(
      sdnbridge({
        AdditionalArgs: [
          policy({ Type: 'OutBoundNAT', ExceptionList: ['10.0.0.0/8'] }),
          policy({ Type: 'ROUTE', DestinationPrefix: '11.0.0.0/8', NeedEncap: true }),
          policy({
            Type: 'ACL',
            Protocol: 6,
            Action: 'Allow',
            Direction: 'In',
            LocalPort: 80,
            Priority: 200,
          }),
          policy({ Type: 'NAT', Protocol: 'TCP', InternalPort: 80, ExternalPort: 8080 }),
        ],
      }),
    );
    expect(v1.policies).toEqual(v2.policies);
    expect(v2.policies).toEqual({
      outboundNatExceptions: ['10.0.0.0/8'],
      hostRoutes: [{ dst: '11.0.0.0/8', encapsulate: true }],
      acls: [{ action: 'allow', direction: 'in', protocols: ['6'], localPorts: [80], priority: 200 }],
      portMappings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }],
    });
  });

  test('keys match in any case, as Go decodes them; names without "Policy" are skipped', () => {
    const config = parse({
      cniVersion: '0.2.0',
      name: 'n',
      type: 'sdnbridge',
      MASTER: 'Ethernet',
      IPAM: { Subnet: '192.168.1.0/24', Routes: [{ gw: '192.168.1.9' }] },
      DNS: { nameservers: ['11.0.0.10'], SEARCH: ['svc.cluster.local'] },
      OptionalFlags: { LoopbackDsr: true },
      additionalArgs: [
        {
          name: 'EndpointPolicy',
          value: { type: 'sdnroute', settings: { destinationPrefix: '11.0.0.0/8' } },
        },
        { name: 'Comment', value: 'ignored, as WCN ignores it' },
      ],
    });
    expect(config).toMatchObject({
      master: 'Ethernet',
      ipam: { kind: 'subnets', ranges: [{ subnet: '192.168.1.0/24', gateway: '192.168.1.9' }] },
      dns: { nameservers: ['11.0.0.10'], search: ['svc.cluster.local'] },
      flags: { loopbackDSR: true },
      policies: { hostRoutes: [{ dst: '11.0.0.0/8', encapsulate: false }] },
    });
  });

  test('the gateway of a typeless subnet: routes[0].GW, nat.conf’s "gateway", else the first address', () => {
    const gw = (ipam: Doc) => parse(sdnbridge({ ipam })).ipam;
    expect(gw({ subnet: '10.1.0.0/24', routes: [{ GW: '10.1.0.9' }] })).toMatchObject({
      ranges: [{ gateway: '10.1.0.9' }],
    });
    expect(gw({ subnet: '10.1.0.0/24', routes: [{ gateway: '10.1.0.8' }] })).toMatchObject({
      ranges: [{ gateway: '10.1.0.8' }],
    });
    expect(gw({ subnet: '10.1.0.0/24' })).toMatchObject({ ranges: [{ gateway: '10.1.0.1' }] });
    expect(parse(sdnbridge({ ipamv6: { subnet: 'fd00::/64' } })).ipam).toMatchObject({
      ranges: [{ subnet: '192.168.1.0/24' }, { subnet: 'fd00::/64', gateway: 'fd00::1' }],
    });
    expect(parse(sdnbridge({ ipam: { type: 'host-local', ranges: [] } })).ipam).toEqual({
      kind: 'delegated',
    });
  });

  test('unknown keys are ignored; OutBoundNAT exceptions of several policies add up', () => {
    const config = parse(
      sdnbridge({
        capabilities: { portMappings: true, dnsCapabilities: true },
        somethingNew: { x: 1 },
        ipam: { environment: 'azure', subnet: '192.168.1.0/24', routes: [{ GW: '192.168.1.2' }] },
        AdditionalArgs: [
          policy({ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'], Destinations: [] } }),
          policy({ Type: 'OutBoundNAT', Settings: { ExceptionList: ['fd00::/64'] } }),
        ],
      }),
    );
    expect(config.policies.outboundNatExceptions).toEqual(['10.0.0.0/8', 'fd00::/64']);
  });

  test('crosscni keys: bridge (default per network), mtu, ipMasqBackend', () => {
    expect(parse(sdnbridge()).bridge).toBe(defaultBridgeName('sdnbridge', 'l2bridgeNetwork'));
    expect(defaultBridgeName('nat', 'x')).toMatch(/^cnat[0-9a-f]{8}$/);
    expect(parse(sdnbridge({ bridge: 'br-pods', mtu: 1450, ipMasqBackend: 'iptables' }))).toMatchObject({
      bridge: 'br-pods',
      mtu: 1450,
      ipMasqBackend: 'iptables',
    });
  });

  test('property: re-casing every WCN key changes nothing', () => {
    const doc = sdnbridge({
      dns: { Nameservers: ['11.0.0.10'], Search: ['a.b'] },
      optionalFlags: { localRoutedPortMapping: true, allowAclPortMapping: true },
      AdditionalArgs: [
        policy({ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } }),
        policy({
          Type: 'ACL',
          Settings: { Action: 'Block', Direction: 'Out', RemoteAddresses: '1.2.3.4', Priority: 5 },
        }),
      ],
    });
    const canonical = parse(doc);
    const keep = new Set(['cniVersion', 'name', 'type']);
    const recase = (value: unknown, flips: boolean[], at: { i: number }): unknown => {
      if (Array.isArray(value)) return value.map((v) => recase(v, flips, at));
      if (typeof value !== 'object' || value === null) return value;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => {
          const flip = !keep.has(k) && flips[at.i++ % flips.length];
          return [flip ? k.toUpperCase() : k, recase(v, flips, at)];
        }),
      );
    };
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (flips) => {
        expect(parse(recase(doc, flips, { i: 0 }) as Doc)).toEqual(canonical);
      }),
    );
  });
});

describe('decisions both OSes share', () => {
  test('DNS: the config’s block, the pod namespace before the first search domain, runtimeConfig on top', () => {
    const doc = sdnbridge({
      dns: { Nameservers: ['11.0.0.10'], Search: ['svc.cluster.local', 'cluster.local'] },
    });
    const config = parse(doc);
    expect(effectiveDns(ctx(doc, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop'), config)).toEqual({
      nameservers: ['11.0.0.10'],
      search: ['shop.svc.cluster.local', 'cluster.local'],
    });
    const withRuntime = { ...doc, runtimeConfig: { dns: { servers: ['1.1.1.1'], options: ['ndots:5'] } } };
    expect(effectiveDns(ctx(withRuntime), parse(withRuntime))).toEqual({
      nameservers: ['1.1.1.1'],
      search: ['svc.cluster.local', 'cluster.local'],
      options: ['ndots:5'],
    });
  });

  test('outbound NAT: nat always (never to its own subnets), sdnbridge only with an OutBoundNAT policy', () => {
    const addresses = { ips: [{ address: '192.168.1.5/24', gateway: '192.168.1.1' }], routes: [] };
    const nat = { ...sdnbridge(), type: 'nat' };
    expect(endpointSpec(ctx(nat), parse(nat, 'nat'), addresses).outboundNat).toEqual({
      exceptions: ['192.168.1.0/24'],
    });
    expect(endpointSpec(ctx(sdnbridge()), parse(sdnbridge()), addresses).outboundNat).toBeUndefined();
    const l2 = sdnbridge({
      AdditionalArgs: [policy({ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } })],
    });
    expect(endpointSpec(ctx(l2), parse(l2), addresses).outboundNat).toEqual({ exceptions: ['10.0.0.0/8'] });
    expect(networkSpec(ctx(l2), parse(l2), addresses)).toMatchObject({
      mode: 'l2bridge',
      uplink: 'Ethernet',
      subnets: [{ cidr: '192.168.1.0/24', gateway: '192.168.1.1' }],
      hostAddresses: ['192.168.1.1/24'],
    });
  });

  test('allowAclPortMapping and localRoutedPortMapping shape the port mappings as WCN does', () => {
    const doc = sdnbridge({
      optionalFlags: { allowAclPortMapping: true, localRoutedPortMapping: true },
      runtimeConfig: { portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: 'udp' }] },
    });
    const spec = endpointSpec(ctx(doc), parse(doc), { ips: [{ address: '192.168.1.5/24' }], routes: [] });
    expect(spec.portMappings).toEqual([{ hostPort: 8080, containerPort: 80, protocol: 'udp' }]);
    expect(spec.portMappingOptions).toEqual({ snat: true });
    expect(spec.acls).toEqual([
      { action: 'allow', direction: 'in', protocols: ['17'], localPorts: [80], priority: 1000 },
    ]);
  });
});
