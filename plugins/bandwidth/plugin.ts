/**
 * bandwidth: a chained plugin that limits a container's traffic, as the reference plugin
 * (containernetworking/plugins plugins/meta/bandwidth) does: ADD applies the ingress/egress
 * rate and burst to the attachment prevResult describes and returns prevResult with the
 * devices made for it added (Linux: the ifb carrying egress); DEL removes them (idempotent,
 * without prevResult or namespace); CHECK verifies the limits in force; GC removes devices of
 * attachments the runtime no longer has. Linux shapes with tc (tbf, ifb), Windows with HCN's
 * QOS policy, which has no ingress limit: the Platform says so with 'unsupported'.
 */
import { loadPlatform } from '../../platform/select.ts';
import type { BandwidthSpec } from '../../platform/types.ts';
import { attachmentTarget, requirePrevResult } from '../attachment/chained-target.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';
import { hasLimits, parseBandwidthConfig } from './config.ts';

async function add(ctx: CommandContext): Promise<Result> {
  const spec = parseBandwidthConfig(ctx.config);
  const prev = requirePrevResult(ctx, 'ADD');
  if (!hasLimits(spec)) return prev;
  const platform = await loadPlatform();
  const created = await platform.setBandwidth(attachmentTarget(ctx), spec);
  if (!created.length) return prev;
  const interfaces = [
    ...(prev.interfaces ?? []),
    ...created.map((i) => (i.mac ? { name: i.name, mac: i.mac } : { name: i.name })),
  ];
  return { ...prev, interfaces };
}

async function del(ctx: CommandContext): Promise<void> {
  const platform = await loadPlatform();
  await platform.removeBandwidth(attachmentTarget(ctx));
}

/**
 * Whether two bursts agree: an OS may keep a bucket as a time at microsecond resolution (Linux
 * tbf), so what it reports can differ from what was set by about a microsecond of traffic.
 */
function sameBurst(expected: number, observed: number, rateBits: number): boolean {
  const toleranceBits = 8 * (Math.ceil((rateBits / 8 / 1_000_000) * 1.1) + 1);
  return Math.abs(expected - observed) <= toleranceBits;
}

function compare(
  direction: 'ingress' | 'egress',
  want: BandwidthSpec,
  have: BandwidthSpec,
): string | undefined {
  const rate = direction === 'ingress' ? want.ingressRate : want.egressRate;
  const burst = direction === 'ingress' ? want.ingressBurstBits : want.egressBurstBits;
  const haveRate = direction === 'ingress' ? have.ingressRate : have.egressRate;
  const haveBurst = direction === 'ingress' ? have.ingressBurstBits : have.egressBurstBits;
  if (!rate) return undefined;
  if (!haveRate) return `no ${direction} limit is in force (configured ${rate} bit/s)`;
  // Rates are kept in bytes per second.
  if (Math.floor(rate / 8) * 8 !== haveRate)
    return `${direction} rate is ${haveRate} bit/s, configured ${rate}`;
  if (burst && haveBurst !== undefined && !sameBurst(burst, haveBurst, rate)) {
    return `${direction} burst is ${haveBurst} bits, configured ${burst}`;
  }
  return undefined;
}

async function check(ctx: CommandContext): Promise<void> {
  const spec = parseBandwidthConfig(ctx.config);
  requirePrevResult(ctx, 'CHECK');
  if (!hasLimits(spec)) return;
  const platform = await loadPlatform();
  const have = await platform.inspectBandwidth(attachmentTarget(ctx));
  const problem = compare('ingress', spec, have) ?? compare('egress', spec, have);
  if (problem) {
    throw new CniError(
      ErrorCode.IoFailure,
      `bandwidth of ${ctx.containerId}/${ctx.ifname}: ${problem}`,
      'were the limits changed after ADD?',
    );
  }
}

async function gc(ctx: CommandContext): Promise<void> {
  const valid = ctx.config.validAttachments;
  if (!valid) {
    throw new CniError(ErrorCode.InvalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  }
  const platform = await loadPlatform();
  await platform.collectBandwidth(ctx.config.name, valid);
}

export const bandwidthPlugin: CniPlugin = { add, del, check, gc };
