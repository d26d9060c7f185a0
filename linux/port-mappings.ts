/**
 * Host port forwarding (the CNI portMappings capability) on Linux: plans the forwardings
 * (platform/port-forwarding.ts), picks the backend — nftables (portmap-nft.ts), or iptables
 * (portmap-iptables.ts) only where `nft` is absent or the operator names it — and enables
 * route_localnet on the interface that reaches the container, so 127.0.0.1:<hostPort> works as
 * in the reference plugin. Exported for the portmap plugin (through the Platform) and for
 * linux/endpoint.ts (the nat plugin's EndpointSpec.portMappings). Never lists a whole table;
 * ADD scans the network's own maps and sets for the attachment's comment (to replace what an
 * earlier ADD made), GC and DEL without mappings read them.
 */
import { parseIp } from '../platform/cidr.ts';
import type { AttachmentId } from '../platform/contract.ts';
import { isPlatformError, PlatformError } from '../platform/errors.ts';
import { type PlannedForwarding, planForwardings } from '../platform/port-forwarding.ts';
import type { ForwardedPort, IpFamily, PortMappingOptions, PortMappingSpec } from '../platform/types.ts';
import { CommandError, hasErrno, platformError } from './errors.ts';
import { withHostNetlink } from './namespace.ts';
import { nftChainExists } from './nfnl.ts';
import { nftTransaction } from './nfnl-batch.ts';
import { attachmentHash } from './netfilter-names.ts';
import { nftBatch, nftPath } from './nft.ts';
import { type PortCondition, parseConditions } from './portmap-conditions.ts';
import {
  addForwardingsIptables,
  collectForwardingsIptables,
  IPTABLES_DNAT_CHAIN,
  iptablesAttachmentChain,
  portmapIptablesAvailable,
  readForwardingsIptables,
  removeForwardingsIptables,
} from './portmap-iptables.ts';
import {
  attachmentElements,
  elementDeleteMessages,
  forwardingAddCommands,
  forwardingElements,
  mappingElements,
  type OwnedElement,
  ownedElements,
  staleElements,
} from './portmap-nft.ts';
import { addForwardingsDirect, earlierElements } from './portmap-direct.ts';
import { encodeRoute, decodeRoute } from './rtnl-codec.ts';
import { ipBytes } from './rtnl-attrs.ts';
import { AF_INET, RTA, RTM } from './rtnl-constants.ts';
import { writeSysctl } from './sysctl.ts';

export type PortMappingBackend = 'nftables' | 'iptables';

/** The reference portmap's default mark bit for masquerade (iptables backend only). */
const DEFAULT_MARK_MASQ_BIT = 13;

/** nftables unless the operator names iptables (and has it), or nft is not installed. */
export function portMappingBackend(mechanism?: string): PortMappingBackend {
  if (mechanism === 'iptables' && portmapIptablesAvailable(4)) return 'iptables';
  if (nftPath()) return 'nftables';
  if (portmapIptablesAvailable(4)) return 'iptables';
  throw new PlatformError(
    'unsupported',
    'forward host ports: neither nft nor iptables is installed',
    'install the nftables package',
  );
}

function conditionsOf(options: PortMappingOptions): Record<IpFamily, PortCondition[]> {
  return {
    4: parseConditions(options.conditionsV4 ?? [], 4),
    6: parseConditions(options.conditionsV6 ?? [], 6),
  };
}

/** The interface the host routes `ip` through (RTM_GETROUTE, as `ip route get`). */
async function routeInterface(ip: string): Promise<string | undefined> {
  const address = parseIp(ip);
  if (address?.family !== 4) return undefined;
  return withHostNetlink(async (sock) => {
    const body = encodeRoute({ family: AF_INET, dstLength: 32, table: 0, protocol: 0, scope: 0, type: 0 }, [
      [RTA.DST, ipBytes(address)],
    ]);
    const [reply] = await sock.request(RTM.GETROUTE, body);
    const oif = reply ? decodeRoute(reply)?.oif : undefined;
    return oif === undefined ? undefined : (await sock.getLink(oif))?.name;
  });
}

/**
 * 127.0.0.1 → container: the kernel drops packets with a loopback source on any interface
 * without route_localnet (the reference plugin sets it on the interface that reaches the
 * container, and so do we; masquerade then gives them the host's address on that interface).
 */
async function enableLocalnetRouting(forwardings: PlannedForwarding[]): Promise<void> {
  const v4 = forwardings.find((f) => f.family === 4);
  if (!v4) return;
  try {
    const ifname = await routeInterface(v4.containerIp);
    if (ifname) writeSysctl(['net', 'ipv4', 'conf', ifname, 'route_localnet'], '1');
  } catch (e) {
    throw platformError(e, `enable route_localnet towards ${v4.containerIp} (for 127.0.0.1:<hostPort>)`);
  }
}

function conflictOrError(e: unknown, network: string, forwardings: PlannedForwarding[]): PlatformError {
  if (e instanceof CommandError && /File exists|Device or resource busy/.test(e.stderr)) {
    const ports = forwardings.map((f) => `${f.protocol}/${f.hostPort}${f.hostIp ? ` on ${f.hostIp}` : ''}`);
    return new PlatformError(
      'conflict',
      `forward host ports ${ports.join(', ')} on network "${network}": a port is already forwarded to another container (DEL it, or run GC)`,
      e.stderr.trim(),
      { cause: e },
    );
  }
  return platformError(e, `forward host ports on network "${network}"`);
}

/**
 * Forward `mappings` to the attachment's `addresses` (CIDR or plain) with nftables: over
 * nfnetlink when the network's rules are in place (portmap-direct.ts), else one nft batch that
 * (re)writes the rules too. Either way forwardings an earlier ADD of the same attachment made
 * and this one does not are deleted with it; repeating an ADD is idempotent.
 */
async function addForwardingsNft(
  network: string,
  attachment: AttachmentId,
  forwardings: PlannedForwarding[],
  options: { snat: boolean; conditions: Record<IpFamily, PortCondition[]> },
): Promise<void> {
  if (await addForwardingsDirect(network, attachment, forwardings, options)) return;
  const stale = staleElements(
    await earlierElements(network, attachment),
    forwardingElements(forwardings, options.snat),
  );
  await nftBatch(forwardingAddCommands(network, attachment, forwardings, { ...options, stale }));
}

/**
 * Forward `mappings` to the attachment's `addresses` (CIDR or plain); repeating an ADD is
 * idempotent, and one with changed mappings replaces the attachment's forwardings. Without
 * forwardings (no mapping fits the container's families) nothing is installed (nor removed),
 * as in the reference plugin.
 */
export async function addPortMappings(
  network: string,
  attachment: AttachmentId,
  addresses: string[],
  mappings: PortMappingSpec[],
  options: PortMappingOptions = {},
): Promise<void> {
  const forwardings = planForwardings(mappings, addresses);
  const conditions = conditionsOf(options);
  const snat = options.snat !== false;
  const backend = portMappingBackend(options.mechanism);
  if (backend === 'nftables' && options.externalSetMarkChain) {
    throw new PlatformError(
      'invalid',
      'externalSetMarkChain names an iptables chain, and port forwarding uses nftables here: remove it (hairpin and localhost masquerade are built in) or set backend "iptables"',
    );
  }
  // A repeated ADD rewrites its nft elements in place; iptables chains are rebuilt.
  if (backend === 'iptables' || (await mayHaveIptables(network, attachment))) {
    await removeForwardingsIptables(network, attachment).catch((e: unknown) => {
      throw platformError(e, `remove earlier iptables forwardings on network "${network}"`);
    });
  }
  if (!forwardings.length) return;
  if (backend === 'nftables') {
    try {
      await addForwardingsNft(network, attachment, forwardings, { snat, conditions });
    } catch (e) {
      throw conflictOrError(e, network, forwardings);
    }
  } else {
    const markMasqBit = options.markMasqBit ?? DEFAULT_MARK_MASQ_BIT;
    try {
      await addForwardingsIptables(network, attachment, forwardings, {
        snat,
        conditions,
        markMasqBit,
        externalSetMarkChain: options.externalSetMarkChain,
      });
    } catch (e) {
      await removeForwardingsIptables(network, attachment).catch(() => undefined);
      throw platformError(e, `forward host ports with iptables on network "${network}"`);
    }
  }
  if (snat) await enableLocalnetRouting(forwardings);
}

/** Whether iptables could hold forwardings of this attachment (probe first when nft is here). */
async function mayHaveIptables(network: string, attachment: AttachmentId): Promise<boolean> {
  if (!portmapIptablesAvailable(4)) return false;
  // With nft installed, iptables is iptables-nft: its chains are visible to a netlink probe.
  if (!nftPath()) return true;
  const chain = iptablesAttachmentChain(network, attachment);
  return (await nftChainExists('ip', 'nat', chain)) || (await nftChainExists('ip6', 'nat', chain));
}

/**
 * Delete elements found just before; one by one when the batch fails because one of them went
 * away meanwhile (a concurrent DEL or GC), so the outcome is the same: they are gone.
 */
async function deleteElements(network: string, elements: OwnedElement[]): Promise<void> {
  const messages = elementDeleteMessages(network, elements);
  if (!messages.length) return;
  try {
    await nftTransaction(messages);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw e;
    for (const message of messages)
      await nftTransaction([message]).catch((inner: unknown) => {
        if (!hasErrno(inner, 'ENOENT')) throw inner;
      });
  }
}

/** The attachment's nft elements: key by key when the mappings are known, else by dumps. */
function nftElementsOf(
  network: string,
  attachment: AttachmentId,
  mappings: PortMappingSpec[] | undefined,
): Promise<OwnedElement[]> {
  return mappings?.length
    ? mappingElements(network, attachment, mappings)
    : attachmentElements(network, attachment);
}

/**
 * Stop forwarding to the attachment with whichever backend holds it; idempotent. `mappings`
 * (the runtime's portMappings, which libcni and containerd send on DEL too) lets the nft
 * backend look its entries up by key instead of reading the network's whole maps.
 */
export async function removePortMappings(
  network: string,
  attachment: AttachmentId,
  mappings?: PortMappingSpec[],
): Promise<void> {
  try {
    // Reading is over nfnetlink: a DEL with nothing to remove runs no tool at all.
    if (nftPath()) await deleteElements(network, await nftElementsOf(network, attachment, mappings));
    if (await mayHaveIptables(network, attachment)) await removeForwardingsIptables(network, attachment);
  } catch (e) {
    if (isPlatformError(e)) throw e;
    const who = `${attachment.containerId}/${attachment.ifname}`;
    throw platformError(e, `remove host port forwardings of ${who} on network "${network}"`);
  }
}

/**
 * What is forwarded to the attachment now (for CHECK): no tool runs with nftables. With
 * `mappings`, only their forwardings are looked up, key by key.
 */
export async function readPortMappings(
  network: string,
  attachment: AttachmentId,
  mappings?: PortMappingSpec[],
): Promise<ForwardedPort[]> {
  try {
    const strip = ({ family: _family, ...f }: PlannedForwarding): ForwardedPort => f;
    const fromNft = nftPath() ? await nftElementsOf(network, attachment, mappings) : [];
    const forwarded = fromNft.flatMap((e) => (e.forwarding ? [strip(e.forwarding)] : []));
    if (await mayHaveIptables(network, attachment)) {
      forwarded.push(...(await readForwardingsIptables(network, attachment)).map(strip));
    }
    return forwarded;
  } catch (e) {
    throw platformError(e, `read host port forwardings on network "${network}"`);
  }
}

/** Remove the network's forwardings that belong to no attachment in `valid`. */
export async function collectPortMappings(network: string, valid: AttachmentId[]): Promise<void> {
  try {
    if (nftPath()) {
      const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
      await deleteElements(network, await ownedElements(network, (owner) => !keep.has(owner)));
    }
    // With nft installed, iptables chains are iptables-nft ones: skip the tool when there are none.
    const iptablesInUse =
      !nftPath() ||
      (await nftChainExists('ip', 'nat', IPTABLES_DNAT_CHAIN)) ||
      (await nftChainExists('ip6', 'nat', IPTABLES_DNAT_CHAIN));
    if (iptablesInUse && portmapIptablesAvailable(4)) await collectForwardingsIptables(network, valid);
  } catch (e) {
    throw platformError(e, `collect stale host port forwardings of network "${network}"`);
  }
}
