/**
 * Token bucket parameters from a rate and a burst, computed exactly as the reference bandwidth
 * plugin (and iproute2's tc) does, so a crosscni limit reads back like the reference's: rate in
 * bytes per second, the bucket as the time to send `burst` at `rate` in psched ticks, and a
 * queue limit of 25 ms at `rate` plus the burst. The tick length comes from /proc/net/psched
 * (iproute2's tc_core_init). Also the inverse, to report a qdisc's burst for CHECK.
 */
import { readFileSync } from 'node:fs';
import type { TbfParams } from './tc.ts';

const TIME_UNITS_PER_SEC = 1_000_000;
/** The reference plugin's latency for the tbf limit. */
const LATENCY_MS = 25;

let tickInUsecCache: number | undefined;

/** Psched ticks per microsecond (15.625 on every kernel since 2.6.x's 64 ns ticks). */
export function tickInUsec(): number {
  if (tickInUsecCache !== undefined) return tickInUsecCache;
  let t2us = 1000;
  let us2t = 64;
  let clockRes = TIME_UNITS_PER_SEC;
  try {
    const [a, b, c] = readFileSync('/proc/net/psched', 'utf8')
      .trim()
      .split(/\s+/)
      .map((h) => Number.parseInt(h, 16));
    if (a && b && c) [t2us, us2t, clockRes] = [a, b, c];
  } catch {
    // keep the defaults of every modern kernel
  }
  // iproute2: a nanosecond clock advertises a multiplier of 1000 that really is 1.
  if (clockRes === 1_000_000_000) t2us = us2t;
  tickInUsecCache = (t2us / us2t) * (clockRes / TIME_UNITS_PER_SEC);
  return tickInUsecCache;
}

const u32 = (n: number) => Math.min(Math.floor(n), 0xffffffff);

/** tbf parameters for `rateBits` per second and a `burstBits` bucket. */
export function tbfParams(rateBits: number, burstBits: number): TbfParams {
  const rateBytes = Math.floor(rateBits / 8);
  const burstBytes = Math.floor(burstBits / 8);
  const bufferUsec = u32((burstBytes * TIME_UNITS_PER_SEC) / rateBytes);
  const latencyUsec = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000);
  return {
    rateBytes,
    bufferTicks: u32(bufferUsec * tickInUsec()),
    limitBytes: u32((rateBytes * latencyUsec) / TIME_UNITS_PER_SEC + burstBytes),
  };
}

/** The burst, in bits, that a tbf's rate and bucket time amount to (to timer resolution). */
export function tbfBurstBits(params: TbfParams): number {
  const bytes = ((params.bufferTicks / tickInUsec()) * params.rateBytes) / TIME_UNITS_PER_SEC;
  return Math.round(bytes) * 8;
}
