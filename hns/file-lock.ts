/**
 * withFileLock on Windows: the lock is the file opened with an exclusive share mode (libuv's
 * UV_FS_O_EXLOCK), which Windows releases when the handle closes or the process dies, so a killed
 * plugin never blocks the next. Waiters poll. Off Windows (the backend running on the HCN
 * emulator in tests) the flag does not exist, and exclusion holds within the process only.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PlatformError } from '../platform/errors.ts';

const POLL_MS = 20;
const TIMEOUT_MS = 60_000;

/** In-process queue per path: also orders this process's own waiters on Windows. */
const queues = new Map<string, Promise<unknown>>();

async function openExclusive(path: string): Promise<FileHandle> {
  // UV_FS_O_EXLOCK is defined (non-zero) on Windows only.
  const exlock = (constants as Record<string, number | undefined>).UV_FS_O_EXLOCK ?? 0;
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    try {
      return await open(path, constants.O_RDWR | constants.O_CREAT | exlock);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A share violation surfaces as EBUSY (or EPERM on some Node versions) while another holds it.
      if ((code !== 'EBUSY' && code !== 'EPERM') || Date.now() > deadline) {
        throw new PlatformError('io', `lock ${path}: ${(e as Error).message}`, code, { cause: e });
      }
      await sleep(POLL_MS);
    }
  }
}

export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous
    .catch(() => undefined)
    .then(async () => {
      await mkdir(dirname(path), { recursive: true });
      const handle = await openExclusive(path);
      try {
        return await fn();
      } finally {
        await handle.close();
      }
    });
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}
