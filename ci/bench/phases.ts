/**
 * The measured phases of one case: VERSION and Node's floor, N containers one after the other,
 * and N with P operations in flight. Each drives the runtime library exactly as a container
 * runtime does (addNetworkList / checkNetworkList / delNetworkList: conflist, prevResult, result
 * cache, plugins exec'd from CNI_PATH) on fresh namespaces, and alternates the suites operation
 * by operation so that a busy host slows both alike. The scale run is in scale.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execPlugin } from '../../plugins/sdk/exec-plugin.ts';
import { pluginEnvironment } from './host.ts';
import {
  type Nets,
  type Op,
  operate,
  order,
  type PhaseContext,
  prepare,
  release,
  storesEmpty,
  timed,
  verified,
  verifyAll,
} from './operations.ts';
import type { Row } from './report.ts';
import { summarize } from './stats.ts';
import { SUITES, type SuiteId } from './suites.ts';
import { verifyNatGone, verifyNatPresent, verifyStoreEmpty } from './verify.ts';

/** VERSION of each plugin (podman runs it on every plugin before ADD and DEL) and Node's floor. */
export async function versionPhase(ctx: PhaseContext, nets: Nets, ownIpam: boolean): Promise<void> {
  const floorFile = join(ctx.setup.tmpRoot, 'node-floor');
  // What every Node.js plugin pays at least: env finds node, node starts, runs an empty file.
  writeFileSync(floorFile, '#!/usr/bin/env node\n', { mode: 0o755 });
  const env = { ...pluginEnvironment().env, CNI_COMMAND: 'VERSION' };
  const stdin = Buffer.from('{"cniVersion":"1.0.0"}');
  const types = ownIpam ? ['bridge', 'host-local'] : ['bridge'];
  const probes: Array<{ key: string; run: () => Promise<void> }> = [
    { key: 'floor', run: async () => void (await execPlugin(floorFile, env, stdin)) },
  ];
  for (const type of types) {
    for (const suite of SUITES) {
      probes.push({
        key: `${type} ${suite}`,
        run: async () => {
          const info = await nets[suite].runtime.getVersionInfo(type);
          if (!info.supportedVersions.includes('1.0.0')) {
            throw new Error(`${suite} ${type} VERSION does not list 1.0.0: ${JSON.stringify(info)}`);
          }
        },
      });
    }
  }
  const samples = new Map<string, number[]>(probes.map((p) => [p.key, []]));
  for (const probe of probes) await probe.run(); // warm the page cache
  ctx.progress(`version: ${ctx.options.versionRuns} rounds of ${probes.map((p) => p.key).join(', ')}`);
  for (let round = 0; round < ctx.options.versionRuns; round++) {
    for (let k = 0; k < probes.length; k++) {
      const probe = probes[(k + round) % probes.length]!;
      samples.get(probe.key)!.push((await timed(probe.run)).ms);
    }
  }
  const section = 'start-up (one exec)';
  ctx.key.floor = summarize(samples.get('floor')!);
  ctx.rows.push({ section, label: 'Node floor: empty `#!/usr/bin/env node` file', crosscni: ctx.key.floor });
  for (const type of types) {
    const row: Row = {
      section,
      label: `VERSION ${type}`,
      crosscni: summarize(samples.get(`${type} crosscni`)!),
      reference: summarize(samples.get(`${type} reference`)!),
    };
    ctx.rows.push(row);
    if (type === 'bridge') {
      ctx.key.versionBridge = row.crosscni;
      ctx.key.versionBridgeReference = row.reference;
    }
  }
}

/** N containers one after the other: ADD each, CHECK each, DEL each. */
export async function sequentialPhase(ctx: PhaseContext, nets: Nets): Promise<void> {
  const { n } = ctx.options;
  const { benchCase } = nets.crosscni;
  const atts = prepare(ctx, nets, n, 's');
  const samples: Record<Op, Record<SuiteId, number[]>> = {
    ADD: { crosscni: [], reference: [] },
    CHECK: { crosscni: [], reference: [] },
    DEL: { crosscni: [], reference: [] },
  };
  const ops: Op[] = benchCase.noCheck ? ['ADD', 'DEL'] : ['ADD', 'CHECK', 'DEL'];
  for (const op of ops) {
    ctx.progress(`${benchCase.id} sequential ${op} × ${n} per suite`);
    for (let i = 0; i < n; i++) {
      for (const suite of order(i)) samples[op][suite].push(await operate(ctx, atts[suite][i]!, op));
      // Per DEL: nothing in netfilter mentions the address any more.
      if (op === 'DEL') verifyAll(ctx, [atts.crosscni[i]!, atts.reference[i]!], verifyNatGone);
    }
    if (op === 'ADD') verifyAll(ctx, [...atts.crosscni, ...atts.reference], verifyNatPresent);
  }
  storesEmpty(ctx, nets);
  release(ctx, atts);
  const section = `${benchCase.title}, sequential (N=${n})`;
  for (const op of ops) {
    const row: Row = {
      section,
      label: op,
      crosscni: summarize(samples[op].crosscni),
      reference: summarize(samples[op].reference),
    };
    ctx.rows.push(row);
    if (benchCase.id === 'bridge' && op === 'ADD')
      [ctx.key.add, ctx.key.addReference] = [row.crosscni, row.reference];
    if (benchCase.id === 'bridge' && op === 'DEL')
      [ctx.key.del, ctx.key.delReference] = [row.crosscni, row.reference];
  }
  if (benchCase.noCheck)
    ctx.rows.push({ section, label: 'CHECK', note: `not measured: ${benchCase.noCheck}` });
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** N containers with P operations in flight: ops/s is N over the phase's wall time. */
export async function parallelPhase(ctx: PhaseContext, nets: Nets): Promise<void> {
  const { n, parallel } = ctx.options;
  const { benchCase } = nets.crosscni;
  const atts = prepare(ctx, nets, n, 'p');
  const section = `${benchCase.title}, ${parallel} in parallel (N=${n})`;
  const ops: Op[] = benchCase.noCheck ? ['ADD', 'DEL'] : ['ADD', 'CHECK', 'DEL'];
  for (const op of ops) {
    const figures = {} as Record<SuiteId, ReturnType<typeof summarize>>;
    for (const suite of SUITES) {
      ctx.progress(`${benchCase.id} parallel ${op} × ${n}, ${parallel} at a time, ${suite}`);
      const samples: number[] = [];
      const wall = await timed(() =>
        pool(atts[suite], parallel, async (att) => void samples.push(await operate(ctx, att, op))),
      );
      figures[suite] = summarize(samples, wall.ms);
      if (op === 'ADD') verifyAll(ctx, atts[suite], verifyNatPresent);
      if (op === 'DEL') {
        verifyAll(ctx, atts[suite], verifyNatGone);
        verified(ctx, suite, () => verifyStoreEmpty(nets[suite]));
      }
    }
    ctx.rows.push({
      section,
      label: op,
      crosscni: figures.crosscni,
      reference: figures.reference,
      note: 'ops/s = N / wall time',
    });
    if (benchCase.id === 'bridge' && op === 'ADD')
      [ctx.key.parallelAdd, ctx.key.parallelAddReference] = [figures.crosscni, figures.reference];
  }
  if (benchCase.noCheck)
    ctx.rows.push({ section, label: 'CHECK', note: `not measured: ${benchCase.noCheck}` });
  release(ctx, atts);
}
