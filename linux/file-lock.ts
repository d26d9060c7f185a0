/**
 * Exclusive file locks with flock(2): the kernel drops the lock when the holder's fd closes,
 * including when the process dies, so a killed plugin never blocks the next one. The lock is
 * taken with LOCK_NB and retried with short sleeps rather than a blocking flock, which would
 * freeze the event loop (and a long-lived host agent serving other calls with it). flock locks
 * belong to the open file, so two holders in one process also exclude each other.
 */
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { platformError } from './errors.ts';
import { flock, LOCK_EX, LOCK_NB } from './libc.ts';

const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 25;

export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (e) {
    throw platformError(e, `open lock file ${path}`, 'is its directory writable?');
  }
  try {
    let waitMs = FIRST_RETRY_MS;
    try {
      while (!flock(fd, LOCK_EX | LOCK_NB, path)) {
        await sleep(waitMs);
        waitMs = Math.min(waitMs * 2, MAX_RETRY_MS);
      }
    } catch (e) {
      throw platformError(e, `lock ${path}`);
    }
    return await fn();
  } finally {
    // Closing the only fd of the open file releases the lock.
    closeSync(fd);
  }
}
