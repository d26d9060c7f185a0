/**
 * The desired state of a nat or sdnbridge attachment in the platform's terms: the network spec
 * (an HCN NAT / L2Bridge network, or a Linux bridge private or joined to the uplink), the
 * endpoint spec with its policies (outbound NAT with exceptions, port mappings, ACLs, host
 * routes), the DEL teardown, and the CNI result. Pure: computed from the parsed config and the
 * addresses decided by switch-addresses.ts; the plugins hand the specs to the platform.
 */
import { networkCidr, parseCidr } from '../../platform/cidr.ts';
import type { EndpointTeardown } from '../../platform/contract.ts';
import type {
  AclSpec,
  EndpointCreated,
  EndpointRef,
  EndpointSpec,
  NetworkSpec,
  NetworkState,
  PortMappingSpec,
} from '../../platform/types.ts';
import type { Result, ResultInterface, ResultRoute } from '../sdk/result.ts';
import type { CommandContext } from '../sdk/skel.ts';
import { requestedMac } from './attachment-identity.ts';
import { familyOfCidr, hostGatewayAddresses } from './gateway.ts';
import type { AttachmentAddresses } from './switch-addresses.ts';
import type { SwitchConfig } from './wcn-config.ts';

/** WCN's priority for the In ACLs allowAclPortMapping adds (cni.go getInACLRule). */
const PORT_MAPPING_ACL_PRIORITY = 1000;
const PROTOCOL_NUMBER = { tcp: '6', udp: '17', sctp: '132' } as const;

export function endpointRef(ctx: CommandContext, config: SwitchConfig): EndpointRef {
  return {
    network: ctx.config.name,
    deviceName: config.bridge,
    containerId: ctx.containerId,
    ifname: ctx.ifname,
    namespace: ctx.netns,
  };
}

export function networkSpec(
  ctx: CommandContext,
  config: SwitchConfig,
  addr: AttachmentAddresses,
): NetworkSpec {
  const spec: NetworkSpec = {
    name: ctx.config.name,
    mode: config.type === 'nat' ? 'nat' : 'l2bridge',
    deviceName: config.bridge,
    subnets: addr.ips.map((ip) => ({ cidr: networkCidr(parseCidr(ip.address)!), gateway: ip.gateway })),
    // The host routes for its containers on both plugins: it holds each gateway on the switch
    // (on Windows HNS holds the NAT gateway itself, and an L2Bridge gateway is the operator's).
    hostAddresses: hostGatewayAddresses(addr.ips),
    forwardFamilies: [...new Set(addr.ips.map((ip) => familyOfCidr(ip.address)))],
  };
  if (config.type === 'sdnbridge' && config.master) spec.uplink = config.master;
  if (config.mtu) spec.mtu = config.mtu;
  if (addr.dns) spec.dns = addr.dns;
  return spec;
}

/** The mappings the runtime asked for (runtimeConfig) and the config's static ones. */
export function portMappingsOf(ctx: CommandContext, config: SwitchConfig): PortMappingSpec[] {
  return [...(ctx.config.runtimeConfig.portMappings ?? []), ...config.policies.portMappings];
}

/** allowAclPortMapping: an In Allow ACL per mapped container port, as WCN adds it. */
function portMappingAcls(mappings: PortMappingSpec[]): AclSpec[] {
  return mappings.map((m) => ({
    action: 'allow',
    direction: 'in',
    protocols: [PROTOCOL_NUMBER[m.protocol]],
    localPorts: [m.containerPort],
    priority: PORT_MAPPING_ACL_PRIORITY,
  }));
}

/**
 * Outbound NAT: a nat network always NATs, never towards its own subnets; an sdnbridge endpoint
 * only when an OutBoundNAT policy asks, with exactly that policy's exceptions.
 */
function outboundNatExceptions(config: SwitchConfig, addr: AttachmentAddresses): string[] | undefined {
  const configured = config.policies.outboundNatExceptions;
  if (config.type === 'sdnbridge') return configured;
  const subnets = addr.ips.map((ip) => networkCidr(parseCidr(ip.address)!));
  return [...new Set([...subnets, ...(configured ?? [])])];
}

export function endpointSpec(
  ctx: CommandContext,
  config: SwitchConfig,
  addr: AttachmentAddresses,
): EndpointSpec {
  const mappings = portMappingsOf(ctx, config);
  const acls = [...config.policies.acls];
  if (config.flags.allowAclPortMapping) acls.push(...portMappingAcls(mappings));
  const spec: EndpointSpec = {
    ...endpointRef(ctx, config),
    addresses: addr.ips.map((ip) =>
      ip.gateway ? { cidr: ip.address, gateway: ip.gateway } : { cidr: ip.address },
    ),
    routes: addr.routes.map((r) => ({ ...r })),
  };
  if (addr.dns) spec.dns = addr.dns;
  const mac = requestedMac(ctx);
  if (mac) spec.mac = mac;
  if (config.mtu) spec.mtu = config.mtu;
  const exceptions = outboundNatExceptions(config, addr);
  if (exceptions && addr.ips.length) {
    spec.outboundNat = { exceptions };
    if (config.ipMasqBackend) spec.outboundNat.mechanism = config.ipMasqBackend;
  }
  if (mappings.length) {
    spec.portMappings = mappings;
    // Explicit snat: also for host-originated traffic where that is not the OS default (HCN's
    // LocalRoutedVip); Linux forwards it by default, as users expect from portmap.
    spec.portMappingOptions = config.flags.localRoutedPortMapping ? { snat: true } : {};
    if (config.ipMasqBackend) spec.portMappingOptions.mechanism = config.ipMasqBackend;
  }
  if (acls.length) spec.acls = acls;
  if (config.policies.hostRoutes.length) spec.hostRoutes = config.policies.hostRoutes.map((r) => ({ ...r }));
  if (config.flags.loopbackDSR) spec.loopbackThroughHost = true;
  return spec;
}

/** What DEL removes: NAT entries and forwardings of the attachment, whatever ADD installed. */
export function teardownOf(ctx: CommandContext, config: SwitchConfig, addresses: string[]): EndpointTeardown {
  const teardown: EndpointTeardown = { ...endpointRef(ctx, config), addresses, portMappings: [] };
  if (config.type === 'nat' || config.policies.outboundNatExceptions) {
    teardown.outboundNat = { exceptions: [] };
    if (config.ipMasqBackend) teardown.outboundNat.mechanism = config.ipMasqBackend;
  }
  return teardown;
}

function described(name: string, mac: string | undefined): ResultInterface {
  return mac ? { name, mac } : { name };
}

/**
 * The ADD result. Interfaces: the switch where the OS exposes it as an interface with a MAC (a
 * Linux bridge; an HCN network is not one), the host end where there is one, the container
 * interface; addresses point at the container interface. Host routes are listed as routes
 * without a gateway: the container reaches them through its default gateway, the host.
 */
export function attachmentResult(
  ctx: CommandContext,
  config: SwitchConfig,
  addr: AttachmentAddresses,
  network: NetworkState,
  created: EndpointCreated,
): Result {
  const interfaces: ResultInterface[] = [];
  if (network.mac) interfaces.push(described(network.deviceName, network.mac));
  if (created.host) interfaces.push(described(created.host.name, created.host.mac));
  const index = interfaces.length;
  interfaces.push({ ...described(created.container.name, created.container.mac), sandbox: ctx.netns });
  const hostRoutes = config.policies.hostRoutes.map(
    (r): ResultRoute => (r.nextHop ? { dst: r.dst, gw: r.nextHop } : { dst: r.dst }),
  );
  const result: Result = {
    cniVersion: ctx.config.cniVersion,
    interfaces,
    ips: addr.ips.map((ip) => ({ ...ip, interface: index })),
    routes: [...addr.routes, ...hostRoutes],
  };
  if (addr.dns) result.dns = addr.dns;
  return result;
}
