/**
 * What an OS runner provides to play the cross-OS scenarios (scenario-runner.ts): invoking a
 * plugin, making and losing namespaces, establishing preconditions, and reading back what the
 * OS holds for an attachment in the scenario table's OS-neutral terms. test/linux and
 * test/windows each implement it; nothing else here knows an OS.
 */
import type { ResultDns } from '../../plugins/sdk/result.ts';
import type {
  AttachmentName,
  Forwarding,
  NetworkList,
  Precondition,
  ScenarioRun,
} from './bridge-loopback-scenarios.ts';
import type { InvokePlugin } from './chain.ts';

export interface Attachment {
  name: AttachmentName;
  containerId: string;
  ifname: string;
  /** CNI_NETNS as ADD got it. */
  netns: string;
  /** The cached ADD result (libcni's cache), until DEL. */
  result?: Record<string, unknown>;
  /** Addresses (plain IPs) the attachment had, to look for leftovers after it is gone. */
  formerIps: string[];
}

/** What the OS holds for one attachment, in the scenario table's terms. */
export interface Observation {
  /** The container interface exists in the namespace and is plugged into the network. */
  attached: boolean;
  /** CIDRs on the container interface (link-local ones left out). */
  addresses: string[];
  /** Routes in force for the container interface. */
  routes: Array<{ dst: string; gw?: string }>;
  /** DNS the OS itself gives the container; null where only the result carries it (Linux). */
  dns: ResultDns | undefined | null;
  /** CIDRs the host holds on the network as gateway. */
  hostGateways: string[];
  /** Outbound NAT of the attachment's addresses, with its exceptions. */
  outboundNat?: { exceptions: string[] };
  forwardings: Forwarding[];
}

export interface ScenarioDriver {
  readonly os: 'linux' | 'windows';
  readonly cniPath: string;
  invoke: InvokePlugin;
  /** A namespace for a new attachment; returns what CNI_NETNS carries. */
  createNamespace(attachment: AttachmentName): Promise<string>;
  /** The runtime lost the attachment's sandbox: remove its namespace where the OS can. */
  loseNamespace(netns: string): Promise<void>;
  /** Make `given` true for the network of `list`. */
  establish(given: Precondition, list: NetworkList, run: ScenarioRun): Promise<void>;
  observe(list: NetworkList, run: ScenarioRun, attachment: Attachment): Promise<Observation>;
  /** lo in the namespace; null where the OS has nothing to observe (a Windows compartment). */
  observeLoopback(attachment: Attachment): Promise<{ up: boolean; addresses: string[] } | null>;
}
