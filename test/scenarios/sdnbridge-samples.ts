/**
 * The sdnbridge plugin's cross-OS samples (see wcn-scenario-types.ts for what each field asserts).
 */
import { base, type WcnScenario } from './wcn-scenario-types.ts';

export const SDNBRIDGE_SCENARIOS: WcnScenario[] = [
  {
    name: 'sdnbridge with OutBoundNAT exceptions, SDN routes (v2 and HNS v1 forms) and ACLs',
    plugin: 'sdnbridge',
    config: (run) => ({
      ...base(run, 'sdnbridge'),
      ipam: { subnet: '192.168.1.0/24', routes: [{ GW: '192.168.1.2' }], dataDir: run.dataDir },
      dns: { Nameservers: ['11.0.0.10'], Search: ['svc.cluster.local'] },
      AdditionalArgs: [
        {
          Name: 'EndpointPolicy',
          Value: {
            Type: 'OutBoundNAT',
            Settings: { Exceptions: ['192.168.0.0/16', '11.0.0.0/8', '10.124.24.0/23'] },
          },
        },
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'SDNRoute', Settings: { DestinationPrefix: '11.0.0.0/8', NeedEncap: true } },
        },
        {
          name: 'EndpointPolicy',
          value: { Type: 'ROUTE', DestinationPrefix: '10.124.24.196/32', NeedEncap: true },
        },
        {
          Name: 'EndpointPolicy',
          Value: {
            Type: 'ACL',
            Settings: {
              Protocols: '6',
              Action: 'Block',
              Direction: 'Out',
              RemoteAddresses: '192.168.1.50',
              RemotePorts: '9999',
              Priority: 100,
            },
          },
        },
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'Out', Priority: 2000 } },
        },
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'In', Priority: 2000 } },
        },
      ],
    }),
    result: {
      // host-local hands out the subnet's first free address; the gateway .2 is excluded.
      ips: [{ address: '192.168.1.1/24', gateway: '192.168.1.2' }],
      routes: [{ dst: '0.0.0.0/0', gw: '192.168.1.2' }, { dst: '11.0.0.0/8' }, { dst: '10.124.24.196/32' }],
      dns: { nameservers: ['11.0.0.10'], search: ['svc.cluster.local'] },
    },
    linux: {
      masqueradeExceptions: ['10.124.24.0/23', '11.0.0.0/8', '192.168.0.0/16'],
      aclRules: {
        out: ['ip daddr 192.168.1.50 tcp dport 9999 drop', 'meta protocol { ip, ip6 } accept'],
        in: ['meta protocol { ip, ip6 } accept'],
      },
      outside: {
        address: '192.168.1.50/24',
        extra: ['203.0.113.1/32', '10.124.24.5/32'],
        routesViaOutside: ['203.0.113.0/24', '10.124.24.0/23'],
      },
      probes: [
        // Not an exception: masqueraded to the gateway address the host holds on the bridge.
        { from: 'container', to: '203.0.113.1', port: 8080, expect: { peer: '192.168.1.2' } },
        // An exception: the container's own address.
        { from: 'container', to: '10.124.24.5', port: 8080, expect: { peer: '192.168.1.1' } },
        // The uplink's segment, switched: the container's own address.
        { from: 'container', to: '192.168.1.50', port: 8080, expect: { peer: '192.168.1.1' } },
        // The Block ACL (priority 100) wins over the Allow (2000).
        { from: 'container', to: '192.168.1.50', port: 9999, expect: 'blocked' },
      ],
    },
    windows: {
      networkType: 'L2Bridge',
      networkPolicies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
      subnets: [
        {
          IpAddressPrefix: '192.168.1.0/24',
          Routes: [{ NextHop: '192.168.1.2', DestinationPrefix: '0.0.0.0/0' }],
        },
      ],
      endpointRoutes: [{ NextHop: '192.168.1.2', DestinationPrefix: '0.0.0.0/0' }],
      dns: { ServerList: ['11.0.0.10'], Search: ['svc.cluster.local'] },
      policies: [
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['192.168.0.0/16', '11.0.0.0/8', '10.124.24.0/23'] } },
        { Type: 'SDNRoute', Settings: { DestinationPrefix: '11.0.0.0/8', NeedEncap: true } },
        { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.124.24.196/32', NeedEncap: true } },
        {
          Type: 'ACL',
          Settings: {
            Protocols: '6',
            Action: 'Block',
            Direction: 'Out',
            RemoteAddresses: '192.168.1.50',
            RemotePorts: '9999',
            RuleType: 'Switch',
            Priority: 100,
          },
        },
        { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'Out', RuleType: 'Switch', Priority: 2000 } },
        { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 2000 } },
      ],
    },
  },
  {
    name: 'sdnbridge dual-stack (WCN l2bridgedualstack_host-local_ipam.conf without VirtualIP)',
    plugin: 'sdnbridge',
    config: (run) => ({
      ...base(run, 'sdnbridge'),
      optionalFlags: { localRoutedPortMapping: true, allowAclPortMapping: false, enableDualStack: true },
      ipam: {
        type: 'host-local',
        dataDir: run.dataDir,
        ranges: [
          [
            {
              subnet: '192.168.1.0/24',
              rangeStart: '192.168.1.10',
              rangeEnd: '192.168.1.50',
              gateway: '192.168.1.2',
            },
          ],
          [{ subnet: 'fd00::100/120', rangeStart: 'fd00::102', rangeEnd: 'fd00::1fe', gateway: 'fd00::101' }],
        ],
      },
      dns: { Nameservers: ['10.127.130.7'], Search: ['svc.cluster.local'] },
      AdditionalArgs: [
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['192.168.0.0/16', '11.0.0.0/8'] } },
        },
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'OutBoundNAT', Settings: { ExceptionList: ['fd00::100/120'] } },
        },
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'SdnRoute', Settings: { DestinationPrefix: 'fd00::200/120', NeedEncap: true } },
        },
      ],
      runtimeConfig: { portMappings: [{ hostPort: 18443, containerPort: 443, protocol: 'tcp' }] },
    }),
    result: {
      ips: [
        { address: '192.168.1.10/24', gateway: '192.168.1.2' },
        { address: 'fd00::102/120', gateway: 'fd00::101' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '192.168.1.2' },
        { dst: '::/0', gw: 'fd00::101' },
        { dst: 'fd00::200/120' },
      ],
      dns: { nameservers: ['10.127.130.7'], search: ['svc.cluster.local'] },
    },
    linux: {
      masqueradeExceptions: ['11.0.0.0/8', '192.168.0.0/16'],
      dnat: [
        { hostPort: 18443, ip: '192.168.1.10', port: 443 },
        { hostPort: 18443, ip: 'fd00::102', port: 443 },
      ],
      outside: { address: '192.168.1.60/24' },
      probes: [
        { from: 'container', to: '192.168.1.60', port: 8080, expect: { peer: '192.168.1.10' } },
        // A peer on the segment reaches the mapped port on the gateway address the host holds.
        {
          from: 'client',
          to: '192.168.1.2',
          port: 18443,
          serverPort: 443,
          expect: { peer: '192.168.1.60' },
          needsPortMappings: true,
        },
      ],
    },
    windows: {
      networkType: 'L2Bridge',
      networkPolicies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
      subnets: [
        {
          IpAddressPrefix: '192.168.1.0/24',
          Routes: [{ NextHop: '192.168.1.2', DestinationPrefix: '0.0.0.0/0' }],
        },
        { IpAddressPrefix: 'fd00::100/120', Routes: [{ NextHop: 'fd00::101', DestinationPrefix: '::/0' }] },
      ],
      endpointRoutes: [
        { NextHop: '192.168.1.2', DestinationPrefix: '0.0.0.0/0' },
        { NextHop: 'fd00::101', DestinationPrefix: '::/0' },
      ],
      dns: { ServerList: ['10.127.130.7'], Search: ['svc.cluster.local'] },
      policies: [
        { Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 443, ExternalPort: 18443, Flags: 1 } },
        { Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 443, ExternalPort: 18443, Flags: 3 } },
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['192.168.0.0/16', '11.0.0.0/8'] } },
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['fd00::100/120'] } },
        { Type: 'SDNRoute', Settings: { DestinationPrefix: 'fd00::200/120', NeedEncap: true } },
      ],
    },
  },
];
