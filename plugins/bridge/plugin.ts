/**
 * bridge: connects a container to a switch on the host (a Linux bridge, or an HCN network on
 * Windows) through an endpoint, with addresses from IPAM, optional gateway on the switch,
 * default route and outbound NAT. Reads top to bottom as config, ADD, DEL, CHECK, GC, STATUS;
 * everything OS-specific is behind the Platform.
 */
import { loadPlatform } from '../../platform/select.ts';
import type { EndpointTeardown } from '../../platform/contract.ts';
import type { EndpointRef, EndpointSpec, NetworkSpec, RouteSpec } from '../../platform/types.ts';
import { addressesToRelease, requestedMac } from '../attachment/attachment-identity.ts';
import { checkEndpointAgainstResult } from '../attachment/check.ts';
import {
  defaultRoutes,
  familyOfCidr,
  hostGatewayAddresses,
  subnetsOf,
  withGateways,
} from '../attachment/gateway.ts';
import {
  allocate,
  checkAllocation,
  collectAllocations,
  ipamReady,
  release,
} from '../attachment/ipam-client.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result, ResultDns, ResultInterface, ResultIp, ResultRoute } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';
import { UndoStack } from '../../platform/undo.ts';
import { type BridgeConfig, parseBridgeConfig } from './config.ts';

function endpointRef(ctx: CommandContext, config: BridgeConfig): EndpointRef {
  return {
    network: ctx.config.name,
    deviceName: config.bridge,
    containerId: ctx.containerId,
    ifname: ctx.ifname,
    namespace: ctx.netns,
  };
}

function networkSpec(ctx: CommandContext, config: BridgeConfig, ips: ResultIp[]): NetworkSpec {
  const spec: NetworkSpec = {
    name: ctx.config.name,
    mode: 'nat',
    deviceName: config.bridge,
    subnets: subnetsOf(ips).map((cidr) => ({ cidr })),
    hostAddresses: config.isGateway ? hostGatewayAddresses(ips) : [],
    forceAddress: config.forceAddress,
    promiscuous: config.promiscMode,
    vlanFiltering: config.vlan !== 0 || config.vlanTrunk.length > 0,
    forwardFamilies: config.isGateway ? [...new Set(ips.map((ip) => familyOfCidr(ip.address)))] : [],
  };
  if (config.mtu) spec.mtu = config.mtu;
  return spec;
}

function endpointSpec(
  ctx: CommandContext,
  config: BridgeConfig,
  ips: ResultIp[],
  routes: ResultRoute[],
  dns: ResultDns | undefined,
): EndpointSpec {
  const spec: EndpointSpec = {
    ...endpointRef(ctx, config),
    addresses: ips.map((ip) =>
      ip.gateway ? { cidr: ip.address, gateway: ip.gateway } : { cidr: ip.address },
    ),
    routes: routes.map((r): RouteSpec => ({ ...r })),
    hairpin: config.hairpinMode,
    isolated: config.portIsolation,
    macSpoofCheck: config.macSpoofCheck,
    duplicateAddressDetection: config.enableDad,
    containerInterfaceDown: config.disableContainerInterface,
  };
  // Linux containers read DNS from the result (the runtime writes resolv.conf); Windows
  // endpoints carry it themselves, so the platform must be told.
  if (dns) spec.dns = dns;
  const mac = requestedMac(ctx);
  if (mac) spec.mac = mac;
  if (config.mtu) spec.mtu = config.mtu;
  if (config.vlan !== 0 || config.vlanTrunk.length > 0) {
    spec.vlan = { id: config.vlan, trunk: config.vlanTrunk, preserveDefaultVlan: config.preserveDefaultVlan };
  }
  if (config.ipMasq && ips.length) {
    spec.outboundNat = { exceptions: subnetsOf(ips) };
    if (config.ipMasqBackend) spec.outboundNat.mechanism = config.ipMasqBackend;
  }
  return spec;
}

async function add(ctx: CommandContext): Promise<Result> {
  const config = parseBridgeConfig(ctx.config);
  // What the request itself gets wrong fails before anything is made (no address, no bridge):
  // a bad MAC, and a CNI_NETNS that is no container's namespace (missing, a file, a directory,
  // the host's own). Reading the namespace's loopback is the probe: it opens the namespace and
  // changes nothing (on Windows it is a constant; HCN checks the namespace before creating).
  requestedMac(ctx);
  const platform = await loadPlatform();
  await platform.inspectLoopback(ctx.netns);
  const undo = new UndoStack();
  return undo.guard(async () => {
    let ips: ResultIp[] = [];
    let routes: ResultRoute[] = [];
    let dns = ctx.config.dns;
    if (config.hasIpam) {
      const ipam = await allocate(ctx, undo);
      ips = withGateways(ipam.ips ?? [], config.isGateway);
      routes = [...(ipam.routes ?? [])];
      if (config.isDefaultGateway) routes.push(...defaultRoutes(ips, routes));
      if (ipam.dns && !dns) dns = ipam.dns;
    }
    const network = await platform.ensureNetwork(networkSpec(ctx, config, ips));
    const created = await platform.createEndpoint(network, endpointSpec(ctx, config, ips, routes, dns));
    // The reference lists the bridge, the host veth, then the container interface, and the
    // addresses point at the container interface.
    const interfaces: ResultInterface[] = [described(network.deviceName, network.mac)];
    if (created.host) interfaces.push(described(created.host.name, created.host.mac));
    const containerIndex = interfaces.length;
    interfaces.push({ ...described(created.container.name, created.container.mac), sandbox: ctx.netns });
    const result: Result = {
      cniVersion: ctx.config.cniVersion,
      interfaces,
      ips: ips.map((ip) => ({ ...ip, interface: containerIndex })),
      routes,
    };
    if (dns) result.dns = dns;
    return result;
  });
}

function described(name: string, mac: string | undefined): ResultInterface {
  return mac ? { name, mac } : { name };
}

async function del(ctx: CommandContext): Promise<void> {
  const config = parseBridgeConfig(ctx.config);
  const platform = await loadPlatform();
  const ref = endpointRef(ctx, config);
  let failure: unknown;
  try {
    const teardown: EndpointTeardown = { ...ref, addresses: await addressesToRelease(ctx, ref) };
    if (config.ipMasq) {
      teardown.outboundNat = { exceptions: [] };
      if (config.ipMasqBackend) teardown.outboundNat.mechanism = config.ipMasqBackend;
    }
    await platform.deleteEndpoint(teardown);
  } catch (e) {
    failure = e;
  }
  // Addresses are released even when the endpoint could not be removed (spec: DEL releases
  // IPAM even if the interface cannot be found), then the first failure is reported.
  if (config.hasIpam) await release(ctx);
  if (failure) throw failure;
}

async function check(ctx: CommandContext): Promise<void> {
  const config = parseBridgeConfig(ctx.config);
  const prev = ctx.config.prevResult;
  if (!prev) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      'CHECK needs prevResult',
      'the runtime must pass the cached ADD result',
    );
  }
  if (config.hasIpam) await checkAllocation(ctx);
  const platform = await loadPlatform();
  const network = await platform.inspectNetwork(ctx.config.name, config.bridge);
  if (!network) {
    throw new CniError(
      ErrorCode.IoFailure,
      `bridge ${config.bridge} does not exist`,
      'was the network deleted?',
    );
  }
  const state = await platform.inspectEndpoint(endpointRef(ctx, config));
  checkEndpointAgainstResult(state, prev, {
    ifname: ctx.ifname,
    namespace: ctx.netns,
    networkDevice: config.bridge,
    addressesConfigured: !config.disableContainerInterface,
  });
}

async function gc(ctx: CommandContext): Promise<void> {
  const config = parseBridgeConfig(ctx.config);
  const valid = ctx.config.validAttachments;
  // Without the list nothing can be told apart from garbage: refuse rather than release all.
  if (!valid) {
    throw new CniError(ErrorCode.InvalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  }
  if (config.hasIpam) await collectAllocations(ctx);
  const platform = await loadPlatform();
  await platform.collectGarbage(ctx.config.name, config.bridge, valid);
}

async function status(ctx: CommandContext): Promise<void> {
  const config = parseBridgeConfig(ctx.config);
  if (config.hasIpam) await ipamReady(ctx);
}

export const bridgePlugin: CniPlugin = { knownArgs: ['MAC', 'IP'], add, del, check, gc, status };
