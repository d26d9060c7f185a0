/**
 * GC (CNI 1.1) through the runtime library: attachments leaked by ADDs that were killed, or that
 * finished after the runtime gave up on them, are released by GC given the valid attachment
 * list, without any DEL: addresses, masquerade elements, index entries, temporary files, stale
 * cache entries, and the veth of a sandbox the runtime lost track of while its namespace lives on. And GC never touches what is not its own: another crosscni network's
 * attachments (even with the same container ids), another tool's reservations in the same
 * dataDir, another tool's nft table and iptables rule, another network's cache entries, a
 * foreign port on the bridge.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { iptablesChain } from '../../linux/netfilter-iptables.ts';
import { attachmentHash } from '../../linux/netfilter-names.ts';
import type { RuntimeConf } from '../../runtime/plugin-env.ts';
import { isRoot, linkExists, sh, skipReason, trySh, uniqueName } from '../support/kernel.ts';
import {
  addresses,
  type BridgeNetwork,
  bridgeNetwork,
  bridgePorts,
  cleanupNetworks,
  type Json,
  leftovers,
  NOTHING,
  natElements,
  removeNamespace,
  report,
  startBridge,
  storeFiles,
} from './fixture.ts';

afterEach(() => cleanupNetworks());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ownsAddress(net: BridgeNetwork, id: string): boolean {
  const dir = join(net.dataDir, net.name);
  return storeFiles(net).reservations.some((ip) => readFileSync(join(dir, ip), 'latin1') === `${id}\r\neth0`);
}

/** Start an ADD and SIGKILL it as soon as `reached` holds (or let it finish if it never does). */
async function killWhen(net: BridgeNetwork, rt: RuntimeConf, reached: () => boolean): Promise<string> {
  const run = startBridge(
    { command: 'ADD', containerId: rt.containerId, netns: rt.netns, ifname: rt.ifname },
    net.config(),
  );
  let exited = false;
  void run.done.then(() => {
    exited = true;
  });
  while (!exited && !reached()) await sleep(1);
  run.child.kill('SIGKILL');
  const answer = await run.done;
  return answer.signal === 'SIGKILL' ? 'killed' : `finished (exit ${answer.exitCode})`;
}

describe.skipIf(!isRoot)('GC releases leaked attachments and nothing else', () => {
  it('attachments of killed ADDs, of ADDs the runtime gave up on, and stale cache entries go; valid ones stay', async () => {
    const net = bridgeNetwork({ subnets: ['10.177.0.0/24', 'fd7a:177::/64'] });
    const runtime = net.runtime();
    const list = net.list();
    const live: RuntimeConf[] = [];
    for (const id of ['keep1', 'keep2']) {
      const rt = { containerId: id, netns: net.namespace().path, ifname: 'eth0' };
      await runtime.addNetworkList(list, rt);
      live.push(rt);
    }
    // A cached attachment the runtime no longer lists: GC deletes it (libcni runs DEL for it).
    const staleRt = { containerId: 'stale-cached', netns: net.namespace().path, ifname: 'eth0' };
    await runtime.addNetworkList(list, staleRt);

    // Leaks: killed once the address is reserved, once the veth exists, once NAT is set up, and
    // one ADD that finished after the runtime had given up (its result never cached).
    const leaks: Array<{ rt: RuntimeConf; outcome: string }> = [];
    const leak = async (id: string, reached: (rt: RuntimeConf) => boolean, sandbox = 'removed') => {
      const ns = net.namespace();
      const rt = { containerId: id, netns: ns.path, ifname: 'eth0' };
      leaks.push({ rt, outcome: await killWhen(net, rt, () => reached(rt)) });
      // The runtime removes the pod sandbox; nobody runs DEL.
      if (sandbox === 'removed') removeNamespace(ns);
      return ns;
    };
    await leak('leak-address', (rt) => ownsAddress(net, rt.containerId));
    await leak('leak-veth', () => bridgePorts(net.bridge).length > live.length + 1);
    const hash = (id: string) => attachmentHash(id, 'eth0');
    await leak('leak-nat', (rt) => natElements(net.name).some((e) => e.endsWith(hash(rt.containerId))));
    await leak('leak-finished', () => false);
    // Finished after the runtime gave up, and its sandbox namespace is still held: the veth lives
    // on with it, holding the address GC releases, until GC deletes it.
    const held = await leak('leak-held', () => false, 'held');
    expect(linkExists('eth0', held.name)).toBe(true);
    console.log(`gc: leaks made: ${leaks.map((l) => `${l.rt.containerId} ${l.outcome}`).join('; ')}`);
    report('gc', { leaks: leaks.map((l) => `${l.rt.containerId}: ${l.outcome}`) });
    // A temporary file a killed host-local leaves between writing and linking a reservation.
    const dead = spawnSync('true');
    writeFileSync(join(net.dataDir, net.name, `.tmp-${dead.pid}-0123456789ab`), 'leak-tmp\r\neth0');

    await runtime.gcNetworkList(list, { validAttachments: live });

    const now = leftovers(net);
    const kept = (await Promise.all(live.map((rt) => runtime.getCachedResult(list, rt)))).flatMap((r) =>
      addresses(r as unknown as Json).map((a) => a.split('/')[0]!),
    );
    expect(now.reservations).toEqual([...kept].sort());
    expect(now.natElements.map((e) => e.split(' ')[0])).toEqual([...kept].sort());
    expect(now.natElements.every((e) => live.some((rt) => e.endsWith(hash(rt.containerId))))).toBe(true);
    expect(now.storeDebris).toEqual([]);
    expect(now.cacheEntries).toEqual(live.map((rt) => `${net.name}-${rt.containerId}-eth0`).sort());
    expect(now.bridgePorts).toHaveLength(live.length);
    expect(linkExists('eth0', held.name)).toBe(false);
    // The valid attachments still work.
    for (const rt of live) await runtime.checkNetworkList(list, rt);
    for (const rt of live) await runtime.delNetworkList(list, rt);
    expect(leftovers(net)).toEqual(NOTHING);
  }, 120_000);

  it('iptables backend: a chain whose POSTROUTING jump was never added (ADD killed in between) goes too', async () => {
    const net = bridgeNetwork({ subnets: ['10.177.3.0/24'], extra: { ipMasqBackend: 'iptables' } });
    const runtime = net.runtime();
    const list = net.list();
    const keep = { containerId: 'ipt-keep', netns: net.namespace().path, ifname: 'eth0' };
    await runtime.addNetworkList(list, keep);
    const ns = net.namespace();
    const leaked = { containerId: 'ipt-leak', netns: ns.path, ifname: 'eth0' };
    const result = await runtime.addNetworkList(list, leaked);
    const chain = iptablesChain(net.name, leaked);
    const address = addresses(result as unknown as Json)[0]!.split('/')[0]!;
    // The state a kill between `iptables-restore` (the chain) and `iptables -A POSTROUTING` (the
    // jump) leaves: remove the jump, keep the chain; then the sandbox goes and nobody runs DEL.
    const jump = ['-t', 'nat', '-D', 'POSTROUTING', '-s', address, '-j', chain, '-m', 'comment'];
    const comment = sh('iptables', ['-w', '10', '-t', 'nat', '-S', 'POSTROUTING'])
      .split('\n')
      .find((l) => l.includes(chain))
      ?.match(/--comment "?([^" ]+)"?/)?.[1];
    sh('iptables', ['-w', '10', ...jump, '--comment', comment!]);
    expect(sh('iptables', ['-w', '10', '-t', 'nat', '-S'])).toContain(`-N ${chain}`);
    removeNamespace(ns);
    // The runtime never cached it (the ADD never returned), so only the plugins' GC can find it.
    await runtime.cache.remove(net.name, leaked.containerId, leaked.ifname);
    await runtime.gcNetworkList(list, { validAttachments: [keep] });
    const nat = sh('iptables', ['-w', '10', '-t', 'nat', '-S']);
    expect(nat).not.toContain(chain);
    expect(nat).toContain(iptablesChain(net.name, keep));
    await runtime.delNetworkList(list, keep);
    expect(sh('iptables', ['-w', '10', '-t', 'nat', '-S'])).not.toContain(iptablesChain(net.name, keep));
    expect(leftovers(net)).toEqual(NOTHING);
  }, 120_000);

  it("never touches another network's or another tool's state", async () => {
    const a = bridgeNetwork({ subnets: ['10.177.1.0/24'] });
    // Network B shares the dataDir and the cache dir with A (as on a real node).
    const b = bridgeNetwork({ subnets: ['10.177.2.0/24'] });
    const bShared = { ...b, dataDir: a.dataDir, cacheDir: a.cacheDir };
    const runtimeA = a.runtime();
    const runtimeB = bShared.runtime();
    const listB = {
      ...b.list(),
      plugins: b.list().plugins.map((p) => ({
        ...p,
        raw: { ...p.raw, ipam: { ...(p.raw.ipam as Json), dataDir: a.dataDir } },
      })),
    };

    // The same container ids on both networks.
    for (const id of ['shared1', 'shared2']) {
      await runtimeA.addNetworkList(a.list(), { containerId: id, netns: a.namespace().path, ifname: 'eth0' });
      await runtimeB.addNetworkList(listB, { containerId: id, netns: b.namespace().path, ifname: 'eth0' });
    }
    const bBefore = leftovers(bShared);

    // Another tool's state next to ours.
    const foreignNet = join(a.dataDir, 'reference-net');
    mkdirSync(foreignNet, { recursive: true });
    writeFileSync(join(foreignNet, '10.177.1.50'), 'shared1\r\neth0');
    writeFileSync(join(foreignNet, 'last_reserved_ip.0'), '10.177.1.50');
    const foreignTable = uniqueName('othertool');
    a.scratch.nftTable('inet', foreignTable);
    sh(
      'nft',
      ['-f', '-'],
      `table inet ${foreignTable} { set masq4 { type ipv4_addr; elements = { 10.177.1.2 }; }; }\n`,
    );
    const comment = uniqueName('othertool');
    const rule = [
      'POSTROUTING',
      '-s',
      '10.177.1.0/24',
      '-m',
      'comment',
      '--comment',
      comment,
      '-j',
      'MASQUERADE',
    ];
    sh('iptables', ['-w', '10', '-t', 'nat', '-A', ...rule]);
    a.scratch.onCleanup(() => trySh('iptables', ['-w', '10', '-t', 'nat', '-D', ...rule]));
    const foreignCache = join(a.cacheDir, 'results', 'othernet-shared1-eth0');
    writeFileSync(
      foreignCache,
      '{"kind":"cniCacheV1","containerId":"shared1","ifName":"eth0","networkName":"othernet"}',
    );
    const foreignPort = uniqueName('fvp');
    sh('ip', ['link', 'add', foreignPort, 'type', 'veth', 'peer', 'name', `${foreignPort}p`]);
    a.scratch.link(foreignPort);
    sh('ip', ['link', 'set', foreignPort, 'master', a.bridge]);

    // GC of A with nothing valid: all of A's attachments go, nothing else does.
    await runtimeA.gcNetworkList(a.list(), { validAttachments: [] });
    expect({ ...leftovers(a), bridgePorts: bridgePorts(a.bridge).filter((p) => p !== foreignPort) }).toEqual(
      NOTHING,
    );
    expect(bridgePorts(a.bridge)).toEqual([foreignPort]);
    expect(leftovers(bShared)).toEqual(bBefore);
    expect(readdirSync(foreignNet).sort()).toEqual(['10.177.1.50', 'last_reserved_ip.0']);
    expect(sh('nft', ['list', 'set', 'inet', foreignTable, 'masq4'])).toContain('10.177.1.2');
    expect(sh('iptables', ['-w', '10', '-t', 'nat', '-S', 'POSTROUTING'])).toContain(comment);
    expect(readdirSync(join(a.cacheDir, 'results'))).toContain('othernet-shared1-eth0');

    // GC of B with its attachments valid changes nothing of B.
    await runtimeB.gcNetworkList(listB, {
      validAttachments: ['shared1', 'shared2'].map((containerId) => ({ containerId, ifname: 'eth0' })),
    });
    expect(leftovers(bShared)).toEqual(bBefore);
  }, 120_000);
});

describe.skipIf(isRoot)('GC (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
