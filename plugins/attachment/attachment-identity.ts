/**
 * What every attachment plugin (bridge, nat, sdnbridge) reads the same way from a call: the MAC
 * the runtime asked for, and, on DEL, the addresses whose per-address state (NAT, forwarding)
 * must go. Shared so the plugins cannot drift apart on these rules.
 */
import { isPlatformError } from '../../platform/errors.ts';
import { loadPlatform } from '../../platform/select.ts';
import type { EndpointRef } from '../../platform/types.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { CommandContext } from '../sdk/skel.ts';

const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

/** The MAC asked for by the runtime: runtimeConfig.mac (capability), args.cni.mac, or CNI_ARGS MAC. */
export function requestedMac(ctx: CommandContext): string | undefined {
  const fromArgs = (ctx.config.args?.cni as { mac?: unknown } | undefined)?.mac;
  const mac =
    ctx.config.runtimeConfig.mac ??
    (typeof fromArgs === 'string' ? fromArgs : undefined) ??
    ctx.args.get('MAC');
  if (mac !== undefined && !MAC.test(mac)) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `invalid MAC address "${mac}"`,
      'expected six hex octets such as 0a:58:0a:16:00:05',
    );
  }
  return mac;
}

/** Addresses DEL must clean NAT state for: from prevResult, else from the live interface. */
export async function addressesToRelease(ctx: CommandContext, ref: EndpointRef): Promise<string[]> {
  const fromResult = (ctx.config.prevResult?.ips ?? []).map((ip) => ip.address);
  if (fromResult.length || !ctx.netns) return fromResult;
  try {
    const state = await (await loadPlatform()).inspectEndpoint(ref);
    // Link-local addresses are the kernel's own, never NATed.
    return (state?.addresses ?? []).filter((cidr) => !cidr.toLowerCase().startsWith('fe80:'));
  } catch (e) {
    if (isPlatformError(e, 'namespace-missing')) return [];
    throw e;
  }
}
