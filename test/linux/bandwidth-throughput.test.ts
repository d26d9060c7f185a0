/**
 * The bandwidth plugin judged by the rate it achieves rather than by the qdiscs it installs:
 * a container made by crosscni's bridge plugin and a peer on the same bridge exchange 1 MB in
 * each direction over TCP, first unshaped (the control), then after the bandwidth plugin has
 * been chained onto the container's bridge result. The shaped transfers must stay within the
 * token bucket's bound (rate x 1.3, plus the burst the bucket starts with); the control
 * transfers must exceed that same bound, which shows the measurement can see shaping at all.
 *
 * Only upper bounds on rates are asserted: a loaded host slows transfers, never speeds them, and
 * every interval is measured so that it can only come out longer than the time the data took
 * through the kernel (the receiver starts its clock before it connects, so before any byte can
 * pass the token bucket, and stops it when it has read the last one).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ifbName } from '../../linux/ifb.ts';
import { isRoot, skipReason } from '../support/kernel.ts';
import {
  addChain,
  bridgePlugin,
  type ChainFixture,
  type ChainPlugin,
  chainFixture,
  expectOk,
  runPlugin,
} from './portmap-fixture.ts';

let current: ChainFixture | undefined;

function fixture(): ChainFixture {
  current = chainFixture();
  return current;
}

afterEach(() => {
  current?.scratch.cleanup();
  current = undefined;
});

const bandwidth: ChainPlugin = { type: 'bandwidth', capabilities: { bandwidth: true } };

/**
 * Low enough that any host's unshaped veth pair beats them by far; different per direction so a
 * plugin that swapped ingress and egress fails the egress bound. Bursts a few frames deep.
 */
const limits = { ingressRate: 4_000_000, ingressBurst: 48_000, egressRate: 2_000_000, egressBurst: 24_000 };

const transferBytes = 1_000_000;
const port = 5201;

/** The most a token bucket lets through, as a rate in bit/s over `seconds`, with 30 % to spare. */
function rateCeilingBits(rateBits: number, burstBits: number, seconds: number): number {
  return rateBits * 1.3 + burstBits / seconds;
}

/** A TCP server in a namespace sending `transferBytes` on every connection; stopped in cleanup. */
async function senderIn(fx: ChainFixture, nsName: string): Promise<ChildProcess> {
  const script = `require('net').createServer((s)=>{s.on('error',()=>{});s.end(Buffer.alloc(${transferBytes},120))}).listen(${port},'0.0.0.0',()=>console.log('ready'))`;
  const child = spawn('ip', ['netns', 'exec', nsName, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fx.scratch.onCleanup(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sender in ${nsName} did not start`)), 20_000);
    child.stdout!.on('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sender in ${nsName} exited with ${code}`));
    });
  });
  return child;
}

interface Transfer {
  bytes: number;
  seconds: number;
  rateBits: number;
}

/**
 * Connect from `nsName` to the sender at `host` and read until it closes. The clock starts
 * before connect, so the interval covers every byte's passage through the kernel.
 */
function receiveIn(nsName: string, host: string): Transfer {
  const script = `const t0=process.hrtime.bigint();let n=0;const s=require('net').connect({host:${JSON.stringify(host)},port:${port}});s.setTimeout(30000,()=>process.exit(2));s.on('data',(c)=>{n+=c.length});s.on('end',()=>{const seconds=Number(process.hrtime.bigint()-t0)/1e9;process.stdout.write(JSON.stringify({bytes:n,seconds}));process.exit(0)});s.on('error',()=>process.exit(1))`;
  const run = spawnSync('ip', ['netns', 'exec', nsName, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0)
    throw new Error(`transfer ${host} -> ${nsName} failed (${run.status}): ${run.stderr}`);
  const { bytes, seconds } = JSON.parse(run.stdout) as { bytes: number; seconds: number };
  expect(bytes).toBe(transferBytes);
  return { bytes, seconds, rateBits: (bytes * 8) / seconds };
}

function firstAddress(result: Record<string, unknown>): string {
  return (result.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
}

describe.skipIf(!isRoot)('bandwidth plugin: achieved rates on the real kernel', () => {
  it('holds both directions within the configured limits, where the same path unshaped exceeds them', async () => {
    const fx = fixture();
    const container = fx.scratch.namespace('bwt');
    const peer = fx.scratch.namespace('bwp');
    const call = { netns: container.path, containerId: 'bw-rate', runtimeConfig: { bandwidth: limits } };
    fx.scratch.link(ifbName(fx.network, { containerId: 'bw-rate', ifname: 'eth0' }));
    const bridged = addChain(fx, [bridgePlugin(fx)], call);
    const peerResult = addChain(fx, [bridgePlugin(fx)], { netns: peer.path, containerId: 'bw-peer' });
    const containerIp = firstAddress(bridged);
    const peerIp = firstAddress(peerResult);
    await senderIn(fx, container.name);
    await senderIn(fx, peer.name);

    const direction = {
      egress: () => receiveIn(peer.name, containerIp),
      ingress: () => receiveIn(container.name, peerIp),
    };
    const egressCeiling = (t: Transfer) => rateCeilingBits(limits.egressRate, limits.egressBurst, t.seconds);
    const ingressCeiling = (t: Transfer) =>
      rateCeilingBits(limits.ingressRate, limits.ingressBurst, t.seconds);

    // Control: the same namespaces and addresses before the bandwidth plugin runs.
    const openEgress = direction.egress();
    expect(openEgress.rateBits).toBeGreaterThan(egressCeiling(openEgress));
    const openIngress = direction.ingress();
    expect(openIngress.rateBits).toBeGreaterThan(ingressCeiling(openIngress));

    // The chain's second step, with the bridge's result as prevResult as a runtime passes it.
    expectOk(runPlugin(fx, 'ADD', bandwidth, call, bridged));

    const shapedEgress = direction.egress();
    expect(shapedEgress.rateBits).toBeLessThanOrEqual(egressCeiling(shapedEgress));
    const shapedIngress = direction.ingress();
    expect(shapedIngress.rateBits).toBeLessThanOrEqual(ingressCeiling(shapedIngress));
  });
});

describe.skipIf(isRoot)('bandwidth plugin: achieved rates on the real kernel', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
