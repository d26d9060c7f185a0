/**
 * Namespaces, loopback and file locks on the real kernel: what `ip netns` and `flock(1)` see
 * of what the platform does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isPlatformError } from '../../platform/errors.ts';
import { isRoot, sh, skipReason, trySh, uniqueName } from '../support/kernel.ts';
import { cleanupLinuxFixtures, linuxFixture, platform } from './linux-fixture.ts';

afterEach(cleanupLinuxFixtures);

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crosscni-linux-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe.skipIf(!isRoot)('linux namespaces, loopback and locks on the real kernel', () => {
  it('creates a named namespace that ip netns sees, and deletes it idempotently', async () => {
    const name = uniqueName('ctns');
    cleanups.push(() => trySh('ip', ['netns', 'del', name]));
    const path = await platform.createNamespace(name);
    expect(path).toBe(`/run/netns/${name}`);
    expect(sh('ip', ['netns', 'list'])).toContain(name);
    expect(sh('ip', ['-n', name, '-br', 'link', 'show'])).toMatch(/^lo\s/);
    // A different namespace from the host's: the host's links are not in it.
    expect(sh('ip', ['-n', name, '-br', 'link', 'show'])).not.toContain('eth0');

    const again = await platform.createNamespace(name).catch((e: unknown) => e);
    expect(isPlatformError(again, 'conflict')).toBe(true);

    await platform.deleteNamespace(path);
    expect(existsSync(path)).toBe(false);
    expect(sh('ip', ['netns', 'list'])).not.toContain(name);
    await platform.deleteNamespace(path);
    await platform.deleteNamespace(name);
  });

  it('refuses bad namespace names and paths outside /run/netns', async () => {
    for (const name of ['', 'a/b', '..', 'x'.repeat(65)]) {
      const e = await platform.createNamespace(name).catch((x: unknown) => x);
      expect(isPlatformError(e, 'invalid')).toBe(true);
    }
    const outside = await platform.deleteNamespace('/etc/hostname').catch((x: unknown) => x);
    expect(isPlatformError(outside, 'invalid')).toBe(true);
    expect(existsSync('/etc/hostname')).toBe(true);
  });

  it('says clearly when CNI_NETNS is missing, a directory or a plain file', async () => {
    const dir = scratchDir();
    const file = join(dir, 'not-a-netns');
    writeFileSync(file, '');
    const cases: Array<[string, RegExp]> = [
      ['/run/netns/ct-does-not-exist', /does not exist/],
      [dir, /is not a network namespace: it is a directory/],
      [file, /is not a network namespace: it is a file/],
      ['/proc/self/ns/mnt', /is not a network namespace/],
      ['', /CNI_NETNS is empty/],
    ];
    for (const [path, message] of cases) {
      const e = await platform.inspectLoopback(path).catch((x: unknown) => x);
      expect(isPlatformError(e, 'namespace-missing'), path).toBe(true);
      expect((e as Error).message).toMatch(message);
    }
  });

  it('brings loopback up with its addresses, and down', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    expect((await platform.inspectLoopback(ns.path)).up).toBe(false);
    await platform.setLoopback(ns.path, true);
    const up = await platform.inspectLoopback(ns.path);
    expect(up.up).toBe(true);
    expect(up.addresses).toEqual(expect.arrayContaining(['127.0.0.1/8', '::1/128']));
    expect(sh('ip', ['-n', ns.name, 'link', 'show', 'lo'])).toMatch(/UP/);
    await platform.setLoopback(ns.path, true);
    await platform.setLoopback(ns.path, false);
    expect((await platform.inspectLoopback(ns.path)).up).toBe(false);
  });

  it('file locks exclude each other in one process and run in turn', async () => {
    const lock = join(scratchDir(), 'sub', 'lock');
    const order: string[] = [];
    const holder = (name: string) =>
      platform.withFileLock(lock, async () => {
        order.push(`${name}+`);
        await sleep(30);
        order.push(`${name}-`);
        return name;
      });
    expect(await Promise.all([holder('a'), holder('b'), holder('c')])).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < order.length; i += 2) expect(order[i]!.slice(0, -1)).toBe(order[i + 1]!.slice(0, -1));
  });

  it('a file lock held by another process is taken once that process dies', async () => {
    const lock = join(scratchDir(), 'lock');
    // Its own process group, so the test can end flock(1) and its sleep together.
    const child = spawn('flock', ['--exclusive', '--close', lock, 'sleep', '60'], {
      stdio: 'ignore',
      detached: true,
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    cleanups.push(killGroup);
    // Wait until flock(1) holds it.
    for (let i = 0; i < 100 && spawnSync('flock', ['--nonblock', lock, 'true']).status === 0; i++)
      await sleep(20);
    let entered = false;
    const waiting = platform.withFileLock(lock, async () => {
      entered = true;
    });
    await sleep(150);
    expect(entered).toBe(false);
    killGroup();
    await waiting;
    expect(entered).toBe(true);
  });

  it('releases the lock when the function throws', async () => {
    const lock = join(scratchDir(), 'lock');
    await expect(
      platform.withFileLock(lock, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await platform.withFileLock(lock, async () => 'again')).toBe('again');
  });
});

describe.skipIf(isRoot)('linux namespaces, loopback and locks on the real kernel (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
