/**
 * static IPAM: returns the configured addresses, routes and DNS and keeps no state, so DEL and
 * GC have nothing to release. CHECK compares the configuration with the prevResult the
 * runtime recorded, as the reference does (plugins/ipam/static, cmdCheck).
 */
import { ipEquals, parseCidr, parseIp } from '../../platform/cidr.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';
import { parseStaticConfig } from './config.ts';

async function add(ctx: CommandContext): Promise<Result> {
  const config = parseStaticConfig(ctx);
  const result: Result = { cniVersion: ctx.config.cniVersion, ips: config.addresses, routes: config.routes };
  if (config.dns) result.dns = config.dns;
  return result;
}

async function del(): Promise<void> {
  // Nothing was allocated, so nothing is released.
}

/**
 * Every configured address is in prevResult, with the configured gateway when one is set.
 * (The reference skips a configured address that prevResult lacks; a missing address is
 * exactly the drift CHECK exists to report, so we fail on it.)
 */
async function check(ctx: CommandContext): Promise<void> {
  const config = parseStaticConfig(ctx);
  const prev = ctx.config.prevResult;
  if (!prev) {
    throw new CniError(ErrorCode.InvalidConfig, 'static: CHECK needs the "prevResult" of the ADD');
  }
  const recorded = (prev.ips ?? []).map((ip) => ({
    address: parseCidr(ip.address)?.address,
    gatewayText: ip.gateway ?? 'none',
    gateway: ip.gateway ? parseIp(ip.gateway) : undefined,
  }));
  for (const wanted of config.addresses) {
    const address = parseCidr(wanted.address)!.address;
    const found = recorded.find((r) => r.address && ipEquals(r.address, address));
    if (!found) {
      throw new CniError(
        ErrorCode.IoFailure,
        `static: address ${wanted.address} of the configuration is not in prevResult of ${ctx.ifname}`,
      );
    }
    const gateway = wanted.gateway ? parseIp(wanted.gateway) : undefined;
    if (gateway && !(found.gateway && ipEquals(found.gateway, gateway))) {
      throw new CniError(
        ErrorCode.IoFailure,
        `static: failed to match address ${wanted.address} on interface ${ctx.ifname}: prevResult has gateway ${found.gatewayText}, the configuration ${wanted.gateway}`,
      );
    }
  }
}

export const staticPlugin: CniPlugin = { knownArgs: ['IP', 'GATEWAY'], add, del, check };
