/**
 * The OS-neutral vocabulary of the platform contract: what a plugin asks for (network and
 * endpoint specs) and what a backend reports back (observed state). Addresses are CIDR strings
 * ("10.22.0.5/16", "fd00::5/64") and plain IP strings; `cidr.ts` parses them.
 *
 * Nothing here may name a Linux or Windows mechanism: a network is "a switch containers attach
 * to" (a Linux bridge or an HCN network), an endpoint is "a container's port on it" (a veth
 * pair or an HCN endpoint), a namespace is "where the container's interfaces live" (a netns
 * path or an HCN namespace GUID).
 */

export type IpFamily = 4 | 6;

/** An address assigned to an interface, with its prefix, and the gateway reached through it. */
export interface InterfaceAddress {
  /** CIDR: the address and the prefix length of its subnet, e.g. "10.22.0.5/16". */
  cidr: string;
  /** Next hop for routes that use this address's subnet, if any. */
  gateway?: string;
}

export interface RouteSpec {
  /** Destination CIDR, "0.0.0.0/0" for a default route. */
  dst: string;
  /**
   * Next hop. When absent, the route goes through the gateway of the interface's address of
   * the same family if there is one (as the reference plugins do), else it is on-link.
   */
  gw?: string;
  mtu?: number;
  advmss?: number;
  /** Route metric / priority. */
  priority?: number;
  table?: number;
  /** Route scope as the CNI 1.1 result carries it (0 universe, 253 link, 254 host). */
  scope?: number;
}

export interface DnsSpec {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/**
 * Outbound NAT: traffic leaving the endpoint's addresses is rewritten to the host's address,
 * except towards the listed destinations (Linux: masquerade; Windows: OutBoundNAT policy).
 */
export interface OutboundNatSpec {
  /** Destination CIDRs that keep the container's own source address. */
  exceptions: string[];
  /**
   * The mechanism the operator asked for by name (the bridge plugin's ipMasqBackend, e.g.
   * "nftables" or "iptables" on Linux); a backend uses its own default for names it lacks.
   */
  mechanism?: string;
}

export type TransportProtocol = 'tcp' | 'udp' | 'sctp';

/** A host port forwarded to a container port (the CNI `portMappings` capability). */
export interface PortMappingSpec {
  hostPort: number;
  containerPort: number;
  protocol: TransportProtocol;
  /** Only traffic to this host address is forwarded; absent or empty means any. */
  hostIp?: string;
}

export type AclAction = 'allow' | 'block';
export type AclDirection = 'in' | 'out';

/** A packet filter rule attached to an endpoint (Windows ACL policy, Linux netfilter rule). */
export interface AclSpec {
  action: AclAction;
  direction: AclDirection;
  /** IANA protocol numbers as strings ("6", "17", "1"); empty or absent means any. */
  protocols?: string[];
  localAddresses?: string[];
  remoteAddresses?: string[];
  localPorts?: number[];
  remotePorts?: number[];
  /** Lower runs first. */
  priority: number;
}

export interface BandwidthSpec {
  /** Bits per second. */
  ingressRate?: number;
  ingressBurstBits?: number;
  egressRate?: number;
  egressBurstBits?: number;
}

/** How a network forwards between its endpoints and the outside. */
export type NetworkMode =
  /** Private switch; the host holds the gateway and routes (Linux bridge; HCN NAT). */
  | 'nat'
  /** Switch that shares the host's L2 segment through an uplink (bridge with master; HCN L2Bridge). */
  | 'l2bridge';

export interface VlanSpec {
  /** Access VLAN of the endpoint's port (0 = none). */
  id: number;
  /** Tagged VLANs the port also carries. */
  trunk?: Array<{ minId: number; maxId: number }>;
  /** Keep the default VLAN 1 on the port when a VLAN is configured. */
  preserveDefaultVlan?: boolean;
}

export interface NetworkSpec {
  /** The CNI network name: identity of the network for state, rules and GC. */
  name: string;
  mode: NetworkMode;
  /** Device name of the switch where the OS has one (Linux bridge name); backends may ignore it. */
  deviceName: string;
  /** Adapter that connects the switch to the outside (l2bridge); absent for a private switch. */
  uplink?: string;
  mtu?: number;
  /** Subnets served on this network (HCN needs them; Linux uses them for NAT exceptions). */
  subnets: Array<{ cidr: string; gateway?: string }>;
  /** Addresses the host itself holds on the switch (gateway mode), CIDR with subnet prefix. */
  hostAddresses: string[];
  /** Replace a different address of the same family already on the switch instead of failing. */
  forceAddress?: boolean;
  /** Receive every frame on the switch device itself. */
  promiscuous?: boolean;
  /** Switch filters traffic by VLAN (needed when endpoints carry a VLAN). */
  vlanFiltering?: boolean;
  /** Make the host forward packets for these families (Linux ip_forward). */
  forwardFamilies: IpFamily[];
  dns?: DnsSpec;
}

export interface NetworkState {
  name: string;
  deviceName: string;
  /** Hardware address of the switch device where there is one. */
  mac?: string;
  mtu?: number;
  hostAddresses: string[];
  /** Backend's own identifier (Linux ifindex, HCN network GUID). */
  id: string;
}

/** Identity of one attachment: what CNI calls (container id, ifname) in one network. */
export interface EndpointRef {
  network: string;
  /** Device name of the network's switch, as in NetworkSpec. */
  deviceName: string;
  containerId: string;
  ifname: string;
  /** CNI_NETNS: Linux netns path, Windows namespace GUID; empty when the runtime gave none. */
  namespace: string;
}

export interface EndpointSpec extends EndpointRef {
  addresses: InterfaceAddress[];
  routes: RouteSpec[];
  dns?: DnsSpec;
  /** Requested MAC of the container interface. */
  mac?: string;
  mtu?: number;
  outboundNat?: OutboundNatSpec;
  portMappings?: PortMappingSpec[];
  acls?: AclSpec[];
  bandwidth?: BandwidthSpec;
  /** Frames may leave through the port they came in (bridge hairpin). */
  hairpin?: boolean;
  /** Endpoints with isolation cannot reach each other, only the uplink/host. */
  isolated?: boolean;
  vlan?: VlanSpec;
  /** Drop frames whose source MAC is not the endpoint's own. */
  macSpoofCheck?: boolean;
  /** Run IPv6 duplicate address detection on the container interface. */
  duplicateAddressDetection?: boolean;
  /** Create the port on the network but leave the container interface down and unaddressed. */
  containerInterfaceDown?: boolean;
  /** Destinations the endpoint reaches through the host rather than over the switch's segment. */
  hostRoutes?: HostRouteSpec[];
  /**
   * How `portMappings` are forwarded (the portmap plugin's options). `snat: true` given
   * explicitly also asks the OS to apply the mappings to traffic the host routes to itself
   * where that is not the OS default (Windows); Linux forwards host-originated traffic unless
   * `snat` is false.
   */
  portMappingOptions?: PortMappingOptions;
  /**
   * The container may reach its own address through the host (a service or mapped port that
   * leads back to it): hairpin on the Linux bridge port, loopback DSR on Windows.
   */
  loopbackThroughHost?: boolean;
}

/**
 * A destination the endpoint reaches through the host (Windows: an SDN route on the vSwitch
 * port; Linux: a route in the container through the gateway the host holds on the bridge).
 */
export interface HostRouteSpec {
  /** Destination CIDR. */
  dst: string;
  /** Next hop beyond the host; absent: the endpoint's gateway of the destination's family. */
  nextHop?: string;
  /** Encapsulate towards the host (HCN NeedEncap); Linux routes through the host either way. */
  encapsulate?: boolean;
}

export interface InterfaceState {
  name: string;
  mac: string;
  mtu: number;
  /** Where the interface lives: the namespace for container interfaces, absent on the host. */
  sandbox?: string;
}

export interface EndpointState {
  /** The host side of the endpoint (veth on the bridge, HCN endpoint's host port) if visible. */
  host?: InterfaceState;
  container: InterfaceState;
  /** Whether the host side is attached to the network named in the ref. */
  attachedToNetwork: boolean;
  /** Addresses as CIDR on the container interface. */
  addresses: string[];
  /** Routes in the namespace that leave through the container interface. */
  routes: RouteSpec[];
  hairpin?: boolean;
  isolated?: boolean;
}

/** What ADD created, for the result's interface list. */
export interface EndpointCreated {
  host?: InterfaceState;
  container: InterfaceState;
}

/**
 * One attachment as a chained plugin (portmap, bandwidth) sees it: the CNI_* identity plus what
 * the previous plugin's result says about it. Linux uses `hostInterfaces` to find the host end
 * of the container interface; Windows finds the endpoint by the attachment's name.
 */
export interface AttachmentTarget {
  network: string;
  containerId: string;
  ifname: string;
  /** CNI_NETNS; empty when the runtime gave none (second DEL of containerd). */
  namespace: string;
  /** The container's addresses, CIDR or plain IP (prevResult ips); empty when unknown (DEL). */
  addresses: string[];
  /** Interfaces prevResult lists outside any sandbox (a veth's host end, a bridge). */
  hostInterfaces?: string[];
}

/** How a backend forwards host ports (the portmap plugin's options; reference key names). */
export interface PortMappingOptions {
  /**
   * Also rewrite the source of forwarded traffic that comes from the host itself (localhost)
   * or from the container itself (hairpin), so replies come back through the host. Default true.
   */
  snat?: boolean;
  /**
   * Extra conditions a packet must meet to be forwarded, per family, as iptables match
   * arguments (the reference's `conditionsV4`/`conditionsV6`, e.g. ["-s", "10.0.0.0/8"]).
   */
  conditionsV4?: string[];
  conditionsV6?: string[];
  /** The mechanism the operator asked for by name ("nftables" or "iptables" on Linux). */
  mechanism?: string;
  /** Packet mark bit used to flag traffic for masquerade where the mechanism needs one (0-31). */
  markMasqBit?: number;
  /** A chain of the operator's that marks traffic for masquerade instead of ours (iptables only). */
  externalSetMarkChain?: string;
}

/** A port forwarding as the OS holds it: the mapping and the container address it reaches. */
export interface ForwardedPort extends PortMappingSpec {
  /** Plain IP the host port is forwarded to. */
  containerIp: string;
}
