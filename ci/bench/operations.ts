/**
 * The machinery every phase shares: the context phases write their figures into, one timed
 * runtime operation on one attachment (verified outside the timed section), the namespaces of
 * a phase, and the rule that a reference defect is recorded while a crosscni one is fatal.
 */
import type { Result } from '../../plugins/sdk/result.ts';
import { containerId, type Scratch } from './host.ts';
import type { BenchOptions } from './options.ts';
import type { KeyFigures, Row } from './report.ts';
import { SUITES, type SuiteId, type SuiteNetwork, type SuiteSetup } from './suites.ts';
import {
  type Attachment,
  VerificationError,
  verifyAdded,
  verifyDeleted,
  verifyStoreEmpty,
} from './verify.ts';

export interface PhaseContext {
  options: BenchOptions;
  scratch: Scratch;
  setup: SuiteSetup;
  rows: Row[];
  key: KeyFigures;
  /** What the reference got wrong (its verification failures are reported, not fatal). */
  defects: string[];
  /** Details printed under the table. */
  notes: string[];
  progress(text: string): void;
}

export type Op = 'ADD' | 'CHECK' | 'DEL';
export type Nets = Record<SuiteId, SuiteNetwork>;

class OperationError extends Error {}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function timed<T>(what: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await what();
  return { ms: performance.now() - start, value };
}

/**
 * Run `check`; a VerificationError of the reference suite is recorded as a defect of the
 * reference and the run goes on (crosscni is what the bench vouches for), anything else throws.
 */
export function verified(ctx: PhaseContext, suite: SuiteId, check: () => void): void {
  try {
    check();
  } catch (e) {
    if (suite !== 'reference' || !(e instanceof VerificationError)) throw e;
    ctx.defects.push(e.message);
    ctx.progress(`reference defect (recorded, not fatal): ${e.message}`);
  }
}

/** Run one operation of the runtime on one attachment; returns its latency. Verifies ADD and DEL. */
export async function operate(ctx: PhaseContext, att: Attachment, op: Op): Promise<number> {
  const { runtime, list, suite } = att.net;
  let run: { ms: number; value: unknown };
  try {
    if (op === 'ADD') run = await timed(() => runtime.addNetworkList(list, att.rt));
    else if (op === 'CHECK') run = await timed(() => runtime.checkNetworkList(list, att.rt));
    else run = await timed(() => runtime.delNetworkList(list, att.rt));
  } catch (e) {
    throw new OperationError(
      `${suite} ${att.net.benchCase.id} ${op} of container #${att.index} (${att.netnsName}): ${describe(e)}`,
    );
  }
  if (op === 'ADD') verified(ctx, suite, () => verifyAdded(att, run.value as Result));
  if (op === 'DEL') verified(ctx, suite, () => verifyDeleted(att));
  return run.ms;
}

/** Netfilter and IPAM checks over many attachments, per suite. */
export function verifyAll(
  ctx: PhaseContext,
  atts: readonly Attachment[],
  check: (atts: Attachment[]) => void,
): void {
  for (const suite of SUITES) {
    const mine = atts.filter((a) => a.net.suite === suite);
    if (mine.length) verified(ctx, suite, () => check(mine));
  }
}

export function storesEmpty(ctx: PhaseContext, nets: Nets): void {
  for (const suite of SUITES) verified(ctx, suite, () => verifyStoreEmpty(nets[suite]));
}

function attachments(ctx: PhaseContext, net: SuiteNetwork, count: number, phase: string): Attachment[] {
  return Array.from({ length: count }, (_, index) => {
    const netnsName = `cxbench-${ctx.setup.run}-${net.suite[0]}${net.benchCase.id[0]}-${phase}${index}`;
    const capabilityArgs = net.benchCase.capabilityArgs?.(net.suite, index, phase, ctx.setup.portBase);
    return {
      net,
      index,
      netnsName,
      rt: {
        containerId: containerId(),
        netns: `/run/netns/${netnsName}`,
        ifname: 'eth0',
        args: [
          ['IgnoreUnknown', '1'],
          ['K8S_POD_NAME', `bench-${phase}-${index}`],
        ],
        ...(capabilityArgs ? { capabilityArgs } : {}),
      },
    };
  });
}

/** Namespaces of both suites for a phase; removed by the caller (or the scratch on failure). */
export function prepare(
  ctx: PhaseContext,
  nets: Nets,
  count: number,
  phase: string,
): Record<SuiteId, Attachment[]> {
  const atts = {
    crosscni: attachments(ctx, nets.crosscni, count, phase),
    reference: attachments(ctx, nets.reference, count, phase),
  };
  ctx.scratch.createNamespaces([...atts.crosscni, ...atts.reference].map((a) => a.netnsName));
  return atts;
}

export function release(ctx: PhaseContext, atts: Record<SuiteId, Attachment[]>): void {
  ctx.scratch.deleteNamespaces([...atts.crosscni, ...atts.reference].map((a) => a.netnsName));
}

/** Suites in the order of the i-th step: alternating who goes first removes an order bias. */
export function order(i: number): readonly SuiteId[] {
  return i % 2 ? [SUITES[1]!, SUITES[0]!] : SUITES;
}
