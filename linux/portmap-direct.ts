/**
 * portmap ADD without `nft`: when the network's `pm-` chains already hold the rules an ADD
 * without conditions writes (portmap-rules.ts checks them over nfnetlink), the attachment's
 * map and set elements are added in one nfnetlink transaction (nfnl-batch.ts), with the
 * comment the nft batch gives them (the attachment hash), so DEL, CHECK and GC find them as
 * before. Elements an earlier ADD of the same attachment made and this one does not (found by
 * comment) are deleted in the same transaction, so changed mappings leave nothing stale.
 *
 * Answers false, having applied nothing, whenever nft has to do it: the network's first ADD,
 * conditionsV4/V6 (they are part of the rules), rules of another shape, a table deleted
 * meanwhile, or a key that is held already (another container's forwarding: the nft batch
 * then reports the conflict as before; or an element left by an earlier owner of the
 * container's address, which the nft batch takes over).
 */
import type { AttachmentId } from '../platform/contract.ts';
import type { PlannedForwarding } from '../platform/port-forwarding.ts';
import type { IpFamily } from '../platform/types.ts';
import { hasErrno } from './errors.ts';
import { attachmentHash, networkTable } from './netfilter-names.ts';
import { NFT_MSG, type NftMessage, NLM_F_CREATE, NLM_F_EXCL, nftTransaction } from './nfnl-batch.ts';
import { setElementMessage } from './nfnl-setelem.ts';
import type { PortCondition } from './portmap-conditions.ts';
import {
  attachmentElements,
  FORWARDING_SETS,
  type OwnedElement,
  type PlannedElement,
  forwardingElements,
  sameElement,
  staleElements,
} from './portmap-nft.ts';
import { ownsAnyElement } from './portmap-owned.ts';
import { portmapRulesCurrent } from './portmap-rules.ts';
import { type Attr, NLA_F_NESTED, str } from './rtnl-attrs.ts';

const LIST = { TABLE: 1, SET: 2, ELEMENTS: 3 } as const;
const NFTA_LIST_ELEM = 1;
const ELEM = { KEY: 1, DATA: 2, USERDATA: 6 } as const;
const NFTA_DATA_VALUE = 1;
/** libnftnl's user data TLV type for an element comment (NFTNL_UDATA_SET_ELEM_COMMENT). */
const UDATA_ELEM_COMMENT = 0;

/**
 * NEWSETELEM for one element with a comment, laid out as nft lays out `add element inet t m
 * { <key> comment "<c>" : <data> }` (key, data, user data, each nested as nft nests them),
 * and exclusive (`create element`): EEXIST when the key is held already.
 */
export function elementAddMessage(table: string, element: PlannedElement, comment: string): NftMessage {
  const text = Buffer.from(`${comment}\0`, 'utf8');
  const attrs: Attr[] = [[ELEM.KEY | NLA_F_NESTED, [[NFTA_DATA_VALUE, element.key]]]];
  if (element.data) attrs.push([ELEM.DATA | NLA_F_NESTED, [[NFTA_DATA_VALUE, element.data]]]);
  attrs.push([ELEM.USERDATA, Buffer.concat([Buffer.from([UDATA_ELEM_COMMENT, text.length]), text])]);
  return {
    type: NFT_MSG.NEWSETELEM,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    family: 'inet',
    what: `create element inet ${table} ${element.set}`,
    attrs: [
      [LIST.TABLE, str(table)],
      [LIST.SET, str(element.set)],
      [LIST.ELEMENTS | NLA_F_NESTED, [[NFTA_LIST_ELEM | NLA_F_NESTED, attrs]]],
    ],
  };
}

/**
 * The elements an earlier ADD of the attachment made: none, usually, which a scan of the
 * network's maps and sets for its comment tells without decoding them (portmap-owned.ts).
 */
export async function earlierElements(network: string, attachment: AttachmentId): Promise<OwnedElement[]> {
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  if (!(await ownsAnyElement(networkTable(network), FORWARDING_SETS, hash))) return [];
  return attachmentElements(network, attachment);
}

function deleteMessage(table: string, element: OwnedElement): NftMessage {
  return setElementMessage('delete', 'inet', table, element.set, { key: element.keyBytes });
}

/**
 * Add the attachment's forwardings over nfnetlink if the network's rules are in place (see
 * above); true when done, false when the caller must run the nft batch.
 */
export async function addForwardingsDirect(
  network: string,
  attachment: AttachmentId,
  forwardings: PlannedForwarding[],
  options: { snat: boolean; conditions: Record<IpFamily, PortCondition[]> },
): Promise<boolean> {
  if (options.conditions[4].length || options.conditions[6].length) return false;
  const table = networkTable(network);
  if (!(await portmapRulesCurrent(table))) return false;
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  const wanted = forwardingElements(forwardings, options.snat);
  const existing = await earlierElements(network, attachment);
  const stale = staleElements(existing, wanted);
  const missing = wanted.filter((w) => !existing.some((e) => sameElement(e, w)));
  // Deletes first: a changed container port keeps its key. A transaction that only adds (the
  // common ADD) commits at once; one that deletes waits for an RCU grace period.
  const messages = [
    ...stale.map((e) => deleteMessage(table, e)),
    ...missing.map((w) => elementAddMessage(table, w, hash)),
  ];
  try {
    await nftTransaction(messages);
    return true;
  } catch (e) {
    if (hasErrno(e, 'ENOENT', 'EEXIST', 'EBUSY')) return false;
    throw e;
  }
}
