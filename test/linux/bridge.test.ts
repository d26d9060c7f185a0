/**
 * The bridge plugin on the real kernel, driven through its executable as a runtime drives it
 * (environment + config on stdin), with crosscni's host-local as IPAM. Each test makes its
 * own namespace, bridge and data dir and removes them afterwards, even on failure.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type IpAddrInfo,
  ipJson,
  isRoot,
  KernelScratch,
  linkAddresses,
  linkExists,
  sh,
  skipReason,
  trySh,
  uniqueName,
} from '../support/kernel.ts';
import { networkTable } from '../../linux/netfilter-names.ts';
import { execPluginSync, type PluginAnswer } from '../support/plugin-exec.ts';

interface Fixture {
  scratch: KernelScratch;
  bridge: string;
  network: string;
  dataDir: string;
}

let current: Fixture | undefined;

function fixture(): Fixture {
  const scratch = new KernelScratch();
  const dataDir = mkdtempSync(join(tmpdir(), 'crosscni-bridge-'));
  scratch.onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const network = uniqueName('net');
  // The network's masquerade and MAC-spoof tables are shared state: remove them too.
  scratch.nftTable('inet', networkTable(network));
  scratch.nftTable('bridge', networkTable(network));
  current = { scratch, bridge: scratch.link(uniqueName('cbr')), network, dataDir };
  return current;
}

afterEach(() => {
  current?.scratch.cleanup();
  current = undefined;
});

function bridgeConfig(
  fx: Fixture,
  extra: Record<string, unknown> = {},
  ranges?: unknown[],
): Record<string, unknown> {
  return {
    cniVersion: '1.1.0',
    name: fx.network,
    type: 'bridge',
    bridge: fx.bridge,
    isGateway: true,
    ipMasq: true,
    ipam: {
      type: 'host-local',
      ranges: ranges ?? [[{ subnet: '10.201.0.0/24' }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: fx.dataDir,
    },
    ...extra,
  };
}

function call(
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS',
  netns: string,
  config: Record<string, unknown>,
  containerId = 'c0ffee01',
  ifname = 'eth0',
): PluginAnswer {
  return execPluginSync('bridge', { command, containerId, netns, ifname }, config);
}

function expectOk(answer: PluginAnswer): Record<string, unknown> {
  if (answer.exitCode !== 0) throw new Error(`plugin failed: ${answer.stdout} ${answer.stderr}`);
  return answer.json ?? {};
}

/** The addresses host-local holds for the network (its address files, nothing else). */
function storeEntries(fx: Fixture): string[] {
  try {
    return readdirSync(join(fx.dataDir, fx.network)).filter((f) => isIP(f) !== 0);
  } catch {
    return [];
  }
}

function hostVethsOn(bridge: string): string[] {
  return ipJson<IpAddrInfo[]>(['link', 'show', 'master', bridge]).map((l) => l.ifname);
}

/** Whether any netfilter rule or set names this exact host address (not a prefix containing it). */
function masqueradeMentions(address: string): boolean {
  const rules = sh('nft', ['list', 'ruleset']);
  const exact = new RegExp(`(^|[^0-9.:])${address.replaceAll('.', '\\.')}(?![0-9./])`, 'm');
  return exact.test(rules);
}

/** Whether this kernel's bridges can filter by VLAN (some minimal kernels lack it). */
function kernelHasVlanFiltering(): boolean {
  const probe = uniqueName('vlp');
  try {
    sh('ip', ['link', 'add', probe, 'type', 'bridge', 'vlan_filtering', '1']);
    return true;
  } catch {
    return false;
  } finally {
    trySh('ip', ['link', 'del', probe]);
  }
}

describe.skipIf(!isRoot)('bridge plugin on the real kernel', () => {
  it('ADD attaches an IPv4 container with gateway, default route and masquerade; CHECK passes; DEL removes it', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    const config = bridgeConfig(fx, { isDefaultGateway: true });
    const result = expectOk(call('ADD', ns.path, config));

    expect(result.cniVersion).toBe('1.1.0');
    const interfaces = result.interfaces as Array<{ name: string; mac?: string; sandbox?: string }>;
    expect(interfaces).toHaveLength(3);
    expect(interfaces[0]!.name).toBe(fx.bridge);
    expect(interfaces[1]!.name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(interfaces[2]).toMatchObject({ name: 'eth0', sandbox: ns.path });
    const ips = result.ips as Array<{ address: string; gateway: string; interface: number }>;
    expect(ips).toEqual([{ address: '10.201.0.2/24', gateway: '10.201.0.1', interface: 2 }]);
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0' }]);

    expect(linkAddresses('eth0', ns.name)).toContain('10.201.0.2/24');
    expect(linkAddresses(fx.bridge)).toContain('10.201.0.1/24');
    expect(hostVethsOn(fx.bridge)).toEqual([interfaces[1]!.name]);
    const routes = ipJson<Array<{ dst: string; gateway?: string }>>(['route', 'show', 'default'], ns.name);
    expect(routes[0]).toMatchObject({ dst: 'default', gateway: '10.201.0.1' });
    expect(sh('cat', ['/proc/sys/net/ipv4/ip_forward']).trim()).toBe('1');
    expect(masqueradeMentions('10.201.0.2')).toBe(true);
    expect(storeEntries(fx)).toEqual(['10.201.0.2']);
    // The gateway answers from inside the namespace.
    sh('ip', ['netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '2', '10.201.0.1']);

    expectOk(call('CHECK', ns.path, { ...config, prevResult: result }));

    expectOk(call('DEL', ns.path, { ...config, prevResult: result }));
    expect(linkExists('eth0', ns.name)).toBe(false);
    expect(hostVethsOn(fx.bridge)).toEqual([]);
    expect(storeEntries(fx)).toEqual([]);
    expect(masqueradeMentions('10.201.0.2')).toBe(false);
  });

  it('attaches dual-stack and IPv6-only containers', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    const config = bridgeConfig(fx, { isDefaultGateway: true }, [
      [{ subnet: '10.202.0.0/24' }],
      [{ subnet: 'fd00:202::/64' }],
    ]);
    (config.ipam as Record<string, unknown>).routes = [];
    const result = expectOk(call('ADD', ns.path, config));
    const ips = result.ips as Array<{ address: string; gateway: string }>;
    expect(ips.map((ip) => ip.address)).toEqual(['10.202.0.2/24', 'fd00:202::2/64']);
    expect(result.routes).toEqual([
      { dst: '0.0.0.0/0', gw: '10.202.0.1' },
      { dst: '::/0', gw: 'fd00:202::1' },
    ]);
    const addresses = linkAddresses('eth0', ns.name);
    expect(addresses).toEqual(expect.arrayContaining(['10.202.0.2/24', 'fd00:202::2/64']));
    expect(linkAddresses(fx.bridge)).toEqual(expect.arrayContaining(['10.202.0.1/24', 'fd00:202::1/64']));
    const v6routes = ipJson<Array<{ dst: string; gateway?: string }>>(
      ['-6', 'route', 'show', 'default'],
      ns.name,
    );
    expect(v6routes[0]).toMatchObject({ gateway: 'fd00:202::1' });
    expectOk(call('CHECK', ns.path, { ...config, prevResult: result }));
    expectOk(call('DEL', ns.path, { ...config, prevResult: result }));
    expect(storeEntries(fx)).toEqual([]);
  });

  it('CHECK fails with a clear message after the address is removed or the veth is detached', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    const config = bridgeConfig(fx);
    const result = expectOk(call('ADD', ns.path, config));
    const hostVeth = (result.interfaces as Array<{ name: string }>)[1]!.name;

    sh('ip', ['-n', ns.name, 'addr', 'del', '10.201.0.2/24', 'dev', 'eth0']);
    const missingAddress = call('CHECK', ns.path, { ...config, prevResult: result });
    expect(missingAddress.exitCode).not.toBe(0);
    expect(missingAddress.json?.msg).toMatch(/lacks address 10\.201\.0\.2\/24/);

    sh('ip', ['-n', ns.name, 'addr', 'add', '10.201.0.2/24', 'dev', 'eth0']);
    sh('ip', ['link', 'set', hostVeth, 'nomaster']);
    const detached = call('CHECK', ns.path, { ...config, prevResult: result });
    expect(detached.exitCode).not.toBe(0);
    expect(detached.json?.msg).toContain(`${hostVeth} is not attached to ${fx.bridge}`);
    expectOk(call('DEL', ns.path, { ...config, prevResult: result }));
  });

  it('DEL succeeds twice, without prevResult, with an empty CNI_NETNS and with a namespace that is gone', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    const config = bridgeConfig(fx);
    expectOk(call('ADD', ns.path, config, 'ctr-a'));
    expectOk(call('DEL', ns.path, config, 'ctr-a'));
    expectOk(call('DEL', ns.path, config, 'ctr-a'));
    expect(storeEntries(fx)).toEqual([]);

    const result = expectOk(call('ADD', ns.path, config, 'ctr-b'));
    expectOk(call('DEL', '', { ...config, prevResult: result }, 'ctr-b'));
    expect(storeEntries(fx)).toEqual([]);

    const ns2 = fx.scratch.namespace();
    const result2 = expectOk(call('ADD', ns2.path, config, 'ctr-c'));
    const veth = (result2.interfaces as Array<{ name: string }>)[1]!.name;
    sh('ip', ['netns', 'del', ns2.name]);
    expectOk(call('DEL', ns2.path, config, 'ctr-c'));
    expect(storeEntries(fx)).toEqual([]);
    expect(linkExists(veth)).toBe(false);
    for (const ip of ['10.201.0.2', '10.201.0.3', '10.201.0.4']) expect(masqueradeMentions(ip)).toBe(false);
  });

  it('rolls back a failed ADD: an interface name already taken in the namespace leaves nothing behind', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    sh('ip', ['-n', ns.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    const answer = call('ADD', ns.path, bridgeConfig(fx));
    expect(answer.exitCode).not.toBe(0);
    expect(answer.json?.msg).toMatch(/eth0/);
    expect(storeEntries(fx)).toEqual([]);
    // Other test files create veths concurrently, so look only where this ADD's would be:
    // on this test's bridge, and inside this test's namespace.
    const onBridge = linkExists(fx.bridge) ? hostVethsOn(fx.bridge) : [];
    expect(onBridge).toEqual([]);
    const inside = ipJson<IpAddrInfo[]>(['link', 'show'], ns.name).map((l) => l.ifname);
    expect(inside.sort()).toEqual(['eth0', 'eth0peer', 'lo']);
    expect(masqueradeMentions('10.201.0.2')).toBe(false);
  });

  it('rolls back when the IPAM plugin fails, and reports its error', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    const config = bridgeConfig(fx, {}, [
      [{ subnet: '10.203.0.0/24', rangeStart: '10.203.0.10', rangeEnd: '10.203.0.10' }],
    ]);
    expectOk(call('ADD', ns.path, config, 'first'));
    const ns2 = fx.scratch.namespace();
    const full = call('ADD', ns2.path, config, 'second');
    expect(full.exitCode).not.toBe(0);
    expect(full.json?.msg).toMatch(/10\.203\.0\.10/);
    expect(linkExists('eth0', ns2.name)).toBe(false);
    expect(hostVethsOn(fx.bridge)).toHaveLength(1);

    const missingIpam = call('ADD', ns2.path, { ...config, ipam: { type: 'no-such-ipam' } }, 'third');
    expect(missingIpam.exitCode).not.toBe(0);
    expect(missingIpam.json?.code).toBe(7);
    expect(missingIpam.json?.msg).toContain('no-such-ipam');
  });

  it('applies mtu, hairpin, port isolation, a requested MAC and promiscuous mode', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    const config = bridgeConfig(fx, { mtu: 1400, hairpinMode: true, portIsolation: true });
    (config as Record<string, unknown>).runtimeConfig = { mac: '0a:58:0a:c9:00:99' };
    const result = expectOk(call('ADD', ns.path, config));
    const hostVeth = (result.interfaces as Array<{ name: string }>)[1]!.name;
    const [inner] = ipJson<IpAddrInfo[]>(['link', 'show', 'eth0'], ns.name);
    expect(inner?.mtu).toBe(1400);
    expect(inner?.address).toBe('0a:58:0a:c9:00:99');
    const details = sh('ip', ['-d', 'link', 'show', hostVeth]);
    expect(details).toMatch(/hairpin on/);
    expect(details).toMatch(/isolated on/);
    expectOk(call('DEL', ns.path, { ...config, prevResult: result }));

    const fx2 = fixture();
    const ns2 = fx2.scratch.namespace();
    const promisc = expectOk(call('ADD', ns2.path, bridgeConfig(fx2, { promiscMode: true })));
    expect(sh('ip', ['link', 'show', fx2.bridge])).toMatch(/PROMISC/);
    expectOk(call('DEL', ns2.path, { ...bridgeConfig(fx2, { promiscMode: true }), prevResult: promisc }));
    fx.scratch.cleanup();
  });

  it.skipIf(!kernelHasVlanFiltering())(
    'puts the port in a VLAN with vlan filtering on the bridge (skipped where the kernel lacks bridge VLAN filtering)',
    () => {
      const fx = fixture();
      const ns = fx.scratch.namespace();
      const config = bridgeConfig(fx, { vlan: 100, preserveDefaultVlan: false });
      const result = expectOk(call('ADD', ns.path, config));
      const hostVeth = (result.interfaces as Array<{ name: string }>)[1]!.name;
      expect(sh('ip', ['-d', 'link', 'show', fx.bridge])).toMatch(/vlan_filtering 1/);
      const vlans = sh('bridge', ['vlan', 'show', 'dev', hostVeth]);
      expect(vlans).toMatch(/100 PVID Egress Untagged/);
      expect(vlans).not.toMatch(/\b1 PVID/);
      expectOk(call('DEL', ns.path, { ...config, prevResult: result }));
    },
  );

  it('leaves the container interface down and unaddressed with disableContainerInterface', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    const config = bridgeConfig(fx, { disableContainerInterface: true });
    const result = expectOk(call('ADD', ns.path, config));
    const [inner] = ipJson<IpAddrInfo[]>(['addr', 'show', 'eth0'], ns.name);
    expect(inner?.flags).not.toContain('UP');
    expect(inner?.addr_info.filter((a) => a.family === 'inet')).toEqual([]);
    expectOk(call('CHECK', ns.path, { ...config, prevResult: result }));
    expectOk(call('DEL', ns.path, { ...config, prevResult: result }));
  });

  it('refuses a bridge that holds a different gateway address unless forceAddress is set', () => {
    const fx = fixture();
    sh('ip', ['link', 'add', fx.bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', '10.201.0.77/24', 'dev', fx.bridge]);
    const ns = fx.scratch.namespace();
    const refused = call('ADD', ns.path, bridgeConfig(fx));
    expect(refused.exitCode).not.toBe(0);
    expect(refused.json?.msg).toMatch(/different/);
    expect(storeEntries(fx)).toEqual([]);
    const forced = expectOk(call('ADD', ns.path, bridgeConfig(fx, { forceAddress: true })));
    expect(linkAddresses(fx.bridge)).toContain('10.201.0.1/24');
    expect(linkAddresses(fx.bridge)).not.toContain('10.201.0.77/24');
    expectOk(call('DEL', ns.path, { ...bridgeConfig(fx, { forceAddress: true }), prevResult: forced }));
  });

  it('GC releases attachments that are not in the valid list and keeps the others', () => {
    const fx = fixture();
    const keep = fx.scratch.namespace();
    const drop = fx.scratch.namespace();
    const config = bridgeConfig(fx);
    expectOk(call('ADD', keep.path, config, 'keep-me'));
    expectOk(call('ADD', drop.path, config, 'drop-me'));
    expect(storeEntries(fx).sort()).toEqual(['10.201.0.2', '10.201.0.3']);
    sh('ip', ['netns', 'del', drop.name]);
    expectOk(
      call('GC', '', {
        ...config,
        'cni.dev/valid-attachments': [{ containerID: 'keep-me', ifname: 'eth0' }],
      }),
    );
    expect(storeEntries(fx)).toEqual(['10.201.0.2']);
    expect(masqueradeMentions('10.201.0.2')).toBe(true);
    expect(masqueradeMentions('10.201.0.3')).toBe(false);
    expectOk(call('DEL', keep.path, config, 'keep-me'));
  });

  it('answers STATUS, and converts its result to an older cniVersion', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace();
    expectOk(call('STATUS', '', bridgeConfig(fx)));
    const old = { ...bridgeConfig(fx), cniVersion: '0.2.0' };
    const result = expectOk(call('ADD', ns.path, old));
    expect(result).toMatchObject({
      cniVersion: '0.2.0',
      ip4: { ip: '10.201.0.2/24', gateway: '10.201.0.1' },
    });
    const v040 = { ...bridgeConfig(fx), cniVersion: '0.4.0' };
    const ns2 = fx.scratch.namespace();
    const r040 = expectOk(call('ADD', ns2.path, v040, 'other'));
    expect((r040.ips as Array<{ version: string }>)[0]!.version).toBe('4');
    expectOk(call('DEL', ns.path, old));
    expectOk(call('DEL', ns2.path, { ...v040, prevResult: r040 }, 'other'));
    expect(readdirSync(join(fx.dataDir, fx.network)).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(readFileSync(join(fx.dataDir, fx.network, 'last_reserved_ip.0'), 'utf8')).toBe('10.201.0.3');
  });
});

describe.skipIf(isRoot)('bridge plugin on the real kernel (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
