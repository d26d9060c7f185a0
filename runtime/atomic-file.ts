/**
 * Replacing a file so that no reader ever sees half of it: the bytes go to a temp file in the
 * target's own directory (rename is atomic only within one file system), are fsynced, get their
 * mode, and are renamed over the target. A runtime executing a plugin at that moment runs either
 * the old file or the new one. Writes only; deciding whether a file may be replaced is the
 * caller's job.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Temp names start with this, so a crash leaves files a later run (or a human) can recognise. */
export const TEMP_PREFIX = '.crosscni-tmp-';

export function writeFileAtomic(target: string, data: Uint8Array, mode: number): void {
  const temp = join(dirname(target), `${TEMP_PREFIX}${basename(target)}-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', mode);
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
    // The umask trims the open() mode; fchmod sets exactly what was asked (755 for executables).
    fchmodSync(fd, mode);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw e;
  }
}
