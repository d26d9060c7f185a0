/**
 * MAC spoof filtering for bridge ports (the bridge plugin's `macspoofchk`): frames entering the
 * bridge from a container's host-side veth are dropped unless their source MAC is the
 * container's. Like the reference plugin, a bridge-family table with a prerouting chain at
 * priority -300 and one chain per attachment; unlike it, the base chain dispatches through a
 * verdict map keyed by port name, so ADD and DEL never list rules to find a handle:
 *
 *   table bridge crosscni_<network hash> {
 *     map ports { type ifname : verdict }      "vethXXXX" comment <attachment> : jump ms-<attachment>
 *     chain prerouting { type filter hook prerouting priority -300; iifname vmap @ports }
 *     chain ms-<attachment> { comment "vethXXXX"; ether saddr <mac> return; drop } }
 *
 * The per-attachment chain records its port name, so DEL can remove the map element even when
 * the container's namespace (and with it the port) is already gone.
 */
import type { AttachmentId } from '../platform/contract.ts';
import { attachmentHash, commentSafe, networkTable } from './netfilter-names.ts';
import { nftChainExists } from './nfnl.ts';
import { isMissingObject, nftBatch, nftList, nftString, nftText } from './nft.ts';

function chainOf(hash: string): string {
  return `ms-${hash}`;
}

/** Batch commands that install the filter for one port; idempotent. */
export function macSpoofAddCommands(
  network: string,
  attachment: AttachmentId,
  hostPort: string,
  mac: string,
): string[] {
  const table = `bridge ${networkTable(network)}`;
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  const chain = chainOf(hash);
  const port = nftString(hostPort);
  return [
    `add table ${table} { comment ${nftString(`crosscni network ${commentSafe(network)}`)}; }`,
    `add map ${table} ports { type ifname : verdict; }`,
    `add chain ${table} prerouting { type filter hook prerouting priority -300; policy accept; }`,
    `flush chain ${table} prerouting`,
    `add rule ${table} prerouting iifname vmap @ports`,
    `add chain ${table} ${chain} { comment ${port}; }`,
    `flush chain ${table} ${chain}`,
    `add rule ${table} ${chain} ether saddr ${mac.toLowerCase()} return`,
    `add rule ${table} ${chain} drop`,
    // add + delete + add: replaces an element a reused port name may have left behind.
    `add element ${table} ports { ${port} : jump ${chain} }`,
    `delete element ${table} ports { ${port} }`,
    `add element ${table} ports { ${port} comment ${nftString(hash)} : jump ${chain} }`,
  ];
}

async function removeChain(network: string, hash: string, hostPort: string | undefined): Promise<void> {
  const table = `bridge ${networkTable(network)}`;
  const chain = chainOf(hash);
  let port = hostPort;
  if (!port) {
    // The port is gone with the namespace; the chain's comment remembers its name.
    const text = await nftText(['list', 'chain', 'bridge', networkTable(network), chain]);
    port = /comment "([^"]+)"/.exec(text)?.[1];
  }
  const dropChain = [`flush chain ${table} ${chain}`, `delete chain ${table} ${chain}`];
  try {
    await nftBatch([...(port ? [`delete element ${table} ports { ${nftString(port)} }`] : []), ...dropChain]);
  } catch (e) {
    if (!isMissingObject(e)) throw e;
    await nftBatch(dropChain).catch((inner: unknown) => {
      if (!isMissingObject(inner)) throw inner;
    });
  }
}

/** Remove the filter of one attachment, if it has one; `hostPort` when known saves a listing. */
export async function removeMacSpoof(
  network: string,
  attachment: AttachmentId,
  hostPort?: string,
): Promise<void> {
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  // A cheap netlink probe: most networks never enable the filter, and DEL must not pay for it.
  if (!(await nftChainExists('bridge', networkTable(network), chainOf(hash)))) return;
  await removeChain(network, hash, hostPort);
}

/** Remove the filters of this network whose attachment is not in `valid`. */
export async function collectMacSpoof(network: string, valid: AttachmentId[]): Promise<void> {
  if (!(await nftChainExists('bridge', networkTable(network), 'prerouting'))) return;
  const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
  const listing = await nftList(['list', 'map', 'bridge', networkTable(network), 'ports']);
  for (const item of listing) {
    const elems = (item.map as { elem?: unknown[] } | undefined)?.elem ?? [];
    for (const elem of elems) {
      const [key, verdict] = elem as [unknown, { jump?: { target?: string } }];
      const target = verdict?.jump?.target;
      if (!target?.startsWith('ms-')) continue;
      const hash = target.slice(3);
      if (keep.has(hash)) continue;
      const port = typeof key === 'string' ? key : String((key as { elem?: { val?: unknown } }).elem?.val);
      await removeChain(network, hash, port);
    }
  }
}
