/**
 * The Platform interface: everything plugin logic may ask of the operating system. Linux
 * implements it with rtnetlink and netfilter (linux/), Windows with HCN (hns/). Plugins hold a
 * Platform obtained from `select.ts` and never reach past it.
 *
 * Rules every implementation keeps:
 * - Create operations undo their own partial work before throwing.
 * - Delete operations succeed when the thing is already gone (CNI DEL is idempotent).
 * - Every OS handle opened by a call is closed before the call returns.
 */
import type {
  AttachmentTarget,
  BandwidthSpec,
  EndpointCreated,
  EndpointRef,
  EndpointSpec,
  EndpointState,
  NetworkSpec,
  NetworkState,
  ForwardedPort,
  InterfaceState,
  OutboundNatSpec,
  PortMappingOptions,
  PortMappingSpec,
} from './types.ts';

/** The identity of one attachment as CNI GC lists it (`cni.dev/valid-attachments`). */
export interface AttachmentId {
  containerId: string;
  ifname: string;
}

/** What DEL knows about an endpoint: its identity plus what ADD set up beyond the port itself. */
export interface EndpointTeardown extends EndpointRef {
  /** Addresses the endpoint held (from prevResult or IPAM); used to remove NAT state. */
  addresses: string[];
  outboundNat?: OutboundNatSpec;
  portMappings?: PortMappingSpec[];
}

export interface LoopbackState {
  up: boolean;
  addresses: string[];
}

export interface Platform {
  readonly os: 'linux' | 'windows';

  /** Find or create the network and bring it to the spec (addresses, MTU, forwarding). */
  ensureNetwork(spec: NetworkSpec): Promise<NetworkState>;
  /** The network as it is now, or undefined when it does not exist. */
  inspectNetwork(name: string, deviceName: string): Promise<NetworkState | undefined>;
  /** Remove the network; succeeds when it is already gone. */
  deleteNetwork(name: string, deviceName: string): Promise<void>;

  /**
   * Create the endpoint on the network, place its container side in the namespace, and
   * configure addresses, routes, MAC, MTU and the spec's policies (outbound NAT, ...).
   */
  createEndpoint(network: NetworkState, spec: EndpointSpec): Promise<EndpointCreated>;
  /** The endpoint as it is now, or undefined when the container side does not exist. */
  inspectEndpoint(ref: EndpointRef): Promise<EndpointState | undefined>;
  /** Remove the endpoint and its policies; succeeds on any partial or absent state. */
  deleteEndpoint(teardown: EndpointTeardown): Promise<void>;
  /**
   * Release the network's per-endpoint state (NAT entries, endpoints) that belongs to no
   * attachment in `valid`. Never touches another network's state.
   */
  collectGarbage(network: string, deviceName: string, valid: AttachmentId[]): Promise<void>;

  // ---- chained-plugin operations (portmap, bandwidth) on an attachment another plugin made ----

  /**
   * Forward host ports to the attachment's addresses (one forwarding per mapping and address
   * family the container has). Repeating it is idempotent; 'conflict' when another attachment
   * already has a host port.
   */
  addPortMappings(
    target: AttachmentTarget,
    mappings: PortMappingSpec[],
    options: PortMappingOptions,
  ): Promise<void>;
  /**
   * Stop forwarding to the attachment; succeeds when nothing is forwarded (DEL, twice).
   * `mappings`, when the runtime sent them, let a backend find its entries without listing.
   */
  removePortMappings(target: AttachmentTarget, mappings?: PortMappingSpec[]): Promise<void>;
  /** What is forwarded to the attachment now, for CHECK (of `mappings` only, when given). */
  inspectPortMappings(target: AttachmentTarget, mappings?: PortMappingSpec[]): Promise<ForwardedPort[]>;
  /** Remove the network's forwardings that belong to no attachment in `valid`. */
  collectPortMappings(network: string, valid: AttachmentId[]): Promise<void>;

  /**
   * Limit the attachment's traffic (ingress = towards the container, egress = from it),
   * replacing earlier limits. Returns the devices made for it (Linux: the ifb that carries
   * egress), which the result lists as the reference plugin does. 'unsupported' when the OS
   * cannot limit a direction asked for.
   */
  setBandwidth(target: AttachmentTarget, spec: BandwidthSpec): Promise<InterfaceState[]>;
  /** Remove the limits; succeeds when there are none or the attachment is gone. */
  removeBandwidth(target: AttachmentTarget): Promise<void>;
  /** The limits in force now (fields absent for an unlimited direction), for CHECK. */
  inspectBandwidth(target: AttachmentTarget): Promise<BandwidthSpec>;
  /** Remove the network's limits that belong to no attachment in `valid`. */
  collectBandwidth(network: string, valid: AttachmentId[]): Promise<void>;

  /** Bring the namespace's loopback interface up or down. */
  setLoopback(namespace: string, up: boolean): Promise<void>;
  inspectLoopback(namespace: string): Promise<LoopbackState>;

  /**
   * Run `fn` holding an exclusive lock on `path` (created if missing). The lock is released by
   * the OS if the process dies, so a killed plugin never blocks the next one.
   */
  withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T>;

  /** Create a named namespace for demos and tests; returns what CNI_NETNS should carry. */
  createNamespace(name: string): Promise<string>;
  /** Delete a namespace made by createNamespace; succeeds when it is already gone. */
  deleteNamespace(namespace: string): Promise<void>;
}
