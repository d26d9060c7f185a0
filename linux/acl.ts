/**
 * Endpoint ACLs (EndpointSpec.acls; HCN ACL policies) as nftables filter rules on the container's
 * bridge port. A bridge-family table sees every frame of the port, switched or routed, as the
 * vSwitch port HCN filters on does. It is the network's table that MAC spoof filtering also
 * uses (mac-spoof.ts), with objects of its own, dispatching by port name through verdict maps
 * so ADD and DEL never list rules:
 *
 *   table bridge crosscni_<network hash> {
 *     map acl_from { type ifname : verdict }   "vethXXXX" : jump ao-<attachment>   (from the container)
 *     map acl_to { type ifname : verdict }     "vethXXXX" : jump ai-<attachment>   (to the container)
 *     chain acl_prerouting { filter hook prerouting priority -200; iifname vmap @acl_from }
 *     chain acl_forward { filter hook forward priority -200; oifname vmap @acl_to }
 *     chain acl_output  { filter hook output priority -200; oifname vmap @acl_to }
 *     chain ao-<attachment> { comment "vethXXXX"; [ct state established,related accept]; rules } }
 *
 * HCN's ACLs are flow-based; the per-attachment chains start with a conntrack rule that lets
 * replies through when the kernel tracks bridged traffic (nf_conntrack_bridge). Without it the
 * rules are applied per packet: endpoint-policies.ts retries the batch stateless.
 */
import type { AttachmentId } from '../platform/contract.ts';
import type { AclSpec } from '../platform/types.ts';
import { aclRules, aclsInOrder } from './acl-rules.ts';
import { attachmentHash, commentSafe, networkTable } from './netfilter-names.ts';
import { nftChainExists } from './nfnl.ts';
import { isMissingObject, nftBatch, nftList, nftString, nftText } from './nft.ts';

type Direction = 'in' | 'out';
const MAP: Record<Direction, string> = { out: 'acl_from', in: 'acl_to' };
const CHAIN_PREFIX: Record<Direction, string> = { out: 'ao-', in: 'ai-' };
const BASE_CHAINS = [
  { name: 'acl_prerouting', hook: 'prerouting', match: `iifname vmap @${MAP.out}` },
  { name: 'acl_forward', hook: 'forward', match: `oifname vmap @${MAP.in}` },
  { name: 'acl_output', hook: 'output', match: `oifname vmap @${MAP.in}` },
] as const;
const STATEFUL = 'ct state established,related accept';

/** Batch commands that install the attachment's ACLs on port `hostPort`; idempotent. */
export function aclAddCommands(
  network: string,
  attachment: AttachmentId,
  hostPort: string,
  acls: AclSpec[],
  stateful: boolean,
): string[] {
  const table = `bridge ${networkTable(network)}`;
  const hash = attachmentHash(attachment.containerId, attachment.ifname);
  const port = nftString(hostPort);
  const commands = [
    `add table ${table} { comment ${nftString(`crosscni network ${commentSafe(network)}`)}; }`,
    `add map ${table} ${MAP.out} { type ifname : verdict; }`,
    `add map ${table} ${MAP.in} { type ifname : verdict; }`,
  ];
  for (const base of BASE_CHAINS) {
    commands.push(
      `add chain ${table} ${base.name} { type filter hook ${base.hook} priority -200; policy accept; }`,
      `flush chain ${table} ${base.name}`,
      `add rule ${table} ${base.name} ${base.match}`,
    );
  }
  for (const direction of ['out', 'in'] as const) {
    const rules = aclsInOrder(acls, direction).flatMap(aclRules);
    if (!rules.length) continue;
    const chain = `${CHAIN_PREFIX[direction]}${hash}`;
    const map = MAP[direction];
    commands.push(`add chain ${table} ${chain} { comment ${port}; }`, `flush chain ${table} ${chain}`);
    if (stateful) commands.push(`add rule ${table} ${chain} ${STATEFUL}`);
    for (const rule of rules) commands.push(`add rule ${table} ${chain} ${rule}`);
    commands.push(
      // add + delete + add: replaces an element a reused port name may have left behind.
      `add element ${table} ${map} { ${port} : jump ${chain} }`,
      `delete element ${table} ${map} { ${port} }`,
      `add element ${table} ${map} { ${port} comment ${nftString(hash)} : jump ${chain} }`,
    );
  }
  return commands;
}

/** Whether a failed batch failed on the conntrack rule (the kernel cannot track bridged flows). */
export function failedOnConntrack(stderr: string): boolean {
  return stderr.includes('ct state');
}

async function applyIgnoringMissing(commands: string[]): Promise<void> {
  try {
    await nftBatch(commands);
  } catch (e) {
    if (!isMissingObject(e)) throw e;
    // One missing object fails the whole batch: retry one by one, skipping what is gone.
    for (const command of commands) {
      await nftBatch([command]).catch((inner: unknown) => {
        if (!isMissingObject(inner)) throw inner;
      });
    }
  }
}

async function removeChains(network: string, hash: string, hostPort: string | undefined): Promise<void> {
  const tableName = networkTable(network);
  const table = `bridge ${tableName}`;
  const commands: string[] = [];
  for (const direction of ['out', 'in'] as const) {
    const chain = `${CHAIN_PREFIX[direction]}${hash}`;
    if (!(await nftChainExists('bridge', tableName, chain))) continue;
    // The port is gone with the namespace; the chain's comment remembers its name.
    const port =
      hostPort ?? /comment "([^"]+)"/.exec(await nftText(['list', 'chain', 'bridge', tableName, chain]))?.[1];
    if (port) commands.push(`delete element ${table} ${MAP[direction]} { ${nftString(port)} }`);
    commands.push(`flush chain ${table} ${chain}`, `delete chain ${table} ${chain}`);
  }
  if (commands.length) await applyIgnoringMissing(commands);
}

/** Remove the attachment's ACLs, if it has any; `hostPort` when known saves a listing. */
export async function removeAcls(
  network: string,
  attachment: AttachmentId,
  hostPort?: string,
): Promise<void> {
  // A cheap netlink probe first: most networks have no ACLs, and DEL must not pay for them.
  if (!(await nftChainExists('bridge', networkTable(network), 'acl_prerouting'))) return;
  await removeChains(network, attachmentHash(attachment.containerId, attachment.ifname), hostPort);
}

/** Remove the ACLs of this network whose attachment is not in `valid`. */
export async function collectAcls(network: string, valid: AttachmentId[]): Promise<void> {
  const table = networkTable(network);
  if (!(await nftChainExists('bridge', table, 'acl_prerouting'))) return;
  const keep = new Set(valid.map((a) => attachmentHash(a.containerId, a.ifname)));
  const stale = new Map<string, string>();
  for (const map of [MAP.out, MAP.in]) {
    for (const item of await nftList(['list', 'map', 'bridge', table, map])) {
      for (const elem of (item.map as { elem?: unknown[] } | undefined)?.elem ?? []) {
        const [key, verdict] = elem as [unknown, { jump?: { target?: string } }];
        const target = verdict?.jump?.target ?? '';
        const hash = target.slice(3);
        if (!/^a[io]-/.test(target) || keep.has(hash)) continue;
        const port = typeof key === 'string' ? key : String((key as { elem?: { val?: unknown } }).elem?.val);
        stale.set(hash, port);
      }
    }
  }
  for (const [hash, port] of stale) await removeChains(network, hash, port);
}
