/**
 * Endpoint netfilter state on the real kernel: masquerade entries (nftables by default,
 * iptables on request), their removal and garbage collection per network, and the MAC spoof
 * filter, observed with `nft` / `iptables` listings and with traffic.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { iptablesChain } from '../../linux/netfilter-iptables.ts';
import { networkTable } from '../../linux/netfilter-names.ts';
import { readOutboundNat } from '../../linux/netfilter.ts';
import type { EndpointSpec } from '../../platform/types.ts';
import { isRoot, sh, skipReason, trySh } from '../support/kernel.ts';
import {
  cleanupLinuxFixtures,
  endpointSpec,
  type LinuxFixture,
  linuxFixture,
  networkSpec,
  nftTableText,
  platform,
} from './linux-fixture.ts';

afterEach(cleanupLinuxFixtures);

async function attach(
  fx: LinuxFixture,
  address: string,
  extra: Partial<EndpointSpec> = {},
): Promise<EndpointSpec> {
  const ns = fx.namespace();
  const network = await platform.ensureNetwork(networkSpec(fx));
  const spec = endpointSpec(fx, ns, {
    containerId: `ctr-${address}`,
    addresses: [{ cidr: `${address}/24`, gateway: '10.214.0.1' }],
    outboundNat: { exceptions: ['10.214.0.0/24'] },
    ...extra,
  });
  await platform.createEndpoint(network, spec);
  return spec;
}

function teardownOf(spec: EndpointSpec) {
  return { ...spec, addresses: spec.addresses.map((a) => a.cidr), outboundNat: { exceptions: [] } };
}

/** Test cleanup: the chain and every POSTROUTING jump to it, whatever the test left. */
function removeIptablesChain(chain: string): void {
  for (const line of sh('iptables', ['-t', 'nat', '-S', 'POSTROUTING']).split('\n')) {
    if (!line.includes(`-j ${chain}`)) continue;
    const args = line
      .trim()
      .split(/\s+/)
      .map((a) => a.replace(/^"(.*)"$/, '$1'));
    trySh('iptables', ['-t', 'nat', '-D', ...args.slice(1)]);
  }
  trySh('iptables', ['-t', 'nat', '-F', chain]);
  trySh('iptables', ['-t', 'nat', '-X', chain]);
}

function ping(ns: string, target: string): boolean {
  return (
    spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', target], { stdio: 'ignore' })
      .status === 0
  );
}

describe.skipIf(!isRoot)('linux endpoint netfilter on the real kernel', () => {
  it('masquerades the container address with the network subnet and multicast excepted; DEL removes it', async () => {
    const fx = linuxFixture('10.214');
    const spec = await attach(fx, '10.214.0.5', {
      addresses: [{ cidr: '10.214.0.5/24', gateway: '10.214.0.1' }, { cidr: 'fd00:214::5/64' }],
      outboundNat: { exceptions: ['10.214.0.0/24', 'fd00:214::/64', '10.0.0.0/8'] },
    });
    const table = nftTableText('inet', fx.network);
    expect(table).toContain(`table inet ${networkTable(fx.network)}`);
    // The free-text network name appears only sanitised, in a comment.
    expect(table).toMatch(/comment "crosscni network net ct[0-9a-f]+ _quoted__ _braces_"/);
    expect(table).toMatch(/ip saddr @masq4 ip daddr != \{ 10\.0\.0\.0\/8, 224\.0\.0\.0\/4 \} masquerade/);
    expect(table).toMatch(/ip6 saddr @masq6 ip6 daddr != \{ fd00:214::\/64, ff00::\/8 \} masquerade/);
    expect(table).toMatch(/10\.214\.0\.5 comment "[0-9a-f]{16}"/);
    expect(table).toMatch(/fd00:214::5 comment "[0-9a-f]{16}"/);
    expect(await readOutboundNat(fx.network)).toHaveLength(2);

    await platform.deleteEndpoint(teardownOf(spec));
    expect(await readOutboundNat(fx.network)).toEqual([]);
    // Already gone: DEL still succeeds.
    await platform.deleteEndpoint(teardownOf(spec));
  });

  it('DEL without addresses (no prevResult, namespace gone) finds the entries by attachment', async () => {
    const fx = linuxFixture('10.214');
    const gone = await attach(fx, '10.214.0.5');
    const kept = await attach(fx, '10.214.0.6');
    const viaIptables = await attach(fx, '10.214.0.7', {
      outboundNat: { exceptions: [], mechanism: 'iptables' },
    });
    const chain = iptablesChain(fx.network, { containerId: viaIptables.containerId, ifname: 'eth0' });
    fx.scratch.onCleanup(() => removeIptablesChain(chain));
    for (const spec of [gone, viaIptables]) {
      sh('ip', ['netns', 'del', spec.namespace.split('/').pop()!]);
      await platform.deleteEndpoint({ ...teardownOf(spec), addresses: [] });
    }
    expect((await readOutboundNat(fx.network)).map((e) => e.address)).toEqual([
      kept.addresses[0]!.cidr.split('/')[0],
    ]);
    expect(sh('iptables', ['-t', 'nat', '-S', 'POSTROUTING'])).not.toContain(chain);
  });

  it('re-adding an address takes it over from a stale owner, so GC keeps it for the new one', async () => {
    const fx = linuxFixture('10.214');
    const first = await attach(fx, '10.214.0.5');
    // The first owner's DEL never ran for NAT (say it crashed); the address is reused.
    await platform.deleteEndpoint({ ...teardownOf(first), outboundNat: undefined });
    const second = await attach(fx, '10.214.0.5', { containerId: 'new-owner' });
    await platform.collectGarbage(fx.network, fx.bridge, [
      { containerId: second.containerId, ifname: 'eth0' },
    ]);
    expect((await readOutboundNat(fx.network)).map((e) => e.address)).toEqual(['10.214.0.5']);
  });

  it('GC removes stale elements of its network only', async () => {
    const fx = linuxFixture('10.214');
    const keep = await attach(fx, '10.214.0.5');
    await attach(fx, '10.214.0.6');
    const other = linuxFixture('10.215');
    await attach(other, '10.215.0.7');

    await platform.collectGarbage(fx.network, fx.bridge, [{ containerId: keep.containerId, ifname: 'eth0' }]);
    expect((await readOutboundNat(fx.network)).map((e) => e.address)).toEqual(['10.214.0.5']);
    expect((await readOutboundNat(other.network)).map((e) => e.address)).toEqual(['10.215.0.7']);

    // A network that never had NAT state: nothing to do, no error.
    await platform.collectGarbage('crosscni test no such network', 'ctnone', []);
  });

  it('ADD never lists the ruleset: its batch is the same however many containers the network has', async () => {
    const fx = linuxFixture('10.214');
    await attach(fx, '10.214.0.5');
    await attach(fx, '10.214.0.6');
    await attach(fx, '10.214.0.7');
    expect((await readOutboundNat(fx.network)).map((e) => e.address).sort()).toEqual([
      '10.214.0.5',
      '10.214.0.6',
      '10.214.0.7',
    ]);
    // One rule per family however many containers: the rule count does not grow.
    expect(nftTableText('inet', fx.network).match(/masquerade/g)).toHaveLength(2);
  });

  it('uses iptables when the operator names it; DEL finds and removes the chain', async () => {
    const fx = linuxFixture('10.214');
    const spec = await attach(fx, '10.214.0.5', {
      outboundNat: { exceptions: ['10.214.0.0/24'], mechanism: 'iptables' },
    });
    const chain = iptablesChain(fx.network, { containerId: spec.containerId, ifname: 'eth0' });
    fx.scratch.onCleanup(() => removeIptablesChain(chain));
    expect(sh('iptables', ['-t', 'nat', '-S', chain])).toMatch(/-d 10\.214\.0\.0\/24 .*-j ACCEPT/);
    expect(sh('iptables', ['-t', 'nat', '-S', 'POSTROUTING'])).toContain(`-s 10.214.0.5/32`);
    expect(await readOutboundNat(fx.network)).toEqual([]);

    await platform.deleteEndpoint(teardownOf(spec));
    expect(sh('iptables', ['-t', 'nat', '-S', 'POSTROUTING'])).not.toContain(chain);
    expect(spawnSync('iptables', ['-t', 'nat', '-S', chain]).status).not.toBe(0);
  });

  it('GC removes stale iptables chains of its network', async () => {
    const fx = linuxFixture('10.214');
    const keep = await attach(fx, '10.214.0.5', { outboundNat: { exceptions: [], mechanism: 'iptables' } });
    const drop = await attach(fx, '10.214.0.6', { outboundNat: { exceptions: [], mechanism: 'iptables' } });
    const chains = [keep, drop].map((s) =>
      iptablesChain(fx.network, { containerId: s.containerId, ifname: 'eth0' }),
    );
    fx.scratch.onCleanup(() => chains.forEach(removeIptablesChain));
    await platform.collectGarbage(fx.network, fx.bridge, [{ containerId: keep.containerId, ifname: 'eth0' }]);
    const postrouting = sh('iptables', ['-t', 'nat', '-S', 'POSTROUTING']);
    expect(postrouting).toContain(chains[0]);
    expect(postrouting).not.toContain(chains[1]);
  });

  it('MAC spoof check drops frames from another source MAC; DEL removes the filter', async () => {
    const fx = linuxFixture('10.214');
    const spec = await attach(fx, '10.214.0.5', { macSpoofCheck: true, outboundNat: undefined });
    const table = nftTableText('bridge', fx.network);
    expect(table).toMatch(/iifname vmap @ports/);
    expect(table).toMatch(/ether saddr [0-9a-f:]{17} return/);
    const ns = spec.namespace.split('/').pop()!;
    expect(ping(ns, '10.214.0.1')).toBe(true);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'address', '0a:58:de:ad:be:ef']);
    sh('ip', ['-n', ns, 'neigh', 'flush', 'all']);
    expect(ping(ns, '10.214.0.1')).toBe(false);

    await platform.deleteEndpoint(teardownOf(spec));
    expect(nftTableText('bridge', fx.network)).not.toMatch(/ms-[0-9a-f]{16}/);
  });

  it('MAC spoof filter is removed when the namespace is already gone, and by GC', async () => {
    const fx = linuxFixture('10.214');
    const gone = await attach(fx, '10.214.0.5', { macSpoofCheck: true });
    sh('ip', ['netns', 'del', gone.namespace.split('/').pop()!]);
    await platform.deleteEndpoint(teardownOf(gone));
    expect(nftTableText('bridge', fx.network)).not.toMatch(/ms-[0-9a-f]{16}/);

    const keep = await attach(fx, '10.214.0.6', { macSpoofCheck: true });
    await attach(fx, '10.214.0.7', { macSpoofCheck: true });
    await platform.collectGarbage(fx.network, fx.bridge, [{ containerId: keep.containerId, ifname: 'eth0' }]);
    expect(nftTableText('bridge', fx.network).match(/chain ms-[0-9a-f]{16}/g)).toHaveLength(1);
  });

  it('deleteNetwork removes the network tables', async () => {
    const fx = linuxFixture('10.214');
    await attach(fx, '10.214.0.5', { macSpoofCheck: true });
    await platform.deleteNetwork(fx.network, fx.bridge);
    expect(nftTableText('inet', fx.network)).toBe('');
    expect(nftTableText('bridge', fx.network)).toBe('');
  });
});

describe.skipIf(isRoot)('linux endpoint netfilter on the real kernel (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
