/**
 * IPAM delegation: run the IPAM plugin named by `ipam.type` with the caller's environment
 * (CNI_COMMAND overridden) and the same config bytes, as the reference `invoke.Delegate*`
 * does. The result comes back in any version and is read into the newest model.
 */
import type { CniCommand } from './env.ts';
import { CniError, ErrorCode } from './errors.ts';
import { execPlugin } from './exec-plugin.ts';
import { findPlugin } from './find-plugin.ts';
import { parseResult, type Result } from './result.ts';
import type { CommandContext } from './skel.ts';

function ipamType(ctx: CommandContext): string {
  const type = ctx.config.ipam?.type;
  if (!type) throw new CniError(ErrorCode.InvalidConfig, 'invalid network config: "ipam.type" is required');
  return type;
}

async function delegate(ctx: CommandContext, command: CniCommand): Promise<Result | undefined> {
  const file = findPlugin(ipamType(ctx), ctx.path);
  const env = { ...ctx.env, CNI_COMMAND: command };
  const run = await execPlugin(file, env, ctx.stdin);
  if (command !== 'ADD') return undefined;
  if (!run.output) {
    throw new CniError(ErrorCode.DecodingFailure, `IPAM plugin ${ipamType(ctx)} printed no result for ADD`);
  }
  return parseResult(run.output, ctx.config.cniVersion);
}

export async function ipamAdd(ctx: CommandContext): Promise<Result> {
  return (await delegate(ctx, 'ADD'))!;
}

export async function ipamDel(ctx: CommandContext): Promise<void> {
  await delegate(ctx, 'DEL');
}

export async function ipamCheck(ctx: CommandContext): Promise<void> {
  await delegate(ctx, 'CHECK');
}

export async function ipamGc(ctx: CommandContext): Promise<void> {
  await delegate(ctx, 'GC');
}

export async function ipamStatus(ctx: CommandContext): Promise<void> {
  await delegate(ctx, 'STATUS');
}
