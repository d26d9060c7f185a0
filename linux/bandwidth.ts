/**
 * Bandwidth limits of an attachment (the CNI bandwidth capability) on Linux, as the reference
 * bandwidth plugin sets them, all over rtnetlink (tc.ts), never by spawning `tc`:
 *   ingress (towards the container) = tbf as the root qdisc of the host veth;
 *   egress (from the container)     = the host veth's ingress qdisc with a u32 match-all
 *     filter whose mirred action redirects to the attachment's ifb device (ifb.ts), and a tbf
 *     as the ifb's root qdisc.
 * The host veth is the peer of the container interface, as the reference finds it. Setting
 * replaces what an earlier ADD set; removing succeeds on any partial or absent state.
 */
import { existsSync } from 'node:fs';
import type { AttachmentId } from '../platform/contract.ts';
import { isPlatformError, PlatformError } from '../platform/errors.ts';
import type { AttachmentTarget, BandwidthSpec, InterfaceState } from '../platform/types.ts';
import { UndoStack } from '../platform/undo.ts';
import { hasErrno, platformError } from './errors.ts';
import { collectIfbs, deleteIfb, ensureIfb, ifbName } from './ifb.ts';
import { withHostNetlink, withNetlinkIn } from './namespace.ts';
import type { RtnlSocket } from './rtnl.ts';
import type { LinkInfo } from './rtnl-codec.ts';
import {
  addRedirectFilter,
  decodeRedirectTarget,
  decodeTbf,
  deleteQdisc,
  INGRESS_HANDLE,
  getQdisc,
  listFilters,
  replaceIngressQdisc,
  replaceRootTbf,
  TC_H_INGRESS,
  TC_H_ROOT,
} from './tc.ts';
import { tbfBurstBits, tbfParams } from './tbf.ts';

const idOf = (t: AttachmentTarget): AttachmentId => ({ containerId: t.containerId, ifname: t.ifname });

/**
 * The host end of the container interface: the veth peer it names (IFLA_LINK in another
 * namespace) that names it back. Undefined when the namespace or the interface is gone.
 */
async function hostVeth(host: RtnlSocket, target: AttachmentTarget): Promise<LinkInfo | undefined> {
  if (!target.namespace || !existsSync(target.namespace)) return undefined;
  const container = await withNetlinkIn(target.namespace, (inside) => inside.getLink(target.ifname));
  if (!container) return undefined;
  if (container.kind !== 'veth' || container.link === undefined || container.linkNetnsId === undefined) {
    throw new PlatformError(
      'unsupported',
      `limit bandwidth of ${target.ifname} in ${target.namespace}: it is not one end of a veth pair (the bandwidth plugin shapes the host-side veth)`,
    );
  }
  const peer = await host.getLink(container.link);
  if (peer?.kind !== 'veth' || peer.link !== container.index) return undefined;
  if (target.hostInterfaces && !target.hostInterfaces.includes(peer.name)) {
    throw new PlatformError(
      'not-found',
      `limit bandwidth of ${target.ifname}: its host end ${peer.name} is not among prevResult's host interfaces (${target.hostInterfaces.join(', ')})`,
    );
  }
  return peer;
}

async function requireHostVeth(host: RtnlSocket, target: AttachmentTarget): Promise<LinkInfo> {
  const veth = await hostVeth(host, target);
  if (!veth) {
    throw new PlatformError(
      'not-found',
      `limit bandwidth of ${target.ifname} in ${target.namespace || '(no namespace)'}: the container interface or its host-side veth does not exist`,
    );
  }
  return veth;
}

/** The tbf that is the root qdisc of a device, if that is what its root is. */
async function rootTbf(sock: RtnlSocket, ifindex: number) {
  const root = await getQdisc(sock, ifindex, TC_H_ROOT);
  return root?.kind === 'tbf' && root.options ? decodeTbf(root.options) : undefined;
}

/** Deletes a qdisc; "there is none" (ENOENT, EINVAL for a default root) is success. */
async function dropQdisc(sock: RtnlSocket, ifindex: number, parent: number): Promise<void> {
  await deleteQdisc(sock, ifindex, parent).catch((e: unknown) => {
    if (!hasErrno(e, 'ENOENT', 'EINVAL', 'ENODEV')) throw e;
  });
}

/** Take the limits off the host veth and delete the ifb; idempotent. */
async function clear(host: RtnlSocket, target: AttachmentTarget, veth: LinkInfo | undefined): Promise<void> {
  if (veth) {
    // Only a tbf is ours at the root; the ingress qdisc is only ever there for the redirect.
    if ((await getQdisc(host, veth.index, TC_H_ROOT))?.kind === 'tbf')
      await dropQdisc(host, veth.index, TC_H_ROOT);
    if (await getQdisc(host, veth.index, TC_H_INGRESS)) await dropQdisc(host, veth.index, TC_H_INGRESS);
  }
  await deleteIfb(host, target.network, idOf(target));
}

export async function setBandwidth(target: AttachmentTarget, spec: BandwidthSpec): Promise<InterfaceState[]> {
  for (const [rate, burst, what] of [
    [spec.ingressRate, spec.ingressBurstBits, 'ingress'],
    [spec.egressRate, spec.egressBurstBits, 'egress'],
  ] as const) {
    if (rate && !burst)
      throw new PlatformError('invalid', `${what} bandwidth limit needs a burst as well as a rate`);
  }
  return withHostNetlink(async (host) => {
    const undo = new UndoStack();
    try {
      return await undo.guard(async () => {
        const veth = await requireHostVeth(host, target);
        await clear(host, target, veth);
        const created: InterfaceState[] = [];
        if (spec.ingressRate && spec.ingressBurstBits) {
          undo.push(`remove tbf from ${veth.name}`, () => dropQdisc(host, veth.index, TC_H_ROOT));
          await replaceRootTbf(host, veth.index, tbfParams(spec.ingressRate, spec.ingressBurstBits));
        }
        if (spec.egressRate && spec.egressBurstBits) {
          undo.push(`delete ${ifbName(target.network, idOf(target))}`, () =>
            deleteIfb(host, target.network, idOf(target)),
          );
          const ifb = await ensureIfb(host, target.network, idOf(target), veth.mtu);
          await replaceRootTbf(host, ifb.index, tbfParams(spec.egressRate, spec.egressBurstBits));
          undo.push(`remove ingress qdisc from ${veth.name}`, () =>
            dropQdisc(host, veth.index, TC_H_INGRESS),
          );
          await replaceIngressQdisc(host, veth.index);
          await addRedirectFilter(host, veth.index, ifb.index);
          created.push({ name: ifb.name, mac: ifb.mac ?? '', mtu: veth.mtu });
        }
        return created;
      });
    } catch (e) {
      throw platformError(e, `limit bandwidth of ${target.containerId}/${target.ifname}`);
    }
  });
}

export async function removeBandwidth(target: AttachmentTarget): Promise<void> {
  try {
    await withHostNetlink(async (host) => {
      let veth: LinkInfo | undefined;
      try {
        veth = await hostVeth(host, target);
      } catch (e) {
        // Not a veth, gone between the check and the open: only the ifb can be ours.
        if (!isPlatformError(e)) throw e;
      }
      await clear(host, target, veth);
    });
  } catch (e) {
    throw platformError(e, `remove bandwidth limits of ${target.containerId}/${target.ifname}`);
  }
}

export async function inspectBandwidth(target: AttachmentTarget): Promise<BandwidthSpec> {
  return withHostNetlink(async (host) => {
    const veth = await requireHostVeth(host, target);
    const spec: BandwidthSpec = {};
    const ingress = await rootTbf(host, veth.index);
    if (ingress) {
      spec.ingressRate = ingress.rateBytes * 8;
      spec.ingressBurstBits = tbfBurstBits(ingress);
    }
    if (!(await getQdisc(host, veth.index, TC_H_INGRESS))) return spec;
    for (const filter of await listFilters(host, veth.index, INGRESS_HANDLE)) {
      const redirect = filter.options ? decodeRedirectTarget(filter.options) : undefined;
      if (redirect === undefined) continue;
      const egress = await rootTbf(host, redirect);
      if (!egress) continue;
      spec.egressRate = egress.rateBytes * 8;
      spec.egressBurstBits = tbfBurstBits(egress);
    }
    return spec;
  });
}

export async function collectBandwidth(network: string, valid: AttachmentId[]): Promise<void> {
  try {
    await withHostNetlink((host) => collectIfbs(host, network, valid));
  } catch (e) {
    throw platformError(e, `collect stale bandwidth devices of network "${network}"`);
  }
}
