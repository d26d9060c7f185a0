/**
 * The text of a host veth's tag (linux/host-port-tag.ts): the alias, the altname and the
 * bridge's marker altname, all made of hashes of the network and the attachment (never the
 * free-text names). Pure, and kept apart from the netlink code so that `crosscni doctor`, which
 * reads the aliases from sysfs, can parse them without loading the native modules.
 */
import type { AttachmentId } from '../platform/contract.ts';
import { attachmentHash, networkTable } from './netfilter-names.ts';

const ALIAS_PREFIX = 'crosscni-endpoint';
const ALIAS_PATTERN = /^crosscni-endpoint ([0-9a-f]{12}) ([0-9a-f]{16})$/;

/** What a tag says: the hash of the network's name and the hash of the attachment. */
export interface HostPortTag {
  networkKey: string;
  attachmentKey: string;
}

/** The 12 hex digits that stand for the network in its tags (as in its nft table name). */
export function hostPortNetworkKey(network: string): string {
  return networkTable(network).slice('crosscni_'.length);
}

export function hostPortAlias(network: string, attachment: AttachmentId): string {
  return `${ALIAS_PREFIX} ${hostPortNetworkKey(network)} ${attachmentHash(attachment.containerId, attachment.ifname)}`;
}

/** The altname of a tagged host veth (38 bytes: altnames may have up to 127). */
export function hostPortAltName(network: string, attachment: AttachmentId): string {
  return `crosscni-${hostPortNetworkKey(network)}-${attachmentHash(attachment.containerId, attachment.ifname)}`;
}

/** The altname of a network's bridge once every tagged veth on it has its altname. */
export function bridgeMarkerAltName(network: string): string {
  return `crosscni-tags-${hostPortNetworkKey(network)}`;
}

/** The tag an alias holds, or undefined when the alias is not one of ours. */
export function parseHostPortAlias(alias: string): HostPortTag | undefined {
  const m = ALIAS_PATTERN.exec(alias);
  return m ? { networkKey: m[1]!, attachmentKey: m[2]! } : undefined;
}

/** The altname an alias tag stands for, or undefined when it is not one of ours. */
export function altNameOfAlias(alias: string): string | undefined {
  const tag = parseHostPortAlias(alias);
  return tag && `crosscni-${tag.networkKey}-${tag.attachmentKey}`;
}
