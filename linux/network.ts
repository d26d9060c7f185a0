/**
 * A network on Linux is a bridge device in the host namespace: created when missing (safely
 * when many ADDs race to create it), brought to the spec (VLAN filtering, promiscuous mode, up),
 * given the host's gateway addresses (refusing to silently replace a different one unless
 * forceAddress, as the reference plugin does), joined to its uplink in l2bridge mode, with IP
 * forwarding enabled. Deleting it removes the bridge and the network's netfilter tables. It
 * never touches a device of the same name that is not a bridge.
 */
import { ipEquals, parseCidr, prefixesOverlap } from '../platform/cidr.ts';
import { PlatformError } from '../platform/errors.ts';
import type { NetworkSpec, NetworkState } from '../platform/types.ts';
import { hasErrno, platformError } from './errors.ts';
import { validateLinkName } from './link-names.ts';
import { withHostNetlink } from './namespace.ts';
import { networkTablesDeleteCommands } from './netfilter-nft.ts';
import { nftBatch, nftPath } from './nft.ts';
import { addressMessage } from './routes.ts';
import type { RtnlSocket } from './rtnl.ts';
import { addressCidr, type AddressInfo, type LinkInfo } from './rtnl-codec.ts';
import { type Attr, macBytes, str, u32, u8 } from './rtnl-attrs.ts';
import { IFF_PROMISC, IFF_UP, IFLA, IFLA_BR_VLAN_FILTERING, IFLA_INFO } from './rtnl-constants.ts';
import { enableForwarding, ignoreRouterAdvertisements } from './sysctl.ts';

function bridgeInfo(vlanFiltering: boolean): Attr {
  const info: Attr[] = [[IFLA_INFO.KIND, str('bridge')]];
  if (vlanFiltering) info.push([IFLA_INFO.DATA, [[IFLA_BR_VLAN_FILTERING, u8(1)]]]);
  return [IFLA.LINKINFO, info];
}

function notABridge(link: LinkInfo): PlatformError {
  return new PlatformError(
    'conflict',
    `device ${link.name} exists but is ${link.kind ? `a ${link.kind} device` : 'not a bridge'}, not a bridge (choose another bridge name or remove the device)`,
  );
}

/** The bridge `name`, created if missing; tolerates another process creating it first. */
async function ensureBridge(sock: RtnlSocket, spec: NetworkSpec): Promise<LinkInfo> {
  const name = spec.deviceName;
  const existing = await sock.getLink(name);
  if (existing) {
    if (existing.kind !== 'bridge') throw notABridge(existing);
    return existing;
  }
  const attrs: Attr[] = [[IFLA.IFNAME, str(name)], bridgeInfo(spec.vlanFiltering === true)];
  if (spec.mtu) attrs.push([IFLA.MTU, u32(spec.mtu)]);
  try {
    await sock.createLink({}, attrs);
  } catch (e) {
    // EEXIST: a concurrent ADD created it between our lookup and our create.
    if (!hasErrno(e, 'EEXIST')) {
      const hint =
        spec.vlanFiltering && hasErrno(e, 'ENOTSUP')
          ? 'does the kernel support bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)?'
          : undefined;
      throw platformError(e, `create bridge ${name}`, hint);
    }
  }
  const created = await sock.getLink(name);
  if (!created)
    throw new PlatformError(
      'io',
      `create bridge ${name}: it disappeared right after creation (is something deleting it?)`,
    );
  if (created.kind !== 'bridge') throw notABridge(created);
  return created;
}

function sameAddress(a: AddressInfo, cidr: string): boolean {
  const p = parseCidr(cidr);
  return p !== undefined && ipEquals(p.address, a.address) && p.prefixLength === a.prefixLength;
}

function isLinkLocal(a: AddressInfo): boolean {
  return a.family === 6 && a.address.value >> 118n === 0x3fan;
}

/**
 * Put the host addresses on the bridge. As the reference plugin's ensureAddr: another IPv4
 * address, or an overlapping IPv6 one, is a conflict unless forceAddress replaces it;
 * non-overlapping IPv6 addresses may coexist. Addresses the spec lists are never conflicts.
 */
async function ensureHostAddresses(sock: RtnlSocket, bridge: LinkInfo, spec: NetworkSpec): Promise<void> {
  const present = await sock.addresses(bridge.index);
  for (const cidr of spec.hostAddresses) {
    const wanted = parseCidr(cidr);
    if (!wanted)
      throw new PlatformError('invalid', `host address "${cidr}" for bridge ${bridge.name} is not a CIDR`);
    for (const a of present) {
      if (a.family !== wanted.address.family || isLinkLocal(a)) continue;
      if (spec.hostAddresses.some((c) => sameAddress(a, c))) continue;
      const clash =
        a.family === 4 || prefixesOverlap({ address: a.address, prefixLength: a.prefixLength }, wanted);
      if (!clash) continue;
      if (!spec.forceAddress) {
        throw new PlatformError(
          'conflict',
          `bridge ${bridge.name} already has an IP address different from ${cidr} (${addressCidr(a)}; set forceAddress to replace it)`,
        );
      }
      const { header, attrs } = addressMessage(bridge.index, addressCidr(a));
      await sock.delAddress(header, attrs).catch((e: unknown) => {
        if (!hasErrno(e, 'EADDRNOTAVAIL'))
          throw platformError(e, `remove address ${addressCidr(a)} from ${bridge.name}`);
      });
    }
    const { header, attrs } = addressMessage(bridge.index, cidr);
    await sock.addAddress(header, attrs).catch((e: unknown) => {
      if (!hasErrno(e, 'EEXIST')) throw platformError(e, `add address ${cidr} to bridge ${bridge.name}`);
    });
  }
  // Pin the bridge's MAC to its current value: otherwise it follows the lowest port MAC and
  // changes as containers come and go, breaking their neighbour caches (reference plugin).
  if (bridge.mac) await sock.setLink({ index: bridge.index }, [[IFLA.ADDRESS, macBytes(bridge.mac)]]);
}

async function attachUplink(sock: RtnlSocket, bridge: LinkInfo, uplink: string): Promise<void> {
  validateLinkName(uplink, 'uplink');
  const link = await sock.getLink(uplink);
  if (!link)
    throw new PlatformError(
      'not-found',
      `uplink ${uplink} for bridge ${bridge.name} does not exist (check the uplink name)`,
    );
  if (link.index === bridge.index)
    throw new PlatformError('invalid', `uplink ${uplink} is the bridge itself`);
  if (link.master !== undefined && link.master !== bridge.index) {
    const other = await sock.getLink(link.master);
    throw new PlatformError(
      'conflict',
      `uplink ${uplink} is already attached to ${other?.name ?? `ifindex ${link.master}`}, not ${bridge.name}`,
    );
  }
  try {
    if (link.master !== bridge.index)
      await sock.setLink({ index: link.index }, [[IFLA.MASTER, u32(bridge.index)]]);
    if (!(link.flags & IFF_UP)) await sock.setLink({ index: link.index, flags: IFF_UP, change: IFF_UP });
  } catch (e) {
    throw platformError(e, `attach uplink ${uplink} to bridge ${bridge.name}`);
  }
}

async function networkState(sock: RtnlSocket, name: string, bridge: LinkInfo): Promise<NetworkState> {
  const addresses = await sock.addresses(bridge.index);
  const state: NetworkState = {
    name,
    deviceName: bridge.name,
    mtu: bridge.mtu,
    hostAddresses: addresses.filter((a) => !isLinkLocal(a)).map(addressCidr),
    id: String(bridge.index),
  };
  if (bridge.mac) state.mac = bridge.mac;
  return state;
}

export async function ensureNetwork(spec: NetworkSpec): Promise<NetworkState> {
  validateLinkName(spec.deviceName, 'bridge name');
  return withHostNetlink(async (sock) => {
    const bridge = await ensureBridge(sock, spec);
    const name = bridge.name;
    try {
      if (spec.vlanFiltering && !bridge.vlanFiltering) {
        await sock.changeLink({ index: bridge.index }, [bridgeInfo(true)]);
      }
      if (spec.promiscuous && !(bridge.flags & IFF_PROMISC)) {
        await sock.setLink({ index: bridge.index, flags: IFF_PROMISC, change: IFF_PROMISC });
      }
      ignoreRouterAdvertisements(name);
      if (!(bridge.flags & IFF_UP))
        await sock.setLink({ index: bridge.index, flags: IFF_UP, change: IFF_UP });
    } catch (e) {
      throw platformError(e, `configure bridge ${name}`);
    }
    if (spec.uplink) await attachUplink(sock, bridge, spec.uplink);
    if (spec.hostAddresses.length) await ensureHostAddresses(sock, bridge, spec);
    enableForwarding(spec.forwardFamilies);
    return networkState(sock, spec.name, (await sock.getLink(bridge.index)) ?? bridge);
  });
}

export async function inspectNetwork(name: string, deviceName: string): Promise<NetworkState | undefined> {
  validateLinkName(deviceName, 'bridge name');
  return withHostNetlink(async (sock) => {
    const bridge = await sock.getLink(deviceName);
    if (bridge?.kind !== 'bridge') return undefined;
    return networkState(sock, name, bridge);
  });
}

export async function deleteNetwork(name: string, deviceName: string): Promise<void> {
  validateLinkName(deviceName, 'bridge name');
  await withHostNetlink(async (sock) => {
    const bridge = await sock.getLink(deviceName);
    if (bridge?.kind !== 'bridge') return;
    await sock.delLink({ index: bridge.index }).catch((e: unknown) => {
      if (!hasErrno(e, 'ENODEV')) throw platformError(e, `delete bridge ${deviceName}`);
    });
  });
  if (nftPath()) {
    await nftBatch(networkTablesDeleteCommands(name)).catch((e: unknown) => {
      throw platformError(e, `delete netfilter tables of network "${name}"`);
    });
  }
}
