/**
 * The nat plugin's cross-OS sample (see wcn-scenario-types.ts for what each field asserts).
 */
import { base, type WcnScenario } from './wcn-scenario-types.ts';

export const NAT_SCENARIOS: WcnScenario[] = [
  {
    name: 'nat with port mappings (WCN nat.conf, containerd runtimeConfig, ACL and local-routed flags)',
    plugin: 'nat',
    config: (run) => ({
      ...base(run, 'nat'),
      ipam: { subnet: '192.168.100.0/24', routes: [{ GW: '192.168.100.1' }], dataDir: run.dataDir },
      dns: { Nameservers: ['10.50.10.50'], Search: ['svc.cluster.local'] },
      optionalFlags: { localRoutedPortMapping: true, allowAclPortMapping: true },
      loopbackDSR: true,
      runtimeConfig: {
        portMappings: [{ HostPort: 18080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }],
        dns: { servers: ['10.50.10.53'] },
      },
    }),
    cniArgs: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0',
    result: {
      ips: [{ address: '192.168.100.2/24', gateway: '192.168.100.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '192.168.100.1' }],
      dns: { nameservers: ['10.50.10.53'], search: ['shop.svc.cluster.local'] },
    },
    linux: {
      masqueradeExceptions: ['192.168.100.0/24'],
      dnat: [{ hostPort: 18080, ip: '192.168.100.2', port: 80 }],
      aclRules: { in: ['tcp dport 80 accept'] },
      hairpin: true,
      outside: { hostAddress: '198.51.100.1/24', address: '198.51.100.2/24' },
      probes: [
        {
          from: 'client',
          to: '198.51.100.1',
          port: 18080,
          serverPort: 80,
          expect: { peer: '198.51.100.2' },
          needsPortMappings: true,
        },
        // localhost and hairpin, as users expect from portmap: both arrive from the gateway.
        {
          from: 'host',
          to: '127.0.0.1',
          port: 18080,
          serverPort: 80,
          expect: { peer: '192.168.100.1' },
          needsPortMappings: true,
        },
        {
          from: 'container',
          to: '198.51.100.1',
          port: 18080,
          serverPort: 80,
          expect: { peer: '192.168.100.1' },
          needsPortMappings: true,
        },
        { from: 'container', to: '198.51.100.2', port: 8080, expect: { peer: '198.51.100.1' } },
      ],
    },
    windows: {
      networkType: 'NAT',
      networkPolicies: [],
      subnets: [
        {
          IpAddressPrefix: '192.168.100.0/24',
          Routes: [{ NextHop: '192.168.100.1', DestinationPrefix: '0.0.0.0/0' }],
        },
      ],
      endpointRoutes: [{ NextHop: '192.168.100.1', DestinationPrefix: '0.0.0.0/0' }],
      dns: { ServerList: ['10.50.10.53'], Search: ['shop.svc.cluster.local'] },
      policies: [
        { Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 18080, Flags: 1 } },
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['192.168.100.0/24'] } },
        {
          Type: 'ACL',
          Settings: {
            Protocols: '6',
            Action: 'Allow',
            Direction: 'In',
            LocalPorts: '80',
            RuleType: 'Switch',
            Priority: 1000,
          },
        },
        { Type: 'OutBoundNAT', Settings: { Destinations: ['192.168.100.2'] } },
      ],
    },
  },
];
