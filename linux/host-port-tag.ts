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
 */
import type { AttachmentId } from '../platform/contract.ts';
import { hasErrno, platformError } from './errors.ts';
import { withHostNetlink } from './namespace.ts';
import { attachmentHash, networkTable } from './netfilter-names.ts';
import type { RtnlSocket } from './rtnl.ts';
import { type Attr, cString, decodeAttrs, NLA_F_NESTED, str, u32 } from './rtnl-attrs.ts';
import { decodeLink, encodeLink, type LinkInfo } from './rtnl-codec.ts';
import { IFLA, NLM_F, RTM } from './rtnl-constants.ts';

const IFLA_IFALIAS = 20;
const IFLA_PROP_LIST = 52;
const IFLA_ALT_IFNAME = 53;
const RTM_NEWLINKPROP = 108;
const RTM_DELLINKPROP = 109;
const ALIAS_PREFIX = 'crosscni-endpoint';
/** Errors that mean "this kernel has no alternative names" (before 5.5). */
const NO_ALTNAMES = ['EOPNOTSUPP', 'EINVAL', 'ENOTSUP', 'ERANGE'];

function networkKey(network: string): string {
  return networkTable(network).slice('crosscni_'.length);
}

export function hostPortAlias(network: string, attachment: AttachmentId): string {
  return `${ALIAS_PREFIX} ${networkKey(network)} ${attachmentHash(attachment.containerId, attachment.ifname)}`;
}

/** The altname of a tagged host veth (38 bytes: altnames may have up to 127). */
export function hostPortAltName(network: string, attachment: AttachmentId): string {
  return `crosscni-${networkKey(network)}-${attachmentHash(attachment.containerId, attachment.ifname)}`;
}

/** The altname of a network's bridge once every tagged veth on it has its altname. */
export function bridgeMarkerAltName(network: string): string {
  return `crosscni-tags-${networkKey(network)}`;
}

/** The altname an alias tag stands for, or undefined when it is not one of ours. */
function altNameOfAlias(alias: string): string | undefined {
  const m = /^crosscni-endpoint ([0-9a-f]{12}) ([0-9a-f]{16})$/.exec(alias);
  return m ? `crosscni-${m[1]}-${m[2]}` : undefined;
}

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
    for (const reply of await host.request(
      RTM.GETLINK,
      // The kernel filters by master under strict checking; the check below covers older ones.
      encodeLink({}, [[IFLA.MASTER, u32(bridge.index)]]),
      NLM_F.DUMP,
    )) {
      const attrs = decodeAttrs(reply.subarray(16));
      const alias = attrs.get(IFLA_IFALIAS);
      const altName = alias && altNameOfAlias(cString(alias));
      if (!altName) continue;
      const link = decodeLink(reply);
      if (link.master !== bridge.index || link.kind !== 'veth') continue;
      if ((await linkByAltName(host, altName))?.index === link.index) continue;
      if (!(await addAltName(host, link.index, altName))) return;
    }
    await addAltName(host, bridge.index, marker);
  } catch (e) {
    throw platformError(e, `tag the veths on bridge ${bridge.name}`);
  }
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
