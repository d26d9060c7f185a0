/**
 * The shape of a cross-OS scenario of nat or sdnbridge: a sample config and what an operator
 * must observe. The CNI result (addresses, gateways, routes, DNS) is one expectation for both
 * OSes; the `linux` block says what the kernel must show and do (linux-runner.ts), the
 * `windows` block what HNS must hold (windows-runner.ts).
 */
import type { ResultDns, ResultRoute } from '../../plugins/sdk/result.ts';

/** Per-run values: names unique to the run, where host-local keeps its store. */
export interface ScenarioRun {
  network: string;
  dataDir: string;
}

/** An HCN policy as HNS stores it on the endpoint (absent settings omitted). */
export interface HcnPolicyExpectation {
  Type: string;
  Settings: Record<string, unknown>;
}

/** A TCP probe on Linux: who connects where, and what the server must see. */
export interface TcpProbe {
  /**
   * 'container' connects out of the container, 'client' from the outside namespace, 'host' from
   * the host itself; the server runs in the container when `serverPort` is given, else outside.
   */
  from: 'container' | 'client' | 'host';
  to: string;
  port: number;
  /** Where the server listens when it is not `port` (a mapped port's container port). */
  serverPort?: number;
  /** The source address the server sees ('blocked': no connection at all). */
  expect: { peer: string } | 'blocked';
  /** The probe needs linux/port-mappings.ts (the DNAT of a mapped port). */
  needsPortMappings?: boolean;
}

export interface WcnScenario {
  name: string;
  plugin: 'nat' | 'sdnbridge';
  /** The config as an operator writes it; `master` is "Ethernet" on both OSes. */
  config(run: ScenarioRun): Record<string, unknown>;
  cniArgs?: string;
  /** The CNI result both OSes must give (converted to the config's cniVersion 1.0.0). */
  result: { ips: Array<{ address: string; gateway: string }>; routes: ResultRoute[]; dns?: ResultDns };
  linux: {
    /** Masquerade exceptions that must be in the network's nft rule (besides multicast). */
    masqueradeExceptions?: string[];
    /** Host ports that must be forwarded to a container address and port. */
    dnat?: Array<{ hostPort: number; ip: string; port: number }>;
    /** Text each ACL chain of the attachment must contain, per direction. */
    aclRules?: { out?: string[]; in?: string[] };
    hairpin?: boolean;
    /** The outside: the uplink's segment (sdnbridge) or a client network (nat). */
    outside: { hostAddress?: string; address: string; extra?: string[]; routesViaOutside?: string[] };
    probes: TcpProbe[];
  };
  windows: {
    networkType: 'NAT' | 'L2Bridge';
    networkPolicies: HcnPolicyExpectation[];
    subnets: Array<{
      IpAddressPrefix: string;
      Routes: Array<{ NextHop: string; DestinationPrefix: string }>;
    }>;
    endpointRoutes: Array<{ NextHop: string; DestinationPrefix: string }>;
    dns?: { ServerList?: string[]; Search?: string[] };
    /** Every policy of the endpoint, in document order. */
    policies: HcnPolicyExpectation[];
  };
}

/** The keys every sample starts from; `master` is "Ethernet" on both OSes. */
export const base = (run: ScenarioRun, type: string) => ({
  cniVersion: '1.0.0',
  name: run.network,
  type,
  master: 'Ethernet',
  capabilities: { portMappings: true, dns: true },
});
