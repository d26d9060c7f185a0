// Parsing HNS answers at the edge: typed values out, unknown keys tolerated, wrong types named.
import { describe, expect, test } from 'vitest';
import { HcnResponseError } from '../../hns/errors.ts';
import { endpointPolicySettings } from '../../hns/schema/endpoint-policy.ts';
import { endpointAddresses, fromHcnMac, parseEndpoint } from '../../hns/schema/endpoint.ts';
import { namespaceEndpointIds, parseNamespace } from '../../hns/schema/namespace.ts';
import { networkPolicySettings } from '../../hns/schema/network-policy.ts';
import { networkSubnets, parseNetwork } from '../../hns/schema/network.ts';
import { parseIdList } from '../../hns/schema/query.ts';
import { dnsToSpec } from '../../hns/schema/route-dns.ts';
import { fixture } from './emulator-harness.ts';

const answer = (name: string) => JSON.parse(fixture(name)) as unknown;

function responseError(fn: () => unknown): HcnResponseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HcnResponseError) return e;
    throw e;
  }
  throw new Error('expected an HcnResponseError');
}

describe('network answers', () => {
  test('typed values from an HNS answer with keys this schema does not know', () => {
    const network = parseNetwork(answer('answer-network.json'));
    expect(network.ID).toBe('5C6A0B4E-1F2D-4C3B-9A8E-7D6C5B4A3F21');
    expect(network.Type).toBe('NAT');
    expect(network.SchemaVersion).toEqual({ Major: 2, Minor: 16 });
    expect(networkSubnets(network).map((s) => s.IpAddressPrefix)).toEqual(['172.20.0.0/16']);
    expect(networkSubnets(network)[0]?.Routes).toEqual([
      { NextHop: '172.20.0.1', DestinationPrefix: '0.0.0.0/0', Metric: 0 },
    ]);
    expect(networkPolicySettings(network.Policies, 'NetAdapterName')).toEqual([
      { NetworkAdapterName: 'Ethernet' },
    ]);
    // A policy type HNS added later is kept as it came, not refused.
    expect(network.Policies?.[1]).toEqual({ Type: 'SomeFuturePolicy', Settings: { Knob: 3 } });
    // Older HNS spelled the DNS domain "Suffix".
    expect(dnsToSpec(network.Dns)).toMatchObject({ domain: 'corp.example', nameservers: ['172.20.0.1'] });
    expect(network).not.toHaveProperty('Health');
  });

  test('a missing ID or a wrongly typed field is an error naming its path', () => {
    expect(responseError(() => parseNetwork({ Name: 'nat' })).path).toBe('network.ID');
    const bad = { ID: 'x', Ipams: [{ Subnets: [{ IpAddressPrefix: 10 }] }] };
    expect(responseError(() => parseNetwork(bad)).path).toBe('network.Ipams[0].Subnets[0].IpAddressPrefix');
    expect(
      responseError(() => parseNetwork({ ID: 'x', SchemaVersion: { Major: 1, Minor: 0 } })).message,
    ).toMatch(/SchemaVersion\.Major: expected 2/);
    expect(() => parseNetwork('[]')).toThrow(HcnResponseError);
  });

  test('an unknown network type is kept, known ones are normalised', () => {
    expect(parseNetwork({ ID: 'x', Type: 'nat' }).Type).toBe('NAT');
    expect(parseNetwork({ ID: 'x', Type: 'Mirrored' }).Type).toBe('Mirrored');
  });
});

describe('endpoint answers', () => {
  test('typed policies, addresses, namespace and MAC', () => {
    const endpoint = parseEndpoint(answer('answer-endpoint.json'));
    expect(endpoint.HostComputeNamespace).toBe('7E8F9A0B-1C2D-4E3F-8A4B-5C6D7E8F9A0B');
    expect(endpointAddresses(endpoint)).toEqual(['172.20.0.5/16']);
    expect(fromHcnMac(endpoint.MacAddress ?? '')).toBe('00:15:5d:01:02:03');
    expect(endpointPolicySettings(endpoint.Policies, 'PortMapping')).toEqual([
      { Protocol: 6, InternalPort: 80, ExternalPort: 8080, Flags: 0, VIP: undefined },
    ]);
    expect(endpointPolicySettings(endpoint.Policies, 'OutBoundNAT')).toEqual([
      { Exceptions: ['10.0.0.0/8'], VirtualIP: undefined },
    ]);
    expect(endpointPolicySettings(endpoint.Policies, 'ACL')).toEqual([]);
  });

  test('the builders’ documents read back as the same values', () => {
    for (const name of ['endpoint-nat.json', 'endpoint-sdnbridge.json']) {
      const doc = JSON.parse(fixture(name)) as Record<string, unknown>;
      const parsed = parseEndpoint({ ...doc, ID: '0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D' });
      expect(JSON.parse(JSON.stringify(parsed))).toEqual({
        ...doc,
        ID: '0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D',
      });
    }
  });

  test('malformed settings of a known policy are refused with their path', () => {
    const bad = { ID: 'x', Policies: [{ Type: 'PortMapping', Settings: { Protocol: 'tcp' } }] };
    expect(responseError(() => parseEndpoint(bad)).path).toBe('endpoint.Policies[0].Settings.Protocol');
    const acl = { ID: 'x', Policies: [{ Type: 'ACL', Settings: { Action: 'Maybe', Direction: 'In' } }] };
    expect(responseError(() => parseEndpoint(acl)).path).toBe('endpoint.Policies[0].Settings.Action');
    const port = { ID: 'x', Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 70000 } }] };
    expect(responseError(() => parseEndpoint(port)).message).toMatch(/out of range/);
    expect(
      responseError(() => endpointAddresses({ IpConfigurations: [{ IpAddress: '10.0.0.1' }] })).path,
    ).toBe('endpoint.IpConfigurations[0]');
  });
});

describe('namespace answers and ID lists', () => {
  test('attached endpoints are read from Resources', () => {
    const ns = parseNamespace(answer('answer-namespace.json'));
    expect(ns.NamespaceId).toBe(3);
    expect(ns.Type).toBe('Host');
    expect(namespaceEndpointIds(ns)).toEqual(['0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D']);
  });

  test('enumerate answers are GUID lists in HCN spelling', () => {
    expect(parseIdList('["5c6a0b4e-1f2d-4c3b-9a8e-7d6c5b4a3f21"]', 'ids')).toEqual([
      '5C6A0B4E-1F2D-4C3B-9A8E-7D6C5B4A3F21',
    ]);
    expect(parseIdList('', 'ids')).toEqual([]);
    expect(() => parseIdList('{"a":1}', 'ids')).toThrow(/expected a JSON array/);
    expect(() => parseIdList('["nat"]', 'ids')).toThrow(/ids\[0\]: not a GUID/);
    expect(() => parseIdList('[', 'ids')).toThrow(/not valid JSON/);
  });
});
