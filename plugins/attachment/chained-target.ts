/**
 * What a chained plugin (portmap, bandwidth) knows about the attachment it decorates: the CNI_*
 * identity plus, from prevResult, the container's addresses and the host-side interfaces (those
 * listed without a sandbox). Also the reference's "must be called as a chained plugin" rule for
 * ADD and CHECK. Pure: the platform does the looking.
 */
import type { AttachmentTarget } from '../../platform/types.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result } from '../sdk/result.ts';
import type { CommandContext } from '../sdk/skel.ts';

export function attachmentTarget(ctx: CommandContext): AttachmentTarget {
  const prev = ctx.config.prevResult;
  const target: AttachmentTarget = {
    network: ctx.config.name,
    containerId: ctx.containerId,
    ifname: ctx.ifname,
    namespace: ctx.netns,
    addresses: (prev?.ips ?? []).map((ip) => ip.address),
  };
  const hostInterfaces = (prev?.interfaces ?? []).filter((i) => !i.sandbox).map((i) => i.name);
  if (hostInterfaces.length) target.hostInterfaces = hostInterfaces;
  return target;
}

/** prevResult, or the reference's error when the plugin is run on its own. */
export function requirePrevResult(ctx: CommandContext, command: string): Result {
  const prev = ctx.config.prevResult;
  if (!prev) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `${ctx.config.type} must be called as a chained plugin: ${command} needs prevResult`,
      'put it after an interface plugin (bridge, nat, ...) in a network configuration list',
    );
  }
  return prev;
}
