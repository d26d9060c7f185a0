/**
 * `crosscni doctor` on a real Linux host (root): the host checks come out as ok/warn/fail lines,
 * and leftovers planted in temporary data and cache dirs — an IPAM reservation and a cache entry
 * of a container whose netns is gone — are reported, while those of a live attachment (netns
 * present) are not; and a tagged host veth of that network on a bridge whose attachment has no
 * cache entry is, while the live attachment's tagged veth is not. Runs the CLI in-process; only
 * temporary directories and the host's sysfs are read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostPortAlias } from '../../linux/host-port-tag.ts';
import { runCli } from '../../runtime/cli-main.ts';
import type { DoctorReport, Leftover } from '../../runtime/doctor.ts';
import { ResultCache } from '../../runtime/result-cache.ts';
import { KernelScratch, sh, uniqueName } from '../support/kernel.ts';

const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
const scratch = new KernelScratch();

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  scratch.cleanup();
});

interface Host {
  bin: string;
  conf: string;
  data: string;
  cache: string;
}

// Unique: doctor reads the whole host's veths, and other tests' networks must not be this one.
const NETWORK = uniqueName('doctornet');
const STALE_ID = 'stale0123456789';
const LIVE_ID = 'live0123456789';
const GONE_NETNS = '/run/netns/crosscni-doctor-gone-0f3a';

async function plantHost(): Promise<Host> {
  const root = mkdtempSync(join(tmpdir(), 'crosscni-doctor-'));
  dirs.push(root);
  const host = {
    bin: join(root, 'bin'),
    conf: join(root, 'net.d'),
    data: join(root, 'networks'),
    cache: join(root, 'cache'),
  };
  for (const dir of Object.values(host)) mkdirSync(dir, { recursive: true });
  for (const plugin of ['loopback', 'bridge', 'host-local']) {
    writeFileSync(join(host.bin, plugin), '#!/bin/sh\n', { mode: 0o755 });
  }
  const conflist = { cniVersion: '1.1.0', name: NETWORK, plugins: [{ type: 'loopback' }] };
  writeFileSync(join(host.conf, '10-doctor.conflist'), JSON.stringify(conflist));
  const ipam = join(host.data, NETWORK);
  mkdirSync(ipam);
  writeFileSync(join(ipam, '10.77.0.5'), `${STALE_ID}\r\neth0`);
  writeFileSync(join(ipam, '10.77.0.6'), `${LIVE_ID}\r\neth0`);
  writeFileSync(join(ipam, 'last_reserved_ip.0'), '10.77.0.6');
  const cache = new ResultCache(host.cache);
  const config = Buffer.from(JSON.stringify(conflist));
  await cache.write({ containerId: STALE_ID, ifname: 'eth0', network: NETWORK, netns: GONE_NETNS, config });
  // A netns path that certainly exists: this process's own.
  await cache.write({
    containerId: LIVE_ID,
    ifname: 'eth0',
    network: NETWORK,
    netns: '/proc/self/ns/net',
    config,
  });
  return host;
}

/** Leftovers of this test's network: doctor also sees the veths other tests make meanwhile. */
function ours(report: DoctorReport): Leftover[] {
  return report.leftovers.filter((l) => l.network === NETWORK);
}

/** A veth pair on `bridge` whose host end carries the tag of NETWORK's attachment `containerId`/eth0. */
function taggedVeth(bridge: string, containerId: string): string {
  const veth = scratch.link(uniqueName('dvp'));
  sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`]);
  sh('ip', ['link', 'set', veth, 'master', bridge]);
  sh('ip', ['link', 'set', veth, 'alias', hostPortAlias(NETWORK, { containerId, ifname: 'eth0' })]);
  return veth;
}

async function doctor(
  host: Host,
  ...extra: string[]
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const argv = ['doctor', '--bin-dir', host.bin, '--conf-dir', host.conf, '--data-dir', host.data];
  const status = await runCli({
    argv: [...argv, '--cache-dir', host.cache, ...extra],
    env: { PATH: process.env.PATH },
    io: {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
    },
  });
  return { status, stdout, stderr };
}

describe.skipIf(!isRoot)('crosscni doctor', () => {
  it('reports the stale IPAM reservation and cache entry, and not the live ones (--json)', async () => {
    const host = await plantHost();
    const run = await doctor(host, '--json');
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    const names = report.checks.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['root', 'kernel networking', 'ip_forward', 'bin dir', 'conf dir']),
    );
    for (const check of report.checks) expect(['ok', 'warn', 'fail']).toContain(check.status);
    expect(report.checks.find((c) => c.name === 'bin dir')?.status).toBe('ok');
    expect(report.checks.find((c) => c.name === 'conf dir')).toMatchObject({ status: 'ok' });
    expect(ours(report)).toHaveLength(2);
    expect(ours(report)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'cache', containerId: STALE_ID, network: NETWORK }),
        expect.objectContaining({
          kind: 'ipam',
          containerId: STALE_ID,
          path: join(host.data, NETWORK, '10.77.0.5'),
        }),
      ]),
    );
    expect(report.leftovers.find((l) => l.kind === 'cache')?.reason).toContain(GONE_NETNS);
  });

  it('prints readable lines, and exits 1 with a fix when a check fails', async () => {
    const host = await plantHost();
    const ok = await doctor(host);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^OK +root: running as root$/m);
    expect(ok.stdout).toMatch(/^\d+ leftover\(s\):$/m);
    expect(ok.stdout).toContain(`fix: crosscni gc ${NETWORK}`);

    rmSync(join(host.bin, 'bridge'));
    rmSync(join(host.conf, '10-doctor.conflist'));
    const failed = await doctor(host);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/^FAIL +bin dir: .* lacks bridge$/m);
    expect(failed.stdout).toContain(`fix: crosscni install --bin-dir ${host.bin}`);
    expect(failed.stdout).toMatch(/^FAIL +conf dir: no loadable network configuration/m);
  });
});

describe.skipIf(!isRoot)('crosscni doctor: stale veths', () => {
  it('lists a tagged veth on a bridge whose attachment has no cache entry, with the GC that removes it', async () => {
    const host = await plantHost();
    const bridge = scratch.link(uniqueName('dbr'));
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    // ORPHAN's reservation names the container; GHOST has neither a reservation nor a cache entry.
    const orphanId = 'orphan0123456789';
    writeFileSync(join(host.data, NETWORK, '10.77.0.7'), `${orphanId}\r\neth0`);
    const orphan = taggedVeth(bridge, orphanId);
    const ghost = taggedVeth(bridge, 'ghost0123456789');
    const live = taggedVeth(bridge, LIVE_ID);
    // Cached, with its netns gone: the cache leftover's DEL is its fix, not a second entry.
    const cached = taggedVeth(bridge, STALE_ID);

    const run = await doctor(host, '--json');
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const veths = ours(JSON.parse(run.stdout) as DoctorReport).filter((l) => l.kind === 'endpoint');
    expect(veths.map((l) => l.path).sort()).toEqual([orphan, ghost].sort());
    expect(veths.find((l) => l.path === orphan)).toMatchObject({
      network: NETWORK,
      containerId: orphanId,
      ifname: 'eth0',
      fix: expect.stringContaining(`crosscni gc ${NETWORK}`),
    });
    expect(veths.find((l) => l.path === orphan)?.reason).toContain(`bridge ${bridge}`);
    expect(veths.find((l) => l.path === ghost)?.containerId).toBeUndefined();
    expect(veths.map((l) => l.path)).not.toContain(live);
    expect(veths.map((l) => l.path)).not.toContain(cached);

    const text = await doctor(host);
    expect(text.stdout).toMatch(new RegExp(`^  endpoint +${orphan}: host veth on bridge ${bridge}`, 'm'));
  });
});

describe.skipIf(isRoot)('crosscni doctor (needs root)', () => {
  it.skip('runs as root only: the kernel and leftover checks read root-owned state', () => undefined);
});
