/**
 * Networks on the real kernel: the bridge, its gateway addresses, uplink and forwarding, as a
 * user observes them with `ip` and /proc/sys; concurrent creators racing for one bridge.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { isPlatformError } from '../../platform/errors.ts';
import type { NetworkSpec } from '../../platform/types.ts';
import {
  type IpAddrInfo,
  ipJson,
  isRoot,
  linkExists,
  sh,
  skipReason,
  uniqueName,
} from '../support/kernel.ts';
import {
  cleanupLinuxFixtures,
  globalAddresses,
  kernelHasVlanFiltering,
  linuxFixture,
  networkSpec,
  noVlanFilteringReason,
  platform,
} from './linux-fixture.ts';

afterEach(cleanupLinuxFixtures);

const repoRoot = resolve(__dirname, '..', '..');

function bridgeInfo(name: string): IpAddrInfo & { linkinfo?: { info_kind?: string } } {
  const [info] = ipJson<Array<IpAddrInfo & { linkinfo?: { info_kind?: string } }>>([
    '-d',
    'link',
    'show',
    name,
  ]);
  return info!;
}

/** Run ensureNetwork(spec) in `count` separate processes at once; resolves with their exit codes and stderr. */
async function ensureInProcesses(
  spec: NetworkSpec,
  count: number,
): Promise<Array<{ code: number; stderr: string }>> {
  const dir = mkdtempSync(join(tmpdir(), 'crosscni-ensure-'));
  try {
    const script = join(dir, 'ensure.cjs');
    buildSync({
      stdin: {
        contents:
          "import { ensureNetwork } from './linux/network.ts';\n" +
          'ensureNetwork(JSON.parse(process.argv[2])).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });\n',
        resolveDir: repoRoot,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: script,
      external: ['netlink', 'koffi'],
      logLevel: 'silent',
    });
    const env = { ...process.env, NODE_PATH: join(repoRoot, 'node_modules') };
    return await Promise.all(
      Array.from({ length: count }, () => {
        const child = spawn(process.execPath, [script, JSON.stringify(spec)], {
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        return new Promise<{ code: number; stderr: string }>((done) =>
          child.on('close', (code) => done({ code: code ?? -1, stderr })),
        );
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!isRoot)('linux networks on the real kernel', () => {
  it('creates the bridge up with its gateway address and forwarding, and reports it', async () => {
    const fx = linuxFixture('10.213');
    const state = await platform.ensureNetwork(networkSpec(fx));
    const info = bridgeInfo(fx.bridge);
    expect(info.linkinfo?.info_kind).toBe('bridge');
    expect(info.flags).toContain('UP');
    expect(globalAddresses(fx.bridge)).toContain('10.213.0.1/24');
    expect(sh('cat', ['/proc/sys/net/ipv4/ip_forward']).trim()).toBe('1');
    expect(sh('cat', [`/proc/sys/net/ipv6/conf/${fx.bridge}/accept_ra`]).trim()).toBe('0');
    expect(state).toMatchObject({ name: fx.network, deviceName: fx.bridge, mac: info.address, mtu: 1500 });
    expect(state.hostAddresses).toEqual(['10.213.0.1/24']);
    expect(Number(state.id)).toBeGreaterThan(0);

    const again = await platform.ensureNetwork(networkSpec(fx));
    expect(again).toEqual(state);
    expect(await platform.inspectNetwork(fx.network, fx.bridge)).toEqual(state);
  });

  it('applies MTU and promiscuous mode at creation', async () => {
    const fx = linuxFixture('10.213');
    await platform.ensureNetwork(networkSpec(fx, { mtu: 1400, promiscuous: true, hostAddresses: [] }));
    const info = bridgeInfo(fx.bridge);
    expect(info.mtu).toBe(1400);
    expect(info.flags).toContain('PROMISC');
  });

  it.skipIf(!kernelHasVlanFiltering)('turns on VLAN filtering, also on an existing bridge', async () => {
    const fx = linuxFixture('10.213');
    sh('ip', ['link', 'add', fx.bridge, 'type', 'bridge']);
    await platform.ensureNetwork(networkSpec(fx, { vlanFiltering: true }));
    expect(sh('ip', ['-d', 'link', 'show', fx.bridge])).toMatch(/vlan_filtering 1/);
  });

  it('survives many concurrent creators in one process: one bridge, every call succeeds', async () => {
    const fx = linuxFixture('10.213');
    const states = await Promise.all(
      Array.from({ length: 16 }, () => platform.ensureNetwork(networkSpec(fx))),
    );
    expect(new Set(states.map((s) => s.id)).size).toBe(1);
    expect(globalAddresses(fx.bridge)).toEqual(['10.213.0.1/24']);
  });

  it('survives 16 concurrent creators in separate processes', async () => {
    const fx = linuxFixture('10.213');
    const results = await ensureInProcesses(networkSpec(fx), 16);
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    expect(bridgeInfo(fx.bridge).linkinfo?.info_kind).toBe('bridge');
    expect(
      ipJson<IpAddrInfo[]>(['link', 'show', 'type', 'bridge']).filter((l) => l.ifname === fx.bridge),
    ).toHaveLength(1);
    expect(globalAddresses(fx.bridge)).toEqual(['10.213.0.1/24']);
  });

  it('refuses a bridge holding a different IPv4 address unless forceAddress replaces it', async () => {
    const fx = linuxFixture('10.213');
    sh('ip', ['link', 'add', fx.bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', '10.213.0.77/24', 'dev', fx.bridge]);
    const refused = await platform.ensureNetwork(networkSpec(fx)).catch((e: unknown) => e);
    expect(isPlatformError(refused, 'conflict')).toBe(true);
    expect((refused as Error).message).toMatch(
      new RegExp(`${fx.bridge} already has an IP address different from 10.213.0.1/24`),
    );
    expect(globalAddresses(fx.bridge)).toEqual(['10.213.0.77/24']);

    await platform.ensureNetwork(networkSpec(fx, { forceAddress: true }));
    expect(globalAddresses(fx.bridge)).toEqual(['10.213.0.1/24']);
  });

  it('lets non-overlapping IPv6 addresses coexist and refuses an overlapping one', async () => {
    const fx = linuxFixture('10.213');
    const v6 = { forwardFamilies: [6] as Array<4 | 6> };
    await platform.ensureNetwork(networkSpec(fx, { ...v6, hostAddresses: ['fd00:1::1/64'] }));
    await platform.ensureNetwork(networkSpec(fx, { ...v6, hostAddresses: ['fd00:2::1/64'] }));
    expect(globalAddresses(fx.bridge)).toEqual(expect.arrayContaining(['fd00:1::1/64', 'fd00:2::1/64']));
    const overlap = await platform
      .ensureNetwork(networkSpec(fx, { ...v6, hostAddresses: ['fd00:2::7/64'] }))
      .catch((e: unknown) => e);
    expect(isPlatformError(overlap, 'conflict')).toBe(true);
  });

  it('keeps every address the spec lists (two IPv4 gateways are not a conflict with each other)', async () => {
    const fx = linuxFixture('10.213');
    await platform.ensureNetwork(networkSpec(fx, { hostAddresses: ['10.213.0.1/24', '10.216.0.1/24'] }));
    await platform.ensureNetwork(networkSpec(fx, { hostAddresses: ['10.213.0.1/24', '10.216.0.1/24'] }));
    expect(globalAddresses(fx.bridge).sort()).toEqual(['10.213.0.1/24', '10.216.0.1/24']);
  });

  it('enslaves and brings up the uplink in l2bridge mode; a missing uplink is not-found', async () => {
    const fx = linuxFixture('10.213');
    const uplink = fx.scratch.link(uniqueName('ctup'));
    sh('ip', ['link', 'add', uplink, 'type', 'veth', 'peer', 'name', `${uplink}p`]);
    await platform.ensureNetwork(networkSpec(fx, { mode: 'l2bridge', uplink, hostAddresses: [] }));
    const [info] = ipJson<IpAddrInfo[]>(['link', 'show', uplink]);
    expect(info?.master).toBe(fx.bridge);
    expect(info?.flags).toContain('UP');

    const missing = await platform
      .ensureNetwork(networkSpec(fx, { mode: 'l2bridge', uplink: 'ctnosuchup', hostAddresses: [] }))
      .catch((e: unknown) => e);
    expect(isPlatformError(missing, 'not-found')).toBe(true);
    expect((missing as Error).message).toContain('ctnosuchup');
  });

  it('refuses a device of the same name that is not a bridge, and never deletes it', async () => {
    const fx = linuxFixture('10.213');
    sh('ip', ['link', 'add', fx.bridge, 'type', 'veth', 'peer', 'name', `${fx.bridge.slice(0, 13)}p`]);
    const refused = await platform.ensureNetwork(networkSpec(fx)).catch((e: unknown) => e);
    expect(isPlatformError(refused, 'conflict')).toBe(true);
    expect((refused as Error).message).toMatch(
      new RegExp(`device ${fx.bridge} exists but is a veth device, not a bridge`),
    );
    expect(await platform.inspectNetwork(fx.network, fx.bridge)).toBeUndefined();
    await platform.deleteNetwork(fx.network, fx.bridge);
    expect(linkExists(fx.bridge)).toBe(true);
  });

  it('refuses invalid bridge names', async () => {
    const fx = linuxFixture('10.213');
    for (const deviceName of ['', 'a/b', 'x'.repeat(16), 'has space']) {
      const e = await platform.ensureNetwork(networkSpec(fx, { deviceName })).catch((x: unknown) => x);
      expect(isPlatformError(e, 'invalid')).toBe(true);
    }
  });

  it('deletes the bridge and the network netfilter tables; idempotent', async () => {
    const fx = linuxFixture('10.213');
    await platform.ensureNetwork(networkSpec(fx));
    await platform.deleteNetwork(fx.network, fx.bridge);
    expect(linkExists(fx.bridge)).toBe(false);
    expect(await platform.inspectNetwork(fx.network, fx.bridge)).toBeUndefined();
    await platform.deleteNetwork(fx.network, fx.bridge);
  });
});

describe.skipIf(isRoot)('linux networks on the real kernel (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});

describe.skipIf(!isRoot || kernelHasVlanFiltering)('linux network VLAN filtering (skipped)', () => {
  it.skip(noVlanFilteringReason, () => {});
});
