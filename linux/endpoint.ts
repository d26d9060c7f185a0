/**
 * An endpoint on Linux is a veth pair: the host end ("veth" + 8 hex, random like the reference
 * plugin's) on the network's bridge, the container end created directly inside the container's
 * namespace under the CNI ifname, configured there (sysctls before it comes up, addresses, up,
 * routes), plus the endpoint's policies (endpoint-policies.ts: masquerade, MAC spoof filter,
 * ACLs, port mappings). A failed create deletes what it made; delete succeeds on any partial or
 * absent state.
 *
 * Per operation: one netlink socket in the host namespace, one opened inside the container's
 * namespace; masquerade set elements go over nfnetlink, and `nft` runs only for a network's
 * first ADD (or changed exceptions), MAC spoof filters and ACLs (a second one for port mappings).
 */
import { existsSync } from 'node:fs';
import { parseCidr } from '../platform/cidr.ts';
import type { EndpointTeardown } from '../platform/contract.ts';
import { isPlatformError, PlatformError } from '../platform/errors.ts';
import type {
  EndpointCreated,
  EndpointRef,
  EndpointSpec,
  EndpointState,
  InterfaceState,
  NetworkState,
  RouteSpec,
} from '../platform/types.ts';
import { configureBridgePort } from './bridge-port.ts';
import { applyEndpointPolicies, removeEndpointPolicies } from './endpoint-policies.ts';
import { hasErrno, platformError } from './errors.ts';
import { randomVethName, validateLinkName } from './link-names.ts';
import { deleteTaggedHostPorts, markBridgeTagged, tagHostPort } from './host-port-tag.ts';
import {
  inNetns,
  type Netns,
  openNetlinkIn,
  withHostNetlink,
  withNetlinkIn,
  withNetns,
} from './namespace.ts';
import { nftPath } from './nft.ts';
import { addAddresses, addRoutes, readAddresses, readRoutes, settleAddresses } from './routes.ts';
import type { RtnlSocket } from './rtnl.ts';
import { encodeLink, type LinkInfo } from './rtnl-codec.ts';
import { type Attr, macBytes, str, u32 } from './rtnl-attrs.ts';
import { IFF_UP, IFLA, IFLA_INFO, VETH_INFO_PEER } from './rtnl-constants.ts';
import { configureContainerInterface } from './sysctl.ts';
import { UndoStack } from '../platform/undo.ts';

const VETH_NAME_ATTEMPTS = 10;
const DAD_TIMEOUT_MS = 10_000;
const MAC_PATTERN = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
function interfaceState(link: LinkInfo, sandbox?: string): InterfaceState {
  const state: InterfaceState = { name: link.name, mac: link.mac ?? '', mtu: link.mtu };
  if (sandbox) state.sandbox = sandbox;
  return state;
}

function conflictingIfname(spec: EndpointRef): PlatformError {
  return new PlatformError(
    'conflict',
    `container already has an interface named ${spec.ifname} in ${spec.namespace} (choose another CNI_IFNAME, or DEL the attachment that made it)`,
  );
}

/** RTM_NEWLINK attributes of a veth whose peer is created directly inside `ns`. */
function vethAttrs(hostName: string, bridgeIndex: number, ns: Netns, spec: EndpointSpec): Attr[] {
  const peer: Attr[] = [
    [IFLA.IFNAME, str(spec.ifname)],
    [IFLA.NET_NS_FD, u32(ns.fd)],
  ];
  if (spec.mtu) peer.push([IFLA.MTU, u32(spec.mtu)]);
  if (spec.mac) peer.push([IFLA.ADDRESS, macBytes(spec.mac)]);
  const attrs: Attr[] = [
    [IFLA.IFNAME, str(hostName)],
    [IFLA.MASTER, u32(bridgeIndex)],
    [
      IFLA.LINKINFO,
      [
        [IFLA_INFO.KIND, str('veth')],
        [IFLA_INFO.DATA, [[VETH_INFO_PEER, encodeLink({}, peer)]]],
      ],
    ],
  ];
  if (spec.mtu) attrs.push([IFLA.MTU, u32(spec.mtu)]);
  return attrs;
}

/** Create the pair; retries host names taken by someone else, fails on a taken container ifname. */
async function createVeth(
  host: RtnlSocket,
  inside: RtnlSocket,
  ns: Netns,
  bridge: LinkInfo,
  spec: EndpointSpec,
): Promise<string> {
  for (let attempt = 0; attempt < VETH_NAME_ATTEMPTS; attempt++) {
    const hostName = randomVethName();
    try {
      await host.createLink({}, vethAttrs(hostName, bridge.index, ns, spec));
      return hostName;
    } catch (e) {
      if (!hasErrno(e, 'EEXIST')) {
        throw platformError(
          e,
          `create veth ${hostName} on ${bridge.name} with peer ${spec.ifname} in ${spec.namespace}`,
        );
      }
      // EEXIST names neither end: a racing creator took the container name, or the host name is taken.
      if (await inside.getLink(spec.ifname)) throw conflictingIfname(spec);
    }
  }
  throw new PlatformError(
    'conflict',
    `create veth for ${spec.ifname}: ${VETH_NAME_ATTEMPTS} random host names were all taken`,
  );
}

async function setUp(sock: RtnlSocket, link: LinkInfo, where: string): Promise<void> {
  try {
    await sock.setLink({ index: link.index, flags: IFF_UP, change: IFF_UP });
  } catch (e) {
    throw platformError(e, `bring up ${link.name} ${where}`);
  }
}

/** Sysctls, addresses, up, routes: the container side as the reference's ConfigureIface leaves it. */
async function configureContainerSide(
  inside: RtnlSocket,
  ns: Netns,
  link: LinkInfo,
  spec: EndpointSpec,
): Promise<void> {
  const dad = spec.duplicateAddressDetection === true;
  const ipv6 = spec.addresses.some((a) => parseCidr(a.cidr)?.address.family === 6);
  // Before the link is up: DAD and router advertisements start the moment it is.
  inNetns(ns, () => configureContainerInterface(spec.ifname, { dad, ipv6 }));
  await addAddresses(inside, link.index, spec.ifname, spec.addresses, !dad);
  await setUp(inside, link, `in ${spec.namespace}`);
  // Host routes go through the gateway the host holds (a route without gw uses it), or their next hop.
  const hostRoutes = (spec.hostRoutes ?? []).map(
    (r): RouteSpec => (r.nextHop ? { dst: r.dst, gw: r.nextHop } : { dst: r.dst }),
  );
  await addRoutes(inside, link.index, spec.ifname, [...spec.routes, ...hostRoutes], spec.addresses);
  if (dad && ipv6) await settleAddresses(inside, link.index, spec.ifname, DAD_TIMEOUT_MS);
}

export async function createEndpoint(network: NetworkState, spec: EndpointSpec): Promise<EndpointCreated> {
  validateLinkName(spec.ifname, 'container interface name (CNI_IFNAME)');
  if (spec.mac && !MAC_PATTERN.test(spec.mac)) {
    throw new PlatformError(
      'invalid',
      `invalid MAC address "${spec.mac}" for ${spec.ifname}: expected six hex octets`,
    );
  }
  if (spec.macSpoofCheck && !nftPath()) {
    throw new PlatformError(
      'unsupported',
      `MAC spoof check for ${spec.ifname} needs nftables, and nft is not installed`,
      'install the nftables package or turn macspoofchk off',
    );
  }
  return withNetns(spec.namespace, (ns) =>
    withHostNetlink(async (host) => {
      const inside = openNetlinkIn(ns);
      const undo = new UndoStack();
      try {
        return await undo.guard(async () => {
          const bridge = await host.getLink(network.deviceName);
          if (bridge?.kind !== 'bridge') {
            throw new PlatformError(
              'not-found',
              `attach ${spec.ifname} to bridge ${network.deviceName}: the bridge does not exist (was the network deleted?)`,
            );
          }
          if (await inside.getLink(spec.ifname)) throw conflictingIfname(spec);
          const hostName = await createVeth(host, inside, ns, bridge, spec);
          undo.push(`delete veth ${hostName}`, async () => {
            const link = await host.getLink(hostName);
            if (link) await host.delLink({ index: link.index });
          });
          const hostLink = await host.getLink(hostName);
          const containerLink = await inside.getLink(spec.ifname);
          if (!hostLink || !containerLink)
            throw new PlatformError('io', `veth ${hostName} / ${spec.ifname} vanished right after creation`);
          // First thing after creation, so a killed ADD leaves a host end DEL can find by its tag.
          await tagHostPort(host, hostLink, spec.network, {
            containerId: spec.containerId,
            ifname: spec.ifname,
          });
          await markBridgeTagged(host, bridge, spec.network);
          // Reaching itself through the host needs frames to leave by the port they came in.
          const hairpin = spec.hairpin === true || spec.loopbackThroughHost === true;
          await configureBridgePort(host, hostLink.index, hostName, { ...spec, hairpin });
          await setUp(host, hostLink, `on ${bridge.name}`);
          if (!spec.containerInterfaceDown) await configureContainerSide(inside, ns, containerLink, spec);

          await applyEndpointPolicies(spec, hostName, containerLink.mac, undo);
          return { host: interfaceState(hostLink), container: interfaceState(containerLink, spec.namespace) };
        });
      } finally {
        inside.close();
      }
    }),
  );
}

/** The host end of a container veth: the link its IFLA_LINK names, if it points back at it. */
async function hostPeer(host: RtnlSocket, container: LinkInfo): Promise<LinkInfo | undefined> {
  // Without IFLA_LINK_NETNSID the peer is in the container's own namespace, not on the host.
  if (container.kind !== 'veth' || container.link === undefined || container.linkNetnsId === undefined)
    return undefined;
  const peer = await host.getLink(container.link);
  return peer?.kind === 'veth' && peer.link === container.index ? peer : undefined;
}

export async function inspectEndpoint(ref: EndpointRef): Promise<EndpointState | undefined> {
  if (!ref.namespace || !existsSync(ref.namespace)) return undefined;
  return withNetlinkIn(ref.namespace, (inside) =>
    withHostNetlink(async (host) => {
      const container = await inside.getLink(ref.ifname);
      if (!container) return undefined;
      const peer = await hostPeer(host, container);
      const master = peer?.master !== undefined ? await host.getLink(peer.master) : undefined;
      const state: EndpointState = {
        container: interfaceState(container, ref.namespace),
        attachedToNetwork: master?.name === ref.deviceName && master.kind === 'bridge',
        addresses: await readAddresses(inside, container.index),
        routes: await readRoutes(inside, container.index),
      };
      if (peer) {
        state.host = interfaceState(peer);
        state.hairpin = peer.hairpin === true;
        state.isolated = peer.isolated === true;
      }
      return state;
    }),
  );
}

/** What deleteVeth did: whether it found the container end, and the host end's name. */
interface VethDeletion {
  found: boolean;
  hostPort?: string;
}

/** Delete the container end (which takes the host end with it). */
async function deleteVeth(teardown: EndpointTeardown): Promise<VethDeletion> {
  if (!teardown.namespace || !existsSync(teardown.namespace)) return { found: false };
  try {
    return await withNetlinkIn(teardown.namespace, (inside) =>
      withHostNetlink(async (host): Promise<VethDeletion> => {
        const container = await inside.getLink(teardown.ifname);
        if (!container) return { found: false };
        const peer = await hostPeer(host, container);
        await inside.delLink({ index: container.index }).catch((e: unknown) => {
          if (!hasErrno(e, 'ENODEV')) throw e;
        });
        return peer ? { found: true, hostPort: peer.name } : { found: true };
      }),
    );
  } catch (e) {
    // Gone between the check and the open, or not a namespace any more: nothing of ours is in it.
    if (isPlatformError(e, 'namespace-missing')) return { found: false };
    throw platformError(e, `delete ${teardown.ifname} in ${teardown.namespace}`);
  }
}

export async function deleteEndpoint(teardown: EndpointTeardown): Promise<void> {
  const failures: unknown[] = [];
  // Every step runs even if an earlier one failed: DEL must clean up as much as it can.
  let hostPort: string | undefined;
  let found = false;
  try {
    ({ found, hostPort } = await deleteVeth(teardown));
  } catch (e) {
    failures.push(e);
  }
  // The container end was out of reach (CNI_NETNS empty, or the interface already gone): the
  // host end may still be on the bridge, holding the address this DEL releases. Find it by tag.
  if (!found) {
    const attachment = { containerId: teardown.containerId, ifname: teardown.ifname };
    try {
      hostPort = (await deleteTaggedHostPorts(teardown.network, attachment, teardown.deviceName)) ?? hostPort;
    } catch (e) {
      failures.push(e);
    }
  }
  failures.push(...(await removeEndpointPolicies(teardown, hostPort)));
  if (failures.length) throw failures[0];
}
