/**
 * The attachment plugins' view of IPAM: allocate (registering the release as an undo step),
 * release, check, GC and STATUS through the plugin named by `ipam.type`.
 *
 * When that plugin is one of crosscni's own (host-local, static) and the executable found in
 * CNI_PATH is a crosscni build, it runs inside this process instead of as a second Node.js
 * process: the same code on the same store, so the same semantics, without a second start-up
 * (the largest cost of an exec). Any other IPAM plugin, or the Go reference's host-local, is
 * executed as the spec describes.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { UndoStack } from '../../platform/undo.ts';
import { checkCniArgs } from '../sdk/args.ts';
import type { CniCommand } from '../sdk/env.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import { findPlugin } from '../sdk/find-plugin.ts';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../sdk/ipam.ts';
import type { Result } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';

/** The marker ci/build.mjs writes into the first line after the shebang of every bundle. */
export const BUILD_MARKER = 'crosscni-plugin-bundle';

const IN_PROCESS: Record<string, () => Promise<CniPlugin>> = {
  'host-local': async () => (await import('../host-local/plugin.ts')).hostLocalPlugin,
  static: async () => (await import('../static/plugin.ts')).staticPlugin,
};

function isCrosscniBundle(file: string): boolean {
  const head = Buffer.alloc(256);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('latin1').includes(BUILD_MARKER);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The IPAM plugin to run in this process, or undefined to execute it. */
async function inProcessIpam(ctx: CommandContext): Promise<CniPlugin | undefined> {
  const type = ctx.config.ipam?.type ?? '';
  const load = IN_PROCESS[type];
  if (!load || ctx.env.CROSSCNI_IPAM_IN_PROCESS === '0') return undefined;
  // Resolve as the exec path would, so the same executable decides (and the same errors).
  if (!isCrosscniBundle(findPlugin(type, ctx.path))) return undefined;
  const plugin = await load();
  checkCniArgs(ctx.args, plugin.knownArgs ?? []);
  return plugin;
}

async function run(ctx: CommandContext, command: CniCommand): Promise<Result | undefined> {
  const plugin = await inProcessIpam(ctx);
  const sub: CommandContext = { ...ctx, command };
  if (plugin) {
    switch (command) {
      case 'ADD':
        return plugin.add(sub);
      case 'DEL':
        return void (await plugin.del(sub));
      case 'CHECK':
        return void (await plugin.check(sub));
      case 'GC':
        return void (await plugin.gc?.(sub));
      case 'STATUS':
        return void (await plugin.status?.(sub));
      default:
        return undefined;
    }
  }
  if (command === 'ADD') return ipamAdd(ctx);
  const delegate = { DEL: ipamDel, CHECK: ipamCheck, GC: ipamGc, STATUS: ipamStatus }[command as string];
  await delegate?.(ctx);
  return undefined;
}

/** Allocate addresses; a later failure of ADD releases them again. */
export async function allocate(ctx: CommandContext, undo: UndoStack): Promise<Result> {
  const result = (await run(ctx, 'ADD'))!;
  undo.push(`IPAM allocation of ${ctx.config.ipam?.type}`, () => release(ctx));
  if (!result.ips?.length) {
    throw new CniError(ErrorCode.IoFailure, `IPAM plugin ${ctx.config.ipam?.type} returned no IP addresses`);
  }
  return result;
}

export async function release(ctx: CommandContext): Promise<void> {
  await run(ctx, 'DEL');
}

export async function checkAllocation(ctx: CommandContext): Promise<void> {
  await run(ctx, 'CHECK');
}

export async function collectAllocations(ctx: CommandContext): Promise<void> {
  await run(ctx, 'GC');
}

export async function ipamReady(ctx: CommandContext): Promise<void> {
  await run(ctx, 'STATUS');
}
