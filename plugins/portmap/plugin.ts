/**
 * portmap: a chained plugin that forwards host ports to the container, as the reference
 * plugin (containernetworking/plugins plugins/meta/portmap) does: ADD installs the forwardings
 * of runtimeConfig.portMappings for the addresses in prevResult and passes prevResult on
 * unchanged; DEL removes them (idempotent, without prevResult or namespace); CHECK verifies
 * that every forwarding the mappings mean for this container's families is in place; GC
 * removes forwardings of attachments the runtime no longer has. How ports are forwarded
 * (nftables DNAT, HCN PortMapping policies) is the Platform's business.
 */
import {
  type PlannedForwarding,
  missingForwardings,
  planForwardings,
} from '../../platform/port-forwarding.ts';
import { loadPlatform } from '../../platform/select.ts';
import { attachmentTarget, requirePrevResult } from '../attachment/chained-target.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';
import { parsePortmapConfig } from './config.ts';

async function add(ctx: CommandContext): Promise<Result> {
  const config = parsePortmapConfig(ctx.config);
  const prev = requirePrevResult(ctx, 'ADD');
  if (!config.mappings.length) return prev;
  const platform = await loadPlatform();
  await platform.addPortMappings(attachmentTarget(ctx), config.mappings, config.options);
  return prev;
}

async function del(ctx: CommandContext): Promise<void> {
  const config = parsePortmapConfig(ctx.config);
  const platform = await loadPlatform();
  // Removal goes by the attachment's identity: no prevResult or namespace needed. The mappings
  // (runtimes send them on DEL too) only spare the backend a listing.
  await platform.removePortMappings(attachmentTarget(ctx), config.mappings);
}

function describe(f: PlannedForwarding): string {
  const host = f.hostIp ? `${f.hostIp}:${f.hostPort}` : `*:${f.hostPort}`;
  return `${f.protocol} ${host} -> ${f.family === 6 ? `[${f.containerIp}]` : f.containerIp}:${f.containerPort}`;
}

async function check(ctx: CommandContext): Promise<void> {
  const config = parsePortmapConfig(ctx.config);
  const prev = requirePrevResult(ctx, 'CHECK');
  if (!config.mappings.length) return;
  const target = attachmentTarget(ctx);
  // Only the families the container has: the reference 1.1.1 also demanded IPv6 rules of
  // IPv4-only containers and failed every such CHECK (containernetworking/plugins#819).
  const planned = planForwardings(
    config.mappings,
    (prev.ips ?? []).map((ip) => ip.address),
  );
  const platform = await loadPlatform();
  const missing = missingForwardings(planned, await platform.inspectPortMappings(target, config.mappings));
  if (missing.length) {
    throw new CniError(
      ErrorCode.IoFailure,
      `portmap: ${missing.length} port forwarding(s) of ${ctx.containerId}/${ctx.ifname} are missing: ${missing.map(describe).join(', ')}`,
      'were the netfilter rules flushed after ADD? re-create the container, or run ADD again',
    );
  }
}

async function gc(ctx: CommandContext): Promise<void> {
  const valid = ctx.config.validAttachments;
  if (!valid) {
    throw new CniError(ErrorCode.InvalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  }
  const platform = await loadPlatform();
  await platform.collectPortMappings(ctx.config.name, valid);
}

export const portmapPlugin: CniPlugin = { add, del, check, gc };
