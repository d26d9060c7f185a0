/**
 * The tag on an endpoint's host veth: an alias holding the network's and the attachment's
 * hashes (never the free-text names). It is how DEL finds the host end when it cannot reach the
 * container end: CNI_NETNS empty (containerd's RemovePodSandbox DEL) or the interface already
 * gone from a namespace that still exists. Without it such a DEL released the address while the
 * veth lived on, on the bridge and still holding that address inside the pod, and the next ADD
 * handed the same address out again.
 *
 * The tag is two things: the alias (for people: `ip link` shows it) and an alternative name
 * holding the same hashes (Linux 5.5+), which the kernel looks up by name, so such a DEL costs
 * the same with 5 or 500 interfaces on the host. containerd's second DEL of every pod is such a
 * DEL, and the veth is usually gone already: a miss must be trusted without listing the host's
 * links. It can be once the bridge carries a marker altname saying "every tagged veth on me
 * has its altname": the first ADD on a bridge that lacks it gives altnames to the veths tagged
 * before (by an older crosscni), once, then sets the marker. Without the marker (no altname
 * support, the bridge gone) DEL lists the host's links and matches aliases, as before.
 *
 * GC goes by the tag too: it lists the network's bridge's ports and deletes the veths tagged
 * for this network whose attachment is not valid. (The tag's text: host-port-tag-names.ts.)
 */
import type { AttachmentId } from '../platform/contract.ts';
import { hasErrno, platformError } from './errors.ts';
import {
  altNameOfAlias,
  bridgeMarkerAltName,
  hostPortAlias,
  hostPortAltName,
  hostPortNetworkKey,
  parseHostPortAlias,
} from './host-port-tag-names.ts';
import { withHostNetlink } from './namespace.ts';
import { attachmentHash } from './netfilter-names.ts';
import type { RtnlSocket } from './rtnl.ts';
import { type Attr, cString, decodeAttrs, NLA_F_NESTED, str, u32 } from './rtnl-attrs.ts';
import { decodeLink, encodeLink, type LinkInfo } from './rtnl-codec.ts';
import { IFLA, NLM_F, RTM } from './rtnl-constants.ts';

export { bridgeMarkerAltName, hostPortAlias, hostPortAltName } from './host-port-tag-names.ts';

const IFLA_IFALIAS = 20;
const IFLA_PROP_LIST = 52;
const IFLA_ALT_IFNAME = 53;
const RTM_NEWLINKPROP = 108;
const RTM_DELLINKPROP = 109;
/** Errors that mean "this kernel has no alternative names" (before 5.5). */
const NO_ALTNAMES = ['EOPNOTSUPP', 'EINVAL', 'ENOTSUP', 'ERANGE'];

function altNameAttrs(name: string): Attr[] {
  return [[IFLA_PROP_LIST | NLA_F_NESTED, [[IFLA_ALT_IFNAME, str(name)]]]];
}

/** The link holding alternative name `name`; undefined when none does or altnames are unsupported. */
async function linkByAltName(host: RtnlSocket, name: string): Promise<LinkInfo | undefined> {
  try {
    const [reply] = await host.request(RTM.GETLINK, encodeLink({}, [[IFLA_ALT_IFNAME, str(name)]]));
    return reply ? decodeLink(reply) : undefined;
  } catch (e) {
    if (hasErrno(e, 'ENODEV', ...NO_ALTNAMES)) return undefined;
    throw e;
  }
}

/**
 * Give `index` the altname `name`. Another link holding it is a leftover of the same attachment
 * (an earlier ADD's veth that was never deleted): it gives the name up. False when the kernel
 * has no altnames.
 */
async function addAltName(host: RtnlSocket, index: number, name: string): Promise<boolean> {
  try {
    await host.request(RTM_NEWLINKPROP, encodeLink({ index }, altNameAttrs(name)));
    return true;
  } catch (e) {
    if (hasErrno(e, ...NO_ALTNAMES)) return false;
    if (!hasErrno(e, 'EEXIST')) throw e;
  }
  const holder = await linkByAltName(host, name);
  // Already this link's: a concurrent ADD (the first ADDs on a new bridge race to mark it and to
  // migrate the same veths) got there first.
  if (holder?.index === index) return true;
  if (holder)
    await host
      .request(RTM_DELLINKPROP, encodeLink({ index: holder.index }, altNameAttrs(name)))
      .catch((e: unknown) => {
        // Gone meanwhile: the name is free.
        if (!hasErrno(e, 'ENODEV', 'ENOENT')) throw e;
      });
  // A failure here fails the ADD (its undo deletes the veth): a tagged veth without its
  // altname on a marked bridge would be invisible to a DEL without the container end.
  await host.request(RTM_NEWLINKPROP, encodeLink({ index }, altNameAttrs(name)));
  return true;
}

/** Tag a freshly made host veth (the kernel ignores IFLA_IFALIAS in a create request). */
export async function tagHostPort(
  host: RtnlSocket,
  link: LinkInfo,
  network: string,
  attachment: AttachmentId,
): Promise<void> {
  try {
    await host.setLink({ index: link.index }, [[IFLA_IFALIAS, str(hostPortAlias(network, attachment))]]);
    await addAltName(host, link.index, hostPortAltName(network, attachment));
  } catch (e) {
    throw platformError(e, `tag veth ${link.name} with its attachment`);
  }
}

/** A port of a bridge and the alias tag it carries. */
interface TaggedPort {
  link: LinkInfo;
  alias: string;
}

/** The veths enslaved to `bridge` that carry an alias tag of crosscni's (of any network). */
async function taggedPortsOf(host: RtnlSocket, bridge: LinkInfo): Promise<TaggedPort[]> {
  const ports: TaggedPort[] = [];
  for (const reply of await host.request(
    RTM.GETLINK,
    // The kernel filters by master under strict checking; the check below covers older ones.
    encodeLink({}, [[IFLA.MASTER, u32(bridge.index)]]),
    NLM_F.DUMP,
  )) {
    const raw = decodeAttrs(reply.subarray(16)).get(IFLA_IFALIAS);
    const alias = raw && cString(raw);
    if (!alias || !parseHostPortAlias(alias)) continue;
    const link = decodeLink(reply);
    if (link.master === bridge.index && link.kind === 'veth') ports.push({ link, alias });
  }
  return ports;
}

/**
 * Make sure the bridge carries the marker: if it does not, give every veth on it that has an
 * alias tag but no altname its altname (veths tagged by an older crosscni), then set it. One
 * GETLINK on every ADD; the dump of the bridge's ports happens once per bridge.
 */
export async function markBridgeTagged(host: RtnlSocket, bridge: LinkInfo, network: string): Promise<void> {
  const marker = bridgeMarkerAltName(network);
  try {
    // On another link (the network's bridge was renamed), the marker moves here after migrating.
    if ((await linkByAltName(host, marker))?.index === bridge.index) return;
    for (const { link, alias } of await taggedPortsOf(host, bridge)) {
      const altName = altNameOfAlias(alias)!;
      if ((await linkByAltName(host, altName))?.index === link.index) continue;
      if (!(await addAltName(host, link.index, altName))) return;
    }
    await addAltName(host, bridge.index, marker);
  } catch (e) {
    throw platformError(e, `tag the veths on bridge ${bridge.name}`);
  }
}

/**
 * GC of host veths: delete the veths on the network's bridge tagged for this network whose
 * attachment is not in `valid` (deleting the host end takes the pair, the container end with
 * its addresses). A pod sandbox the runtime gave up on but still holds keeps its veth alive,
 * and with it the address GC releases. Only the bridge's ports are listed (a dump filtered by
 * master); another network's veths (its tag differs, even on a shared bridge), untagged ports
 * and links elsewhere are never touched. Every stale veth is tried; the first failure is thrown
 * after the rest. Returns the names of the veths deleted.
 */
export async function collectHostPorts(
  network: string,
  bridgeName: string,
  valid: AttachmentId[],
): Promise<string[]> {
  const networkKey = hostPortNetworkKey(network);
  const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
  const deleted: string[] = [];
  const failures: unknown[] = [];
  try {
    await withHostNetlink(async (host) => {
      const bridge = await host.getLink(bridgeName);
      // No bridge, no port of it: whatever was enslaved went with it.
      if (bridge?.kind !== 'bridge') return;
      for (const { link, alias } of await taggedPortsOf(host, bridge)) {
        const tag = parseHostPortAlias(alias)!;
        if (tag.networkKey !== networkKey || keep.has(tag.attachmentKey)) continue;
        try {
          await host.delLink({ index: link.index });
          deleted.push(link.name);
        } catch (e) {
          // Gone meanwhile (its namespace died, or a DEL got there first): the outcome GC wants.
          if (!hasErrno(e, 'ENODEV'))
            failures.push(platformError(e, `delete stale veth ${link.name} of network "${network}"`));
        }
      }
    });
  } catch (e) {
    failures.unshift(platformError(e, `list the veths of network "${network}" on bridge ${bridgeName}`));
  }
  if (failures.length) throw failures[0];
  return deleted;
}

/**
 * Delete the host veths tagged for the attachment (deleting one end takes the pair); returns the
 * name of the last one deleted, or undefined when there was none.
 */
export async function deleteTaggedHostPorts(
  network: string,
  attachment: AttachmentId,
  bridgeName?: string,
): Promise<string | undefined> {
  const alias = hostPortAlias(network, attachment);
  try {
    return await withHostNetlink(async (host) => {
      const tagged = await linkByAltName(host, hostPortAltName(network, attachment));
      if (tagged?.kind === 'veth') {
        await host.delLink({ index: tagged.index }).catch((e: unknown) => {
          if (!hasErrno(e, 'ENODEV')) throw e;
        });
        return tagged.name;
      }
      // Not there by name. With the marker on the network's bridge that is the answer.
      const bridge = bridgeName ? await host.getLink(bridgeName) : undefined;
      if (
        bridge?.kind === 'bridge' &&
        (await linkByAltName(host, bridgeMarkerAltName(network)))?.index === bridge.index
      )
        return undefined;
      let deleted: string | undefined;
      for (const reply of await host.request(RTM.GETLINK, encodeLink({}), NLM_F.DUMP)) {
        const tag = decodeAttrs(reply.subarray(16)).get(IFLA_IFALIAS);
        if (!tag || cString(tag) !== alias) continue;
        const link = decodeLink(reply);
        if (link.kind !== 'veth') continue;
        await host.delLink({ index: link.index }).catch((e: unknown) => {
          if (!hasErrno(e, 'ENODEV')) throw e;
        });
        deleted = link.name;
      }
      return deleted;
    });
  } catch (e) {
    throw platformError(
      e,
      `delete the host veth of ${attachment.containerId}/${attachment.ifname} on network "${network}"`,
    );
  }
}
