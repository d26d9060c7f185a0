/**
 * The tag on an endpoint's host veth: an alias holding the network's and the attachment's
 * hashes (never the free-text names). It is how DEL finds the host end when it cannot reach the
 * container end: CNI_NETNS empty (containerd's RemovePodSandbox DEL) or the interface already
 * gone from a namespace that still exists. Without it such a DEL released the address while the
 * veth lived on, on the bridge and still holding that address inside the pod, and the next ADD
 * handed the same address out again. Tagging is one RTM_SETLINK; finding lists the host's links,
 * which only a DEL that could not reach the container end pays for.
 */
import type { AttachmentId } from '../platform/contract.ts';
import { hasErrno, platformError } from './errors.ts';
import { withHostNetlink } from './namespace.ts';
import { attachmentHash, networkTable } from './netfilter-names.ts';
import type { RtnlSocket } from './rtnl.ts';
import { cString, decodeAttrs, str } from './rtnl-attrs.ts';
import { decodeLink, encodeLink, type LinkInfo } from './rtnl-codec.ts';
import { NLM_F, RTM } from './rtnl-constants.ts';

const IFLA_IFALIAS = 20;
const ALIAS_PREFIX = 'crosscni-endpoint';

export function hostPortAlias(network: string, attachment: AttachmentId): string {
  const networkKey = networkTable(network).slice('crosscni_'.length);
  return `${ALIAS_PREFIX} ${networkKey} ${attachmentHash(attachment.containerId, attachment.ifname)}`;
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
  } catch (e) {
    throw platformError(e, `tag veth ${link.name} with its attachment`);
  }
}

/**
 * Delete the host veths tagged for the attachment (deleting one end takes the pair); returns the
 * name of the last one deleted, or undefined when there was none.
 */
export async function deleteTaggedHostPorts(
  network: string,
  attachment: AttachmentId,
): Promise<string | undefined> {
  const alias = hostPortAlias(network, attachment);
  try {
    return await withHostNetlink(async (host) => {
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
