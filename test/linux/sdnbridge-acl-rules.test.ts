// How sdnbridge's ACLs (HCN ACL policies) read as nftables rules on the container's bridge port,
// pure: direction decides which side is "local", families split, priorities order, and rules
// that can match nothing are left out.
import { describe, expect, test } from 'vitest';
import { aclRules, aclsInOrder } from '../../linux/acl-rules.ts';
import type { AclSpec } from '../../platform/types.ts';

const acl = (extra: Partial<AclSpec>): AclSpec => ({
  action: 'block',
  direction: 'out',
  priority: 100,
  ...extra,
});

describe('ACL rules', () => {
  test('out: local is the source; in: local is the destination; ports follow', () => {
    expect(
      aclRules(
        acl({
          localAddresses: ['10.0.0.5'],
          remoteAddresses: ['192.0.2.0/24'],
          protocols: ['6'],
          remotePorts: [443],
        }),
      ),
    ).toEqual([
      'meta protocol ip ip saddr 10.0.0.5/32 ip daddr 192.0.2.0/24 meta l4proto 6 th dport 443 drop',
    ]);
    expect(
      aclRules(
        acl({
          direction: 'in',
          action: 'allow',
          remoteAddresses: ['192.0.2.7'],
          protocols: ['17'],
          localPorts: [53, 5353],
        }),
      ),
    ).toEqual(['meta protocol ip ip saddr 192.0.2.7/32 meta l4proto 17 th dport { 53, 5353 } accept']);
  });

  test('no addresses: every IP family, and nothing else (ARP always passes)', () => {
    expect(aclRules(acl({ action: 'allow' }))).toEqual(['meta protocol { ip, ip6 } accept']);
    expect(aclRules(acl({ localPorts: [80] }))).toEqual([
      'meta protocol { ip, ip6 } meta l4proto { 6, 17 } th sport 80 drop',
    ]);
  });

  test('mixed families split; a family missing from a given list cannot match; nested prefixes merge', () => {
    expect(
      aclRules(acl({ remoteAddresses: ['10.1.0.0/16', 'fd00::/64', '10.1.2.3', '10.0.0.0/8'] })),
    ).toEqual(['meta protocol ip ip daddr 10.0.0.0/8 drop', 'meta protocol ip6 ip6 daddr fd00::/64 drop']);
    expect(aclRules(acl({ localAddresses: ['10.0.0.5'], remoteAddresses: ['fd00::1'] }))).toEqual([]);
  });

  test('ports with only port-less protocols can match nothing', () => {
    expect(aclRules(acl({ protocols: ['1'], remotePorts: [80] }))).toEqual([]);
  });

  test('evaluation order: by priority, config order among equals, one direction at a time', () => {
    const list = [
      acl({ priority: 2000, action: 'allow' }),
      acl({ priority: 100, remoteAddresses: ['192.0.2.1'] }),
      acl({ priority: 100, direction: 'in' }),
      acl({ priority: 100, remoteAddresses: ['192.0.2.2'] }),
    ];
    expect(aclsInOrder(list, 'out')).toEqual([list[1], list[3], list[0]]);
    expect(aclsInOrder(list, 'in')).toEqual([list[2]]);
  });
});
