/**
 * The bandwidth plugin on the real kernel, chained after crosscni's bridge plugin and driven
 * through the executables. Observed with `tc -j` and `ip -j` as an operator would: a tbf with
 * the configured rate on the host veth (the container's ingress), an ifb device receiving the
 * veth's incoming traffic through a mirred redirect and shaping it with its own tbf (the
 * container's egress); DEL removes them, twice and without a namespace.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ifbName } from '../../linux/ifb.ts';
import { isRoot, linkExists, sh, skipReason } from '../support/kernel.ts';
import {
  addChain,
  bridgePlugin,
  type ChainFixture,
  type ChainPlugin,
  chainFixture,
  delChain,
  expectOk,
  fetchFrom,
  listenIn,
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

interface TcQdisc {
  kind: string;
  handle: string;
  root?: boolean;
  parent?: string;
  options?: { rate?: number; burst?: number };
}

function qdiscs(dev: string): TcQdisc[] {
  return JSON.parse(sh('tc', ['-j', 'qdisc', 'show', 'dev', dev]) || '[]') as TcQdisc[];
}

const rootTbf = (dev: string) => qdiscs(dev).find((q) => q.kind === 'tbf' && q.root);

function hostVeth(result: Record<string, unknown>): string {
  return (result.interfaces as Array<{ name: string }>)[1]!.name;
}

const limits = { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 4_000_000, egressBurst: 40_000 };

describe.skipIf(!isRoot)('bandwidth plugin on the real kernel', () => {
  it('shapes ingress with tbf on the host veth and egress through an ifb; CHECK passes; DEL removes both, twice', async () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('bwt');
    const call = { netns: ns.path, containerId: 'bw-basic', runtimeConfig: { bandwidth: limits } };
    const result = addChain(fx, [bridgePlugin(fx), bandwidth], call);
    const veth = hostVeth(result);
    const ifb = ifbName(fx.network, { containerId: 'bw-basic', ifname: 'eth0' });
    fx.scratch.link(ifb);
    // The reference lists the ifb it made after prevResult's interfaces.
    const interfaces = result.interfaces as Array<{ name: string; mac?: string }>;
    expect(interfaces.map((i) => i.name)).toEqual([fx.bridge, veth, 'eth0', ifb]);

    const ingress = rootTbf(veth);
    expect(ingress?.options?.rate).toBe(1_000_000);
    expect(Math.abs((ingress?.options?.burst ?? 0) - 10_000)).toBeLessThanOrEqual(8);
    expect(qdiscs(veth).some((q) => q.kind === 'ingress')).toBe(true);
    const filters = sh('tc', ['filter', 'show', 'dev', veth, 'parent', 'ffff:']);
    expect(filters).toContain(`Egress Redirect to device ${ifb}`);
    const egress = rootTbf(ifb);
    expect(egress?.options?.rate).toBe(500_000);
    expect(Math.abs((egress?.options?.burst ?? 0) - 5_000)).toBeLessThanOrEqual(8);
    const [ifbLink] = JSON.parse(sh('ip', ['-j', 'link', 'show', 'dev', ifb])) as Array<{
      mtu: number;
      operstate: string;
    }>;
    const [vethLink] = JSON.parse(sh('ip', ['-j', 'link', 'show', 'dev', veth])) as Array<{ mtu: number }>;
    expect(ifbLink?.mtu).toBe(vethLink?.mtu);

    // Traffic still flows both ways through the shaping (replies leave through the ifb).
    await listenIn(fx, ns.name, 80, 'shaped');
    const other = fx.scratch.namespace('bwc');
    addChain(fx, [bridgePlugin(fx)], { netns: other.path, containerId: 'bw-client' });
    const containerIp = (result.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
    expect(fetchFrom(other.name, containerIp, 80)).toBe('shaped');

    expectOk(runPlugin(fx, 'CHECK', bandwidth, call, result));

    const cached = { ...call, prevResult: result };
    expectOk(runPlugin(fx, 'DEL', bandwidth, cached, result));
    expect(linkExists(ifb)).toBe(false);
    expect(rootTbf(veth)).toBeUndefined();
    expect(qdiscs(veth).some((q) => q.kind === 'ingress')).toBe(false);
    expectOk(runPlugin(fx, 'DEL', bandwidth, cached, result));
    expectOk(runPlugin(fx, 'DEL', bandwidth, { ...call, netns: '' }));
    delChain(fx, [bridgePlugin(fx)], cached);
  });

  it('takes limits from the config keys, ingress only, and CHECK sees a changed rate', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('bwt');
    const plugin = { ...bandwidth, ingressRate: 16_000_000, ingressBurst: 160_000 };
    const call = { netns: ns.path, containerId: 'bw-config' };
    const result = addChain(fx, [bridgePlugin(fx), plugin], call);
    const veth = hostVeth(result);
    expect(rootTbf(veth)?.options?.rate).toBe(2_000_000);
    expect(linkExists(ifbName(fx.network, { containerId: 'bw-config', ifname: 'eth0' }))).toBe(false);
    expect((result.interfaces as unknown[]).length).toBe(3);
    expectOk(runPlugin(fx, 'CHECK', plugin, call, result));

    sh('tc', [
      'qdisc',
      'replace',
      'dev',
      veth,
      'root',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '20kb',
      'latency',
      '25ms',
    ]);
    const changed = runPlugin(fx, 'CHECK', plugin, call, result);
    expect(changed.json?.code).toBe(5);
    expect(changed.json?.msg).toContain('ingress rate is 1000000 bit/s, configured 16000000');
    sh('tc', ['qdisc', 'del', 'dev', veth, 'root']);
    const removed = runPlugin(fx, 'CHECK', plugin, call, result);
    expect(removed.json?.msg).toContain('no ingress limit is in force');
    delChain(fx, [bridgePlugin(fx), plugin], { ...call, prevResult: result });
  });

  it('refuses a rate without a burst, and ADD without prevResult, as the reference does', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('bwt');
    const call = { netns: ns.path, containerId: 'bw-invalid' };
    const noBurst = runPlugin(fx, 'ADD', { ...bandwidth, egressRate: 1_000_000 }, call, {
      cniVersion: '1.1.0',
    });
    expect(noBurst.json?.code).toBe(7);
    expect(noBurst.json?.msg).toContain('egressRate is set, so egressBurst must be set too');
    const noRate = runPlugin(
      fx,
      'ADD',
      bandwidth,
      { ...call, runtimeConfig: { bandwidth: { ingressBurst: 100 } } },
      {
        cniVersion: '1.1.0',
      },
    );
    expect(noRate.json?.msg).toContain('ingressBurst is set, so ingressRate must be set too');
    const alone = runPlugin(fx, 'ADD', bandwidth, { ...call, runtimeConfig: { bandwidth: limits } });
    expect(alone.json?.code).toBe(7);
    expect(alone.json?.msg).toContain('chained plugin');
  });

  it('GC removes the ifb devices of attachments not in the valid list', () => {
    const fx = fixture();
    const a = fx.scratch.namespace('bwt');
    const b = fx.scratch.namespace('bwt');
    const callA = { netns: a.path, containerId: 'bw-gc-a', runtimeConfig: { bandwidth: limits } };
    const callB = { netns: b.path, containerId: 'bw-gc-b', runtimeConfig: { bandwidth: limits } };
    const resultA = addChain(fx, [bridgePlugin(fx), bandwidth], callA);
    const resultB = addChain(fx, [bridgePlugin(fx), bandwidth], callB);
    const ifbA = fx.scratch.link(ifbName(fx.network, { containerId: 'bw-gc-a', ifname: 'eth0' }));
    const ifbB = fx.scratch.link(ifbName(fx.network, { containerId: 'bw-gc-b', ifname: 'eth0' }));
    const gc = runPlugin(
      fx,
      'GC',
      { ...bandwidth, 'cni.dev/valid-attachments': [{ containerID: 'bw-gc-a', ifname: 'eth0' }] },
      { netns: '', containerId: '' },
    );
    expect(gc.stdout).toBe('');
    expect(linkExists(ifbA)).toBe(true);
    expect(linkExists(ifbB)).toBe(false);
    delChain(fx, [bridgePlugin(fx), bandwidth], { ...callA, prevResult: resultA });
    delChain(fx, [bridgePlugin(fx), bandwidth], { ...callB, prevResult: resultB });
  });
});

describe.skipIf(isRoot)('bandwidth plugin on the real kernel', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
