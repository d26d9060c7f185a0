/**
 * static IPAM: returns the configured addresses, routes and DNS; keeps no state, so DEL and
 * GC have nothing to release and CHECK only re-validates the configuration.
 */
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

async function check(ctx: CommandContext): Promise<void> {
  parseStaticConfig(ctx);
}

export const staticPlugin: CniPlugin = { knownArgs: ['IP', 'GATEWAY'], add, del, check };
