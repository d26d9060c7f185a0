/**
 * The attachment plugins' view of IPAM: allocate (registering the release as an undo step),
 * release, check, GC and STATUS, always through the plugin named by `ipam.type`.
 */
import { CniError, ErrorCode } from '../sdk/errors.ts';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../sdk/ipam.ts';
import type { Result } from '../sdk/result.ts';
import type { CommandContext } from '../sdk/skel.ts';
import type { UndoStack } from '../../platform/undo.ts';

/** Allocate addresses; a later failure of ADD releases them again. */
export async function allocate(ctx: CommandContext, undo: UndoStack): Promise<Result> {
  const result = await ipamAdd(ctx);
  undo.push(`IPAM allocation of ${ctx.config.ipam?.type}`, () => ipamDel(ctx));
  if (!result.ips?.length) {
    throw new CniError(ErrorCode.IoFailure, `IPAM plugin ${ctx.config.ipam?.type} returned no IP addresses`);
  }
  return result;
}

export const release = ipamDel;
export const checkAllocation = ipamCheck;
export const collectAllocations = ipamGc;
export const ipamReady = ipamStatus;
