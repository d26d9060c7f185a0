// Crash safety of the disk store under failing file operations: a write that stops short, a
// failed link or rename, at each step of a reservation (nothing is fsynced: see store.ts). Whatever fails, the directory
// never holds a torn or empty reservation, a reservation without its last_reserved_ip update,
// or a temporary file, and the address can be reserved again at once. (Processes killed with
// SIGKILL mid-reservation are covered by test/linux/ipam-concurrency.test.ts.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiskStore } from '../../../plugins/host-local/store.ts';
import { ip, owner, TempDirs } from './ipam-fixture.ts';

type FaultOp = 'openSync' | 'writeSync' | 'shortWrite' | 'linkSync' | 'renameSync';

/** The next call number `call` (0-based) of `op` fails; `calls` counts them. */
const fault = vi.hoisted(() => ({ op: '', call: -1, calls: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const failing = (op: string) => {
    if (fault.op !== op) return false;
    return fault.calls++ === fault.call;
  };
  const injected = (op: string) => Object.assign(new Error(`injected ${op} failure`), { code: 'EIO' });
  const patched = {
    ...fs,
    openSync: ((...args: Parameters<typeof fs.openSync>) => {
      // Only the store's exclusive creates count ('wx'); reads and the lock file do not.
      if (args[1] === 'wx' && failing('openSync')) throw injected('openSync');
      return fs.openSync(...args);
    }) as typeof fs.openSync,
    writeSync: ((fd: number, buffer: Uint8Array) => {
      if (failing('writeSync')) throw injected('writeSync');
      // A disk filling up part-way: only the first three bytes land.
      if (failing('shortWrite')) return fs.writeSync(fd, buffer.subarray(0, 3));
      return fs.writeSync(fd, buffer);
    }) as typeof fs.writeSync,
    linkSync: ((from: string, to: string) => {
      if (failing('linkSync')) throw injected('linkSync');
      fs.linkSync(from, to);
    }) as typeof fs.linkSync,
    renameSync: ((from: string, to: string) => {
      if (failing('renameSync')) throw injected('renameSync');
      fs.renameSync(from, to);
    }) as typeof fs.renameSync,
  };
  return { ...patched, default: patched };
});

const dirs = new TempDirs();
afterEach(() => {
  fault.op = '';
  dirs.cleanup();
});

/** Each operation, and which of its calls in one reservation to fail (reservation, then last_reserved). */
const FAULTS: Array<[FaultOp, number]> = [
  ['openSync', 0],
  ['openSync', 1],
  ['writeSync', 0],
  ['writeSync', 1],
  ['shortWrite', 0],
  ['shortWrite', 1],
  ['linkSync', 0],
  ['renameSync', 0],
];

describe('DiskStore under failing file operations', () => {
  it.each(FAULTS)('%s failing on call %i leaves the store as it was', (op, call) => {
    const store = new DiskStore(dirs.make(), 'faultnet');
    store.ensureDirectory();
    expect(store.reserve(ip('10.5.0.2'), owner('before'), 0)).toBe(true);
    const before = readdirSync(store.dir).sort();

    Object.assign(fault, { op, call, calls: 0 });
    expect(() => store.reserve(ip('10.5.0.3'), owner('victim'), 0)).toThrow(/injected|short write/);
    expect(fault.calls, 'the fault was reached').toBeGreaterThan(call);
    fault.op = '';

    expect(readdirSync(store.dir).sort()).toEqual(before);
    expect(readFileSync(join(store.dir, '10.5.0.2'), 'latin1')).toBe('before\r\neth0');
    expect(readFileSync(join(store.dir, 'last_reserved_ip.0'), 'latin1')).toBe('10.5.0.2');
    // Nothing half-done blocks the address.
    expect(store.reserve(ip('10.5.0.3'), owner('retry'), 0)).toBe(true);
    expect(readFileSync(join(store.dir, '10.5.0.3'), 'latin1')).toBe('retry\r\neth0');
    expect(readFileSync(join(store.dir, 'last_reserved_ip.0'), 'latin1')).toBe('10.5.0.3');
  });
});
