/**
 * The scale run: containers added one by one up to the scale size and deleted again, ADD
 * latency per block of existing containers, and the growth of ADD per 100 containers.
 */
import { childCpuMs } from './host.ts';
import {
  type Nets,
  operate,
  order,
  type PhaseContext,
  prepare,
  release,
  storesEmpty,
  verifyAll,
} from './operations.ts';
import { signed } from './report.ts';
import { blockMedians, leastSquares, summarize, theilSen } from './stats.ts';
import { SUITES, type SuiteId } from './suites.ts';
import { type Attachment, verifyNatGone, verifyNatPresent } from './verify.ts';

/** ADD latencies (and the plugins' CPU time) against the number of containers that existed. */
interface Growth {
  existing: number[];
  ms: number[];
  cpuMs: number[];
}

/** One ADD of the scale run, with the CPU time its plugin processes used (they are waited for). */
async function measuredAdd(
  ctx: PhaseContext,
  att: Attachment,
  existing: number,
  into: Growth,
): Promise<void> {
  const cpuBefore = childCpuMs();
  const ms = await operate(ctx, att, 'ADD');
  into.cpuMs.push(childCpuMs() - cpuBefore);
  into.ms.push(ms);
  into.existing.push(existing);
}

/** Probe ADDs on the way down every this many DELs (a probe is an ADD and a DEL of its own). */
const PROBE_EVERY = 5;

/**
 * Containers added one by one up to the scale size, then deleted one by one. The growth of ADD
 * with the number of existing containers is measured on the way up (every ADD) and on the way
 * down (a probe ADD every few DELs): a host whose load drifts during the run tilts the two
 * sweeps in opposite directions, so their mean cancels a linear drift. The CPU time of the
 * plugins (user + system, 10 ms ticks, least squares) is reported too: contention does not
 * inflate it.
 */
export async function scalePhase(ctx: PhaseContext, nets: Nets): Promise<void> {
  const { scale, scaleBlock } = ctx.options;
  const { benchCase } = nets.crosscni;
  const atts = prepare(ctx, nets, scale, 'x');
  const probes = prepare(ctx, nets, Math.ceil(scale / PROBE_EVERY), 'y');
  const up: Record<SuiteId, Growth> = {
    crosscni: { existing: [], ms: [], cpuMs: [] },
    reference: { existing: [], ms: [], cpuMs: [] },
  };
  const down: Record<SuiteId, Growth> = {
    crosscni: { existing: [], ms: [], cpuMs: [] },
    reference: { existing: [], ms: [], cpuMs: [] },
  };
  const dels: Record<SuiteId, number[]> = { crosscni: [], reference: [] };
  for (let i = 0; i < scale; i++) {
    if (i % 25 === 0) ctx.progress(`${benchCase.id} scale ADD ${i}/${scale} per suite`);
    for (const suite of order(i)) await measuredAdd(ctx, atts[suite][i]!, i, up[suite]);
  }
  verifyAll(ctx, [...atts.crosscni, ...atts.reference], verifyNatPresent);
  for (let i = 0; i < scale; i++) {
    if (i % 25 === 0)
      ctx.progress(`${benchCase.id} scale DEL ${i}/${scale} per suite (probe ADDs on the way)`);
    for (const suite of order(i)) dels[suite].push(await operate(ctx, atts[suite][i]!, 'DEL'));
    if (i % PROBE_EVERY === 0) {
      const existing = scale - i - 1;
      for (const suite of order(i)) {
        const probe = probes[suite][i / PROBE_EVERY]!;
        await measuredAdd(ctx, probe, existing, down[suite]);
        await operate(ctx, probe, 'DEL');
      }
    }
  }
  const all = [...atts.crosscni, ...atts.reference, ...probes.crosscni, ...probes.reference];
  verifyAll(ctx, all, verifyNatGone);
  storesEmpty(ctx, nets);
  release(ctx, atts);
  release(ctx, probes);

  const section = `${benchCase.title}, scale: ${scale} containers added one by one`;
  for (const block of blockMedians(up.crosscni.ms, scaleBlock)) {
    ctx.rows.push({
      section,
      label: `ADD with ${block.from}–${block.to} existing`,
      crosscni: summarize(up.crosscni.ms.slice(block.from, block.to + 1)),
      reference: summarize(up.reference.ms.slice(block.from, block.to + 1)),
    });
  }
  const slope = {} as Record<SuiteId, { up: number; down: number; mean: number; cpu: number }>;
  for (const suite of SUITES) {
    const u = 100 * theilSen(up[suite].existing, up[suite].ms);
    const d = 100 * theilSen(down[suite].existing, down[suite].ms);
    const cpu =
      100 *
      leastSquares(
        [...up[suite].existing, ...down[suite].existing],
        [...up[suite].cpuMs, ...down[suite].cpuMs],
      );
    slope[suite] = { up: u, down: d, mean: (u + d) / 2, cpu };
  }
  ctx.rows.push({
    section,
    label: 'ADD growth per 100 existing containers, ms',
    note: 'mean of rising and falling sweeps',
    values: { crosscni: signed(slope.crosscni.mean), reference: signed(slope.reference.mean), ratio: '' },
  });
  for (const suite of SUITES) {
    const s = slope[suite];
    ctx.notes.push(
      `ADD growth per 100 containers, ${suite}: rising sweep ${signed(s.up)} ms, falling sweep ${signed(s.down)} ms (Theil–Sen); plugin CPU time ${signed(s.cpu)} ms (least squares)`,
    );
  }
  ctx.rows.push({
    section,
    label: `DEL (from ${scale} down to 1 existing)`,
    crosscni: summarize(dels.crosscni),
    reference: summarize(dels.reference),
  });
  if (benchCase.id === 'bridge') {
    ctx.key.slopePer100Ms = slope.crosscni.mean;
    ctx.key.slopePer100MsReference = slope.reference.mean;
    ctx.key.scaleSize = scale;
  }
}
