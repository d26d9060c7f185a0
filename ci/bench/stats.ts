/**
 * Figures of a set of latency samples (milliseconds): median, p95 (nearest rank), max and
 * throughput, and the growth of latency with the number of existing containers (Theil–Sen: the
 * median of pairwise slopes, so a few slow outliers from a busy host do not tilt it). Pure.
 */

export interface Summary {
  count: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  /** Operations per second: count / wall time of the phase (sequential: sum of latencies). */
  opsPerSec: number;
}

function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

export function median(samples: readonly number[]): number {
  const s = sorted(samples);
  if (!s.length) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile. */
export function percentile(samples: readonly number[], p: number): number {
  const s = sorted(samples);
  if (!s.length) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** `wallMs`: the phase's wall time when operations overlapped; else the latencies add up. */
export function summarize(samples: readonly number[], wallMs?: number): Summary {
  const total = wallMs ?? samples.reduce((a, b) => a + b, 0);
  return {
    count: samples.length,
    medianMs: median(samples),
    p95Ms: percentile(samples, 95),
    maxMs: samples.length ? Math.max(...samples) : Number.NaN,
    opsPerSec: total > 0 ? (samples.length * 1000) / total : Number.NaN,
  };
}

/** Slope of y over x as the median of the slopes of all pairs with different x. */
export function theilSen(xs: readonly number[], ys: readonly number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const dx = xs[j]! - xs[i]!;
      if (dx !== 0) slopes.push((ys[j]! - ys[i]!) / dx);
    }
  }
  return median(slopes);
}

/** Median latency per block of `size` consecutive samples (sample i had i existing containers). */
export function blockMedians(
  samples: readonly number[],
  size: number,
): Array<{ from: number; to: number; medianMs: number }> {
  const blocks = [];
  for (let from = 0; from < samples.length; from += size) {
    const block = samples.slice(from, from + size);
    blocks.push({ from, to: from + block.length - 1, medianMs: median(block) });
  }
  return blocks;
}

/** Ordinary least-squares slope (unbiased under the 10 ms quantisation of CPU tick counts). */
export function leastSquares(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : Number.NaN;
}
