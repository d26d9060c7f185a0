/**
 * loopback: brings the container's loopback interface up on ADD and down on DEL, and checks
 * on CHECK that it is up with its addresses. containerd runs it for every pod, so it must
 * exist and be cheap. On Windows there is nothing to do: HCN namespaces have loopback built in,
 * and the Windows platform reports it as up.
 */
import { isPlatformError } from '../../platform/errors.ts';
import { loadPlatform } from '../../platform/select.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';

const LOOPBACK_ADDRESSES = ['127.0.0.1/8', '::1/128'];

async function add(ctx: CommandContext): Promise<Result> {
  const platform = await loadPlatform();
  await platform.setLoopback(ctx.netns, true);
  const state = await platform.inspectLoopback(ctx.netns);
  // The reference plugin reports lo with its addresses, so chained plugins see it.
  const ips = state.addresses
    .filter((cidr) => LOOPBACK_ADDRESSES.includes(cidr))
    .map((address) => ({ address, interface: 0 }));
  return {
    cniVersion: ctx.config.cniVersion,
    interfaces: [{ name: ctx.ifname, mac: '00:00:00:00:00:00', sandbox: ctx.netns }],
    ips,
  };
}

async function del(ctx: CommandContext): Promise<void> {
  // The namespace may already be gone (containerd's second DEL has none): nothing to undo.
  if (!ctx.netns) return;
  const platform = await loadPlatform();
  try {
    await platform.setLoopback(ctx.netns, false);
  } catch (e) {
    if (isPlatformError(e, 'namespace-missing')) return;
    throw e;
  }
}

async function check(ctx: CommandContext): Promise<void> {
  const platform = await loadPlatform();
  const state = await platform.inspectLoopback(ctx.netns);
  if (!state.up) {
    throw new CniError(ErrorCode.IoFailure, `loopback in ${ctx.netns} is down`, 'was it set down after ADD?');
  }
}

export const loopbackPlugin: CniPlugin = { add, del, check };
