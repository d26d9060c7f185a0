/**
 * Scenarios for the bridge and loopback plugins that both operating systems must pass: a network
 * configuration list, a sequence of runtime commands on named attachments, and after each step
 * the outcome an operator would observe, in OS-neutral terms (the container's addresses, its
 * routes, DNS in the result, outbound NAT with its exceptions, forwarded ports, nothing left
 * after DEL, allocations released). test/linux/scenarios-linux.test.ts checks the outcome on the
 * kernel (addresses and routes in the netns, nftables), test/windows/scenarios-windows.test.ts
 * on the emulated HNS (the network, the endpoint's IP configurations, routes, DNS and policies,
 * the namespace). The table knows neither OS; the runners know nothing of any one scenario.
 */
import type { ResultDns, ResultRoute } from '../../plugins/sdk/result.ts';

/** Names unique to one run of a scenario. */
export interface ScenarioRun {
  network: string;
  /** Device name for the bridge (Linux: the bridge; Windows: reported, HCN names the network). */
  bridge: string;
  /** host-local's store. */
  dataDir: string;
}

/** A network configuration list as a runtime holds it (libcni's NetworkConfigList). */
export interface NetworkList {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown>>;
}

/** An attachment of the scenario: a container (its own namespace) plugged in as `ifname`. */
export type AttachmentName = 'a' | 'b';

export interface Forwarding {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  /** The container address the port leads to, and the port there. */
  containerIp: string;
  containerPort: number;
}

/** What ADD must give and leave, on either OS. */
export interface AttachmentOutcome {
  /** result.ips, in order (the interface index differs per OS and is checked separately). */
  ips: Array<{ address: string; gateway?: string }>;
  /** result.routes, exactly; each must also be in force for the container. */
  routes: ResultRoute[];
  /** result.dns, exactly (absent: none). */
  dns?: ResultDns;
  /** Addresses (CIDR) the host holds on the switch as the containers' gateway; absent: none. */
  hostGateways?: string[];
  /** Outbound NAT of the container's addresses except towards these prefixes; absent: no NAT. */
  outboundNat?: { exceptions: string[] };
  /** Host ports forwarded to the container; absent: none. */
  forwardings?: Forwarding[];
}

/** What the loopback plugin's ADD must give: lo up with its addresses, in the result too. */
export interface LoopbackOutcome {
  loopback: { addresses: string[] };
}

/** Something that already exists when a step runs, made by each runner in its OS's terms. */
export type Precondition =
  /** The switch the config names exists and is of another kind (a non-bridge device; an HCN network of another type). */
  'conflicting-network';

export type Step =
  | { command: 'ADD'; attachment: AttachmentName; expect: AttachmentOutcome | LoopbackOutcome }
  /** An ADD that must fail with `code`, leaving no attachment and no allocation. */
  | {
      command: 'ADD';
      attachment: AttachmentName;
      given: Precondition;
      expectError: { code: number; msg: RegExp };
    }
  /** CHECK with the cached ADD result must pass. */
  | { command: 'CHECK'; attachment: AttachmentName }
  /**
   * DEL with the cached result; with `withoutNamespace`, as containerd's second DEL (CNI_NETNS
   * empty, no cached result). Afterwards nothing of the attachment may remain.
   */
  | { command: 'DEL'; attachment: AttachmentName; withoutNamespace?: boolean }
  /**
   * The runtime lost `lost` (its sandbox is gone where the OS can remove it) and runs GC with
   * `valid`: what `lost` held (addresses, NAT, forwardings, its endpoint) goes, `valid` stays.
   */
  | { command: 'GC'; valid: AttachmentName[]; lost: AttachmentName[] };

/** One part of an outcome, as the runners observe it. */
export type Aspect =
  | 'result'
  | 'attached'
  | 'addresses'
  | 'routes'
  | 'dns'
  | 'host-gateways'
  | 'outbound-nat'
  | 'forwardings'
  | 'allocations'
  | 'loopback'
  | 'gone';

/**
 * A part of the outcome one OS does not give yet. The runner then expects that aspect's check
 * to fail (and fails itself once it passes, so a fixed gap is taken out of the table).
 */
export interface KnownGap {
  os: 'linux' | 'windows';
  aspect: Aspect;
  why: string;
}

export interface CrossOsScenario {
  name: string;
  list(run: ScenarioRun): NetworkList;
  /** CNI_IFNAME of every attachment. */
  ifname: string;
  /** Runtime arguments for the capabilities plugins declare (libcni's CapabilityArgs). */
  capabilityArgs?: Record<string, unknown>;
  steps: Step[];
  knownGaps?: KnownGap[];
}

export const CNI_VERSION = '1.1.0';

const list = (run: ScenarioRun, ...plugins: Array<Record<string, unknown>>): NetworkList => ({
  cniVersion: CNI_VERSION,
  name: run.network,
  plugins,
});

const hostLocal = (run: ScenarioRun, ranges: Array<Array<Record<string, string>>>) => ({
  type: 'host-local',
  ranges,
  dataDir: run.dataDir,
});

const V4_OUTCOME: AttachmentOutcome = {
  ips: [{ address: '10.77.0.2/24', gateway: '10.77.0.1' }],
  hostGateways: ['10.77.0.1/24'],
  routes: [{ dst: '0.0.0.0/0', gw: '10.77.0.1' }],
  dns: { nameservers: ['10.77.0.53'], search: ['svc.example'] },
  outboundNat: { exceptions: ['10.77.0.0/24'] },
};

export const SCENARIOS: CrossOsScenario[] = [
  {
    name: 'bridge: gateway, default route, DNS, masquerade except the subnet; CHECK, GC, DEL twice',
    ifname: 'eth0',
    list: (run) =>
      list(run, {
        type: 'bridge',
        bridge: run.bridge,
        isDefaultGateway: true,
        ipMasq: true,
        dns: { nameservers: ['10.77.0.53'], search: ['svc.example'] },
        ipam: hostLocal(run, [[{ subnet: '10.77.0.0/24' }]]),
      }),
    steps: [
      { command: 'ADD', attachment: 'a', expect: V4_OUTCOME },
      { command: 'CHECK', attachment: 'a' },
      {
        command: 'ADD',
        attachment: 'b',
        expect: { ...V4_OUTCOME, ips: [{ address: '10.77.0.3/24', gateway: '10.77.0.1' }] },
      },
      { command: 'GC', valid: ['a'], lost: ['b'] },
      { command: 'CHECK', attachment: 'a' },
      { command: 'DEL', attachment: 'a' },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
  {
    name: 'bridge: dual-stack gateway and default routes, masquerade per family',
    ifname: 'eth0',
    list: (run) =>
      list(run, {
        type: 'bridge',
        bridge: run.bridge,
        isDefaultGateway: true,
        ipMasq: true,
        ipam: hostLocal(run, [[{ subnet: '10.78.0.0/24' }], [{ subnet: 'fd78::/64' }]]),
      }),
    steps: [
      {
        command: 'ADD',
        attachment: 'a',
        expect: {
          ips: [
            { address: '10.78.0.2/24', gateway: '10.78.0.1' },
            { address: 'fd78::2/64', gateway: 'fd78::1' },
          ],
          hostGateways: ['10.78.0.1/24', 'fd78::1/64'],
          routes: [
            { dst: '0.0.0.0/0', gw: '10.78.0.1' },
            { dst: '::/0', gw: 'fd78::1' },
          ],
          outboundNat: { exceptions: ['10.78.0.0/24', 'fd78::/64'] },
        },
      },
      { command: 'CHECK', attachment: 'a' },
      { command: 'DEL', attachment: 'a' },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
  {
    name: 'bridge: static IPAM with its routes and DNS, no gateway on the switch, no NAT',
    ifname: 'net1',
    list: (run) =>
      list(run, {
        type: 'bridge',
        bridge: run.bridge,
        ipam: {
          type: 'static',
          addresses: [{ address: '192.0.2.10/24', gateway: '192.0.2.1' }],
          routes: [{ dst: '198.51.100.0/24', gw: '192.0.2.254' }],
          dns: { nameservers: ['192.0.2.53'], domain: 'example.test' },
        },
      }),
    steps: [
      {
        command: 'ADD',
        attachment: 'a',
        expect: {
          ips: [{ address: '192.0.2.10/24', gateway: '192.0.2.1' }],
          routes: [{ dst: '198.51.100.0/24', gw: '192.0.2.254' }],
          dns: { nameservers: ['192.0.2.53'], domain: 'example.test' },
        },
      },
      { command: 'CHECK', attachment: 'a' },
      { command: 'DEL', attachment: 'a' },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
  {
    name: 'bridge + portmap: forwarded TCP and UDP ports; GC and DEL remove them',
    ifname: 'eth0',
    capabilityArgs: {
      portMappings: [
        { hostPort: 18080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 15353, containerPort: 53, protocol: 'udp' },
      ],
    },
    list: (run) =>
      list(
        run,
        {
          type: 'bridge',
          bridge: run.bridge,
          isDefaultGateway: true,
          ipMasq: true,
          ipam: hostLocal(run, [[{ subnet: '10.79.0.0/24' }]]),
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ),
    steps: [
      {
        command: 'ADD',
        attachment: 'a',
        expect: {
          ips: [{ address: '10.79.0.2/24', gateway: '10.79.0.1' }],
          hostGateways: ['10.79.0.1/24'],
          routes: [{ dst: '0.0.0.0/0', gw: '10.79.0.1' }],
          outboundNat: { exceptions: ['10.79.0.0/24'] },
          forwardings: [
            { protocol: 'tcp', hostPort: 18080, containerIp: '10.79.0.2', containerPort: 80 },
            { protocol: 'udp', hostPort: 15353, containerIp: '10.79.0.2', containerPort: 53 },
          ],
        },
      },
      { command: 'CHECK', attachment: 'a' },
      { command: 'DEL', attachment: 'a' },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
  {
    name: 'bridge: ADD against a conflicting network fails and rolls back its allocation',
    ifname: 'eth0',
    list: (run) =>
      list(run, {
        type: 'bridge',
        bridge: run.bridge,
        isGateway: true,
        ipMasq: true,
        ipam: hostLocal(run, [[{ subnet: '10.80.0.0/24' }]]),
      }),
    steps: [
      // CNI error 5 (I/O failure): the switch exists in a shape this config cannot use.
      {
        command: 'ADD',
        attachment: 'a',
        given: 'conflicting-network',
        expectError: { code: 5, msg: /exists but/ },
      },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
  {
    name: 'loopback: lo up with its addresses; CHECK; DEL twice',
    ifname: 'lo',
    list: (run) => list(run, { type: 'loopback' }),
    steps: [
      { command: 'ADD', attachment: 'a', expect: { loopback: { addresses: ['127.0.0.1/8', '::1/128'] } } },
      { command: 'CHECK', attachment: 'a' },
      { command: 'DEL', attachment: 'a' },
      { command: 'DEL', attachment: 'a', withoutNamespace: true },
    ],
  },
];

export function isLoopbackOutcome(outcome: AttachmentOutcome | LoopbackOutcome): outcome is LoopbackOutcome {
  return 'loopback' in outcome;
}
