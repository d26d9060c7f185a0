// Builders against fixtures written from the HCN schema (hcn.md): the exact text HCN receives.
import { describe, expect, test } from 'vitest';
import { serializeDocument } from '../../hns/schema/document.ts';
import {
  aclPolicy,
  encapOverheadPolicy,
  l4ProxyPolicy,
  outboundNatPolicy,
  portMappingPolicy,
  portNamePolicy,
  providerAddressEndpointPolicy,
  qosPolicy,
  sdnRoutePolicy,
} from '../../hns/schema/endpoint-policy.ts';
import { buildEndpoint, buildIpConfig, toHcnMac } from '../../hns/schema/endpoint.ts';
import {
  endpointPolicyRequest,
  namespaceAddEndpoint,
  namespaceRemoveEndpoint,
  networkPolicyRequest,
} from '../../hns/schema/modify.ts';
import { buildNamespace } from '../../hns/schema/namespace.ts';
import {
  automaticDnsPolicy,
  drMacAddressPolicy,
  hostRoutePolicy,
  netAdapterNamePolicy,
  providerAddressNetworkPolicy,
  remoteSubnetRoutePolicy,
  vSwitchExtensionPolicy,
} from '../../hns/schema/network-policy.ts';
import { NETWORK_FLAGS, buildNetwork } from '../../hns/schema/network.ts';
import { buildQuery } from '../../hns/schema/query.ts';
import { fixture } from './emulator-harness.ts';

const NETWORK_ID = '5c6a0b4e-1f2d-4c3b-9a8e-7d6c5b4a3f21';
const ENDPOINT_ID = '{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}';

describe('HostComputeNetwork', () => {
  test('NAT network with a gateway and DNS', () => {
    const doc = buildNetwork({
      name: 'nat',
      type: 'NAT',
      subnets: [{ prefix: '172.20.0.0/16', gateway: '172.20.0.1' }],
      dns: { nameservers: ['172.20.0.1'], domain: 'cluster.local', search: ['svc.cluster.local'] },
    });
    expect(serializeDocument(doc)).toBe(fixture('network-nat.json'));
  });

  test('L2Bridge network with every network policy, a VLAN subnet, IPv6 and a MAC pool', () => {
    const doc = buildNetwork({
      name: 'cbr0',
      type: 'L2Bridge',
      subnets: [
        { prefix: '10.244.1.0/24', gateway: '10.244.1.1', vlanId: 7 },
        { prefix: 'fd00:1::/64', gateway: 'fd00:1::1' },
      ],
      policies: [
        netAdapterNamePolicy('Ethernet 2'),
        automaticDnsPolicy(false),
        remoteSubnetRoutePolicy({
          destinationPrefix: '10.244.2.0/24',
          isolationId: 4096,
          providerAddress: '192.168.1.11',
          distributedRouterMac: '00-15-5D-AA-BB-CC',
        }),
        vSwitchExtensionPolicy('E9B59CFA-2BE1-4B21-828F-B6FBDBDDC017', true),
        drMacAddressPolicy('00-15-5D-AA-BB-CC'),
        providerAddressNetworkPolicy('192.168.1.10'),
        hostRoutePolicy(),
      ],
      macPool: [{ start: '00-15-5D-52-C0-00', end: '00-15-5D-52-CF-FF' }],
      flags: NETWORK_FLAGS.EnableNonPersistent,
    });
    expect(serializeDocument(doc)).toBe(fixture('network-l2bridge.json'));
  });

  test('empty lists and unset values are left out, as HCN writers omit them', () => {
    const text = serializeDocument(
      buildNetwork({ name: 'bare', type: 'Private', policies: [], subnets: [], dns: {} }),
    );
    expect(text).toBe('{"Name":"bare","Type":"Private","SchemaVersion":{"Major":2,"Minor":0}}');
  });
});

describe('HostComputeEndpoint', () => {
  test('NAT endpoint: addresses, routes, DNS, MAC, port mappings, outbound NAT with exceptions', () => {
    const doc = buildEndpoint({
      name: 'c0ffee_eth0',
      networkId: NETWORK_ID,
      addresses: ['172.20.0.5/16'],
      routes: [{ destination: '0.0.0.0/0', nextHop: '172.20.0.1' }],
      dns: { nameservers: ['172.20.0.1'], search: ['svc.cluster.local'] },
      mac: '00:15:5d:01:02:03',
      policies: [
        portMappingPolicy({ protocol: 'tcp', internalPort: 80, externalPort: 8080 }),
        portMappingPolicy({ protocol: 'udp', internalPort: 53, externalPort: 5353, vip: '192.168.1.10' }),
        outboundNatPolicy({ exceptions: ['10.0.0.0/8', '172.20.0.0/16'] }),
      ],
    });
    expect(serializeDocument(doc)).toBe(fixture('endpoint-nat.json'));
  });

  test('sdnbridge endpoint: ACL, SDNRoute, QOS, L4Proxy, PortName, EncapOverhead, ProviderAddress, dual stack', () => {
    const doc = buildEndpoint({
      name: 'pod1_eth0',
      networkId: NETWORK_ID,
      addresses: ['10.244.1.5/24', 'fd00:1::5/64'],
      routes: [
        { destination: '0.0.0.0/0', nextHop: '10.244.1.1' },
        { destination: '::/0', nextHop: 'fd00:1::1', metric: 10 },
      ],
      mac: '00-15-5d-0a-0b-0c',
      policies: [
        aclPolicy({
          action: 'allow',
          direction: 'in',
          protocols: ['6'],
          remoteAddresses: ['10.0.0.0/8'],
          localPorts: [80, 443],
          ruleType: 'Switch',
          priority: 200,
        }),
        aclPolicy({ action: 'block', direction: 'out', protocols: [], priority: 1000 }),
        sdnRoutePolicy({ destination: '10.96.0.0/12', nextHop: '10.244.1.1', needEncap: true }),
        qosPolicy({ maximumOutgoingBytesPerSecond: 1_250_000 }),
        l4ProxyPolicy({
          IP: '127.0.0.1',
          Port: '15001',
          Protocol: 6,
          Exceptions: ['10.96.0.10'],
          Destination: '10.244.1.5',
          OutboundNAT: true,
        }),
        portNamePolicy('pod1-port'),
        encapOverheadPolicy(50),
        providerAddressEndpointPolicy('192.168.1.10'),
      ],
    });
    expect(serializeDocument(doc)).toBe(fixture('endpoint-sdnbridge.json'));
  });

  test('IP configurations and MACs are written as HNS spells them', () => {
    expect(buildIpConfig('fd00::0005/64')).toEqual({ IpAddress: 'fd00::5', PrefixLength: 64 });
    expect(toHcnMac('0a:0b:0c:0d:0e:0f')).toBe('0A-0B-0C-0D-0E-0F');
    expect(toHcnMac('0a0b0c0d0e0f')).toBe('0A-0B-0C-0D-0E-0F');
    expect(toHcnMac('0a:0b:0c')).toBeUndefined();
  });

  test('bad input is refused before anything reaches HCN', () => {
    const base = { name: 'e', networkId: NETWORK_ID };
    expect(() => buildEndpoint({ ...base, networkId: 'nat' })).toThrow(/network ID is not a GUID/);
    expect(() => buildEndpoint({ ...base, mac: 'zz:00' })).toThrow(/not a MAC/);
    expect(() => buildEndpoint({ ...base, addresses: ['10.0.0.5'] })).toThrow(/prefix length/);
  });
});

describe('HostComputeNamespace, modify requests, queries', () => {
  test('namespace create document', () => {
    expect(serializeDocument(buildNamespace({ type: 'Host', readyOnCreate: true }))).toBe(
      fixture('namespace-host.json'),
    );
    expect(serializeDocument(buildNamespace())).toBe('{"Type":"Host","SchemaVersion":{"Major":2,"Minor":0}}');
  });

  test('attach and detach an endpoint', () => {
    expect(serializeDocument(namespaceAddEndpoint(ENDPOINT_ID))).toBe(
      fixture('modify-namespace-add-endpoint.json'),
    );
    expect(serializeDocument(namespaceRemoveEndpoint(ENDPOINT_ID))).toBe(
      fixture('modify-namespace-remove-endpoint.json'),
    );
    expect(() => namespaceAddEndpoint('c0ffee')).toThrow(/not an endpoint GUID/);
  });

  test('endpoint and network policy requests', () => {
    const mapping = portMappingPolicy({ protocol: 'tcp', internalPort: 443, externalPort: 8443 });
    expect(serializeDocument(endpointPolicyRequest('Add', [mapping]))).toBe(
      fixture('modify-endpoint-add-policy.json'),
    );
    expect(serializeDocument(endpointPolicyRequest('Remove', [mapping]))).toBe(
      fixture('modify-endpoint-remove-policy.json'),
    );
    expect(serializeDocument(networkPolicyRequest('Add', [hostRoutePolicy()]))).toBe(
      '{"ResourceType":"Policy","RequestType":"Add","Settings":{"Policies":[{"Type":"HostRoute","Settings":{}}]}}',
    );
  });

  test('the Filter is a JSON object serialised into a string', () => {
    expect(serializeDocument(buildQuery({ name: 'nat' }))).toBe(fixture('query-by-name.json'));
    expect(serializeDocument(buildQuery({ networkId: '5C6A0B4E-1F2D-4C3B-9A8E-7D6C5B4A3F21' }))).toBe(
      fixture('query-endpoints-of-network.json'),
    );
    expect(serializeDocument(buildQuery())).toBe(fixture('query-all.json'));
    const filter = JSON.parse(buildQuery({ name: 'a"b' }).Filter ?? '');
    expect(filter).toEqual({ Name: 'a"b' });
  });
});
