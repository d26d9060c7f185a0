/**
 * Outbound NAT (masquerade) with nftables, the default backend. One table per network in
 * the `inet` family, named from a hash of the network name (network names are free text and
 * never enter a command; the table comment carries a sanitised copy for humans):
 *
 *   table inet crosscni_<hash> {
 *     set masq4 { type ipv4_addr }   elements: container addresses, comment = attachment hash
 *     set masq6 { type ipv6_addr }
 *     chain postrouting { type nat hook postrouting priority srcnat;
 *       ip saddr @masq4 ip daddr != { <exceptions>, 224.0.0.0/4 } masquerade
 *       ip6 saddr @masq6 ip6 daddr != { <exceptions>, ff00::/8 } masquerade } }
 *
 * ADD never lists anything that grows with the number of containers (the reference plugin
 * lists the whole nat table on every ADD). When the chain already holds the rules for the
 * ADD's exceptions (masquerade-rules.ts reads the two rules over nfnetlink), ADD adds its set
 * elements in one nfnetlink transaction, spawning no `nft`; otherwise (the network's first
 * ADD, or changed exceptions) one `nft -f -` batch creates or rewrites everything. DEL deletes
 * set elements by address, over nfnetlink too. GC (and DEL without addresses) reads only this
 * network's two sets, over nfnetlink.
 */
import type { AttachmentId } from '../platform/contract.ts';
import type { IpFamily } from '../platform/types.ts';
import {
  addressesByFamily,
  attachmentHash,
  commentSafe,
  exceptionSet,
  networkTable,
} from './netfilter-names.ts';
import { masqueradeRulesCurrent } from './masquerade-rules.ts';
import { nftTransaction, type NftMessage } from './nfnl-batch.ts';
import { nftSetElements, setElementMessage } from './nfnl-setelem.ts';
import { nftString } from './nft.ts';
import { ipBytes, ipFromBytes } from './rtnl-attrs.ts';
import { formatIp, parseIp } from '../platform/cidr.ts';
import { hasErrno } from './errors.ts';

const SET: Record<IpFamily, string> = { 4: 'masq4', 6: 'masq6' };

/** Batch commands that make `addresses` of one attachment masqueraded; idempotent. */
export function masqueradeAddCommands(
  network: string,
  attachment: AttachmentId,
  addresses: string[],
  exceptions: string[],
): string[] {
  const table = `inet ${networkTable(network)}`;
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  const byFamily = addressesByFamily(addresses);
  const commands = [
    `add table ${table} { comment ${nftString(`crosscni network ${commentSafe(network)}`)}; }`,
    `add chain ${table} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add set ${table} ${SET[4]} { type ipv4_addr; }`,
    `add set ${table} ${SET[6]} { type ipv6_addr; }`,
    // The rules carry the exceptions of the latest ADD; flushing first keeps exactly one per family.
    `flush chain ${table} postrouting`,
    `add rule ${table} postrouting ip saddr @${SET[4]} ip daddr != { ${exceptionSet(exceptions, 4).join(', ')} } masquerade`,
    `add rule ${table} postrouting ip6 saddr @${SET[6]} ip6 daddr != { ${exceptionSet(exceptions, 6).join(', ')} } masquerade`,
  ];
  for (const family of [4, 6] as const) {
    for (const ip of byFamily[family]) {
      // add + delete + add: an element left by an earlier owner of this address gets our
      // comment (`add` alone keeps an existing element's comment, and GC goes by comment).
      commands.push(
        `add element ${table} ${SET[family]} { ${ip} }`,
        `delete element ${table} ${SET[family]} { ${ip} }`,
        `add element ${table} ${SET[family]} { ${ip} comment ${nftString(hash)} }`,
      );
    }
  }
  return commands;
}

/** The set and key of each address's element. */
function elementsOf(addresses: string[]): Array<{ set: string; key: Buffer }> {
  const byFamily = addressesByFamily(addresses);
  return ([4, 6] as const).flatMap((family) =>
    byFamily[family].map((ip) => ({ set: SET[family], key: ipBytes(parseIp(ip)!) })),
  );
}

function elementMessage(
  operation: 'add' | 'delete',
  network: string,
  element: { set: string; key: Buffer },
  comment?: string,
  exclusive = false,
): NftMessage {
  const { set, key } = element;
  const spec = comment ? { key, comment } : { key };
  return setElementMessage(operation, 'inet', networkTable(network), set, spec, exclusive);
}

/**
 * ADD without `nft`: when the network's chain already holds the rules for `exceptions`, add
 * the attachment's elements with our comment in one nfnetlink transaction. False when nft has to do it: the network's first ADD, changed
 * exceptions, or the table deleted meanwhile (the transaction then applied nothing).
 */
export async function addMasqueradeDirect(
  network: string,
  attachment: AttachmentId,
  addresses: string[],
  exceptions: string[],
): Promise<boolean> {
  if (!(await masqueradeRulesCurrent(networkTable(network), SET, exceptions))) return false;
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  const elements = elementsOf(addresses);
  try {
    // The common case: the addresses are new to the set. A transaction that only adds commits
    // in ~0.1 ms; one that deletes waits for an RCU grace period (~16 ms measured).
    await nftTransaction(elements.map((element) => elementMessage('add', network, element, hash, true)));
    return true;
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return false;
    if (!hasErrno(e, 'EEXIST')) throw e;
  }
  // An element is there already (a repeated ADD, or an earlier owner's leftover): add, delete
  // and add it again with our comment, as the nft batch does (`add` keeps an element's comment).
  const messages = elements.flatMap((element) => [
    elementMessage('add', network, element),
    elementMessage('delete', network, element),
    elementMessage('add', network, element, hash),
  ]);
  try {
    await nftTransaction(messages);
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return false;
    throw e;
  }
  return true;
}

/** Stop masquerading `addresses`; succeeds when they (or the whole table) are already gone. */
export async function removeMasqueradeNft(network: string, addresses: string[]): Promise<void> {
  const all = elementsOf(addresses).map((element) => elementMessage('delete', network, element));
  if (!all.length) return;
  try {
    await nftTransaction(all);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw e;
    // One missing element fails the whole transaction: retry one by one, skipping what is gone.
    if (all.length === 1) return;
    for (const message of all) {
      await nftTransaction([message]).catch((inner: unknown) => {
        if (!hasErrno(inner, 'ENOENT')) throw inner;
      });
    }
  }
}

export interface MasqueradeEntry {
  address: string;
  /** Attachment hash the element was added for ("" when it has no comment). */
  attachment: string;
}

/**
 * The masqueraded addresses of a network, per family (empty when the table does not exist):
 * a dump of this network's two sets over nfnetlink, no `nft` process.
 */
export async function readMasqueradeNft(network: string): Promise<MasqueradeEntry[]> {
  const entries: MasqueradeEntry[] = [];
  for (const family of [4, 6] as const) {
    for (const element of await nftSetElements('inet', networkTable(network), SET[family]))
      entries.push({ address: formatIp(ipFromBytes(element.key)), attachment: element.comment ?? '' });
  }
  return entries;
}

/**
 * Remove the elements of one attachment, found by comment: for a DEL that does not know the
 * addresses (no prevResult and the namespace is gone). Lists only this network's sets.
 */
export async function removeAttachmentMasqueradeNft(
  network: string,
  attachment: AttachmentId,
): Promise<void> {
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  const mine = (await readMasqueradeNft(network)).filter((e) => e.attachment === hash);
  if (mine.length)
    await removeMasqueradeNft(
      network,
      mine.map((e) => e.address),
    );
}

/** Remove elements of this network whose attachment is not in `valid`. */
export async function collectMasqueradeNft(network: string, valid: AttachmentId[]): Promise<void> {
  const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
  const stale = (await readMasqueradeNft(network)).filter((e) => !keep.has(e.attachment));
  if (stale.length)
    await removeMasqueradeNft(
      network,
      stale.map((e) => e.address),
    );
}

/** Batch commands that remove every nft table of a network; idempotent (add, then delete). */
export function networkTablesDeleteCommands(network: string): string[] {
  const table = networkTable(network);
  return ['inet', 'bridge'].flatMap((family) => [
    `add table ${family} ${table}`,
    `delete table ${family} ${table}`,
  ]);
}
