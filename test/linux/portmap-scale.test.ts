/**
 * Benchmark, not a test: how portmap and bandwidth ADD latency grows with the number of
 * containers already forwarded/limited on the host (the reference's portmap ADD grows ~47 ms
 * per 100 containers because it lists the whole nat table). Opt-in with CROSSCNI_SCALE=<n>
 * (e.g. 200); prints per-block medians and the Theil–Sen slope per 100 containers. Nothing is
 * asserted about timing: CI machines are too noisy for that.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { ifbName } from '../../linux/ifb.ts';
import { isRoot } from '../support/kernel.ts';
import {
  addChain,
  bridgePlugin,
  type ChainFixture,
  type ChainPlugin,
  chainFixture,
  expectOk,
  runPlugin,
} from './portmap-fixture.ts';

const SCALE = Number(process.env.CROSSCNI_SCALE ?? 0);
const BLOCK = Math.max(10, Math.floor(SCALE / 4));
let fx: ChainFixture | undefined;
afterAll(() => fx?.scratch.cleanup());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** Theil–Sen slope of y over x (median of pairwise slopes; robust to outliers). */
function slope(ys: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < ys.length; i++)
    for (let j = i + 1; j < ys.length; j++) slopes.push((ys[j]! - ys[i]!) / (j - i));
  return median(slopes);
}

function report(name: string, times: number[]): string {
  const blocks: string[] = [];
  for (let from = 0; from < times.length; from += BLOCK) {
    const to = Math.min(times.length, from + BLOCK) - 1;
    blocks.push(
      `  ${name} ADD with ${from}–${to} existing: median ${median(times.slice(from, to + 1)).toFixed(1)} ms`,
    );
  }
  return `${blocks.join('\n')}\n  ${name} ADD growth: ${(100 * slope(times)).toFixed(2)} ms per 100 existing`;
}

describe.skipIf(!isRoot || !SCALE)('portmap and bandwidth ADD at scale (CROSSCNI_SCALE=<n>, root)', () => {
  it(`adds ${SCALE} containers and measures portmap and bandwidth ADD`, { timeout: 1_800_000 }, () => {
    fx = chainFixture();
    const bridge = bridgePlugin(fx, [[{ subnet: '10.216.0.0/16' }]]);
    const portmap: ChainPlugin = { type: 'portmap', capabilities: { portMappings: true } };
    const bandwidth: ChainPlugin = { type: 'bandwidth', capabilities: { bandwidth: true } };
    const basePort = 30000 + Math.floor(Math.random() * 10000);
    const times = { portmap: [] as number[], bandwidth: [] as number[] };
    const calls = [];
    for (let i = 0; i < SCALE; i++) {
      const ns = fx.scratch.namespace('pms');
      const call = {
        netns: ns.path,
        containerId: `scale-${i}`,
        runtimeConfig: {
          portMappings: [{ hostPort: basePort + i, containerPort: 80, protocol: 'tcp' }],
          bandwidth: {
            ingressRate: 8_000_000,
            ingressBurst: 80_000,
            egressRate: 8_000_000,
            egressBurst: 80_000,
          },
        },
      };
      // Registered before ADD, so a failure halfway leaves no ifb behind.
      fx.scratch.link(ifbName(fx.network, { containerId: call.containerId, ifname: 'eth0' }));
      let prev: Record<string, unknown>;
      try {
        prev = addChain(fx, [bridge], call);
      } catch (e) {
        throw new Error(`bridge ADD of container ${i}: ${(e as Error).message}`);
      }
      let started = performance.now();
      const mapped = expectOk(runPlugin(fx, 'ADD', portmap, call, prev));
      times.portmap.push(performance.now() - started);
      started = performance.now();
      const limited = expectOk(runPlugin(fx, 'ADD', bandwidth, call, mapped));
      times.bandwidth.push(performance.now() - started);
      calls.push({ ...call, prevResult: limited });
    }
    console.log(
      `scale ${SCALE}:\n${report('portmap', times.portmap)}\n${report('bandwidth', times.bandwidth)}`,
    );
    for (const call of calls.reverse()) {
      for (const plugin of [bandwidth, portmap, bridge])
        expectOk(runPlugin(fx, 'DEL', plugin, call, call.prevResult));
    }
    expect(times.portmap).toHaveLength(SCALE);
  });
});
