/**
 * The per-attachment ifb device that carries a container's egress limit: traffic entering the
 * host veth (leaving the container) is redirected to it, and its root tbf shapes it. Named
 * "bwp" + a hash of network and attachment, as the reference names it from network and
 * container id (crosscni adds the ifname, so two interfaces of one container get two devices),
 * and tagged with an alias that records network and attachment hashes, so GC can find the
 * devices of attachments that are gone.
 */
import type { AttachmentId } from '../platform/contract.ts';
import { hasErrno } from './errors.ts';
import { attachmentHash, networkTable } from './netfilter-names.ts';
import type { RtnlSocket } from './rtnl.ts';
import { cString, decodeAttrs, str, u32 } from './rtnl-attrs.ts';
import { IFF_UP, IFLA, IFLA_INFO, NLM_F, RTM } from './rtnl-constants.ts';
import { decodeLink, encodeLink, type LinkInfo } from './rtnl-codec.ts';
import { createHash } from 'node:crypto';

const IFLA_TXQLEN = 13;
const IFLA_IFALIAS = 20;
/** The reference's floor for the ifb's queue length. */
const MIN_TXQLEN = 1000;
const ALIAS_PREFIX = 'crosscni-bandwidth';

export function ifbName(network: string, attachment: AttachmentId): string {
  const digest = createHash('sha256')
    .update(`${network}\0${attachment.containerId}\0${attachment.ifname}`)
    .digest('hex');
  return `bwp${digest.slice(0, 12)}`;
}

function networkKey(network: string): string {
  return networkTable(network).slice('crosscni_'.length);
}

function aliasOf(network: string, attachment: AttachmentId): string {
  return `${ALIAS_PREFIX} ${networkKey(network)} ${attachmentHash(attachment.containerId, attachment.ifname)}`;
}

/** Create (or find, on a repeated ADD) the attachment's ifb with the host veth's MTU, up. */
export async function ensureIfb(
  sock: RtnlSocket,
  network: string,
  attachment: AttachmentId,
  mtu: number,
): Promise<LinkInfo> {
  const name = ifbName(network, attachment);
  try {
    await sock.createLink({ flags: IFF_UP, change: IFF_UP }, [
      [IFLA.IFNAME, str(name)],
      [IFLA.MTU, u32(mtu)],
      [IFLA_TXQLEN, u32(MIN_TXQLEN)],
      [IFLA.LINKINFO, [[IFLA_INFO.KIND, str('ifb')]]],
    ]);
  } catch (e) {
    if (!hasErrno(e, 'EEXIST')) throw e;
  }
  const link = await sock.getLink(name);
  if (!link) throw new Error(`ifb device ${name} vanished right after creation`);
  // The kernel applies an alias only when changing a link, not when creating one.
  await sock.setLink({ index: link.index, flags: IFF_UP, change: IFF_UP }, [
    [IFLA.MTU, u32(mtu)],
    [IFLA_IFALIAS, str(aliasOf(network, attachment))],
  ]);
  return link;
}

/** Delete the attachment's ifb; succeeds when it does not exist. */
export async function deleteIfb(sock: RtnlSocket, network: string, attachment: AttachmentId): Promise<void> {
  const link = await sock.getLink(ifbName(network, attachment));
  if (link?.kind !== 'ifb') return;
  await sock.delLink({ index: link.index }).catch((e: unknown) => {
    if (!hasErrno(e, 'ENODEV')) throw e;
  });
}

/**
 * Delete this network's ifb devices whose attachment is not in `valid` (found by alias in a
 * dump of the host's links: GC may list, ADD and DEL never do).
 */
export async function collectIfbs(sock: RtnlSocket, network: string, valid: AttachmentId[]): Promise<void> {
  const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
  const prefix = `${ALIAS_PREFIX} ${networkKey(network)} `;
  const replies = await sock.request(RTM.GETLINK, encodeLink({}), NLM_F.DUMP);
  for (const reply of replies) {
    const alias = decodeAttrs(reply.subarray(16)).get(IFLA_IFALIAS);
    const text = alias ? cString(alias) : '';
    if (!text.startsWith(prefix) || keep.has(text.slice(prefix.length))) continue;
    await sock.delLink({ index: decodeLink(reply).index }).catch((e: unknown) => {
      if (!hasErrno(e, 'ENODEV')) throw e;
    });
  }
}
