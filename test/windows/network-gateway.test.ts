// The HCN network document for a gateway-mode spec (the bridge plugin's isGateway): HNS gives
// the host the next hop of each subnet's default route, so the spec's host addresses become
// those next hops when the subnet names no gateway of its own.
import { describe, expect, test } from 'vitest';
import { networkDocument } from '../../hns/network.ts';
import type { NetworkSpec } from '../../platform/types.ts';

const spec: NetworkSpec = {
  name: 'cbr',
  mode: 'nat',
  deviceName: 'cni0',
  subnets: [{ cidr: '10.77.0.0/24' }, { cidr: 'fd78::/64' }],
  hostAddresses: ['10.77.0.1/24', 'fd78::1/64'],
  forwardFamilies: [4, 6],
};

const subnetsOf = (s: NetworkSpec) =>
  networkDocument(s)
    .Ipams?.flatMap((ipam) => ipam.Subnets ?? [])
    .map((sub) => [sub.IpAddressPrefix, sub.Routes]);

describe('networkDocument', () => {
  test('a host address in a subnet without a gateway becomes that subnet’s default route', () => {
    expect(subnetsOf(spec)).toEqual([
      ['10.77.0.0/24', [{ NextHop: '10.77.0.1', DestinationPrefix: '0.0.0.0/0' }]],
      ['fd78::/64', [{ NextHop: 'fd78::1', DestinationPrefix: '::/0' }]],
    ]);
  });

  test('a subnet’s own gateway wins; host addresses outside every subnet are not used', () => {
    const own = {
      ...spec,
      subnets: [{ cidr: '10.77.0.0/24', gateway: '10.77.0.254' }],
      hostAddresses: ['10.77.0.1/24'],
    };
    expect(subnetsOf(own)).toEqual([
      ['10.77.0.0/24', [{ NextHop: '10.77.0.254', DestinationPrefix: '0.0.0.0/0' }]],
    ]);
    const elsewhere = { ...spec, subnets: [{ cidr: '10.77.0.0/24' }], hostAddresses: ['192.0.2.1/24'] };
    expect(subnetsOf(elsewhere)).toEqual([['10.77.0.0/24', undefined]]);
  });

  test('without host addresses (no gateway mode) subnets carry no default route', () => {
    expect(subnetsOf({ ...spec, hostAddresses: [] })).toEqual([
      ['10.77.0.0/24', undefined],
      ['fd78::/64', undefined],
    ]);
  });
});
