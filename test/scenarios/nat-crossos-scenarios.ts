/**
 * The nat plugin's entries for the step-based cross-OS table (bridge-loopback-scenarios.ts's
 * CrossOsScenario): a windows-container-networking nat config, unchanged but for the per-run
 * names, played through ADD, CHECK, GC and DEL by the shared runners (scenario-runner.ts). A
 * runner plays them when its plugin map knows `nat`. The richer checks of nat and sdnbridge
 * (TCP through mapped ports, ACLs, SDN routes, HCN documents) are in wcn-scenarios.ts.
 */
import { CNI_VERSION, type AttachmentOutcome, type CrossOsScenario } from './bridge-loopback-scenarios.ts';

/** What ADD of the first attachment gives, on either OS. */
const FIRST: AttachmentOutcome = {
  ips: [{ address: '10.81.0.2/24', gateway: '10.81.0.1' }],
  hostGateways: ['10.81.0.1/24'],
  routes: [{ dst: '0.0.0.0/0', gw: '10.81.0.1' }],
  dns: { nameservers: ['10.81.0.53'], search: ['svc.cluster.local'] },
  outboundNat: { exceptions: ['10.81.0.0/24'] },
  forwardings: [{ protocol: 'tcp', hostPort: 18181, containerIp: '10.81.0.2', containerPort: 80 }],
};

export const NAT_CROSS_OS_SCENARIOS: CrossOsScenario[] = [
  {
    name: 'nat (WCN config): gateway, DNS, outbound NAT except the subnet, port mapping; CHECK, DEL twice',
    ifname: 'eth0',
    capabilityArgs: { portMappings: [{ HostPort: 18181, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }] },
    list: (run) => ({
      cniVersion: CNI_VERSION,
      name: run.network,
      plugins: [
        {
          type: 'nat',
          master: 'Ethernet',
          bridge: run.bridge,
          capabilities: { portMappings: true, dns: true },
          ipam: { subnet: '10.81.0.0/24', routes: [{ GW: '10.81.0.1' }], dataDir: run.dataDir },
          dns: { Nameservers: ['10.81.0.53'], Search: ['svc.cluster.local'] },
        },
      ],
    }),
    steps: [
      { command: 'ADD', attachment: 'a', expect: FIRST },
      { command: 'CHECK', attachment: 'a' },
      { command: 'DEL', attachment: 'a' },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
  {
    name: 'nat (host-local IPAM): two attachments, GC removes the lost one’s NAT, forwarding and address',
    ifname: 'eth0',
    list: (run) => ({
      cniVersion: CNI_VERSION,
      name: run.network,
      plugins: [
        {
          type: 'nat',
          bridge: run.bridge,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.82.0.0/24' }]], dataDir: run.dataDir },
        },
      ],
    }),
    steps: [
      {
        command: 'ADD',
        attachment: 'a',
        expect: {
          ips: [{ address: '10.82.0.2/24', gateway: '10.82.0.1' }],
          hostGateways: ['10.82.0.1/24'],
          routes: [{ dst: '0.0.0.0/0', gw: '10.82.0.1' }],
          outboundNat: { exceptions: ['10.82.0.0/24'] },
        },
      },
      {
        command: 'ADD',
        attachment: 'b',
        expect: {
          ips: [{ address: '10.82.0.3/24', gateway: '10.82.0.1' }],
          hostGateways: ['10.82.0.1/24'],
          routes: [{ dst: '0.0.0.0/0', gw: '10.82.0.1' }],
          outboundNat: { exceptions: ['10.82.0.0/24'] },
        },
      },
      { command: 'GC', valid: ['a'], lost: ['b'] },
      { command: 'CHECK', attachment: 'a' },
      { command: 'DEL', attachment: 'a' },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
  {
    name: 'nat: ADD against a conflicting network fails and rolls back its allocation',
    ifname: 'eth0',
    list: (run) => ({
      cniVersion: CNI_VERSION,
      name: run.network,
      plugins: [
        {
          type: 'nat',
          bridge: run.bridge,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.83.0.0/24' }]], dataDir: run.dataDir },
        },
      ],
    }),
    steps: [
      {
        command: 'ADD',
        attachment: 'a',
        given: 'conflicting-network',
        expectError: { code: 5, msg: /exists but/ },
      },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
];
