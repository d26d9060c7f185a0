/**
 * A cache of "which file names which owner" for one host-local store directory, so ADD's
 * duplicate check and DEL's release need not read every reservation file (the reference reads
 * them all: ~0.5 ms per 100 reservations warm, more in a cold process).
 *
 * The cache may only be believed when it provably describes the directory as it is now, even
 * though the reference plugin (which knows nothing of it) may have changed the directory since.
 * The proof rests on facts of the kernel, not on the reference's behaviour:
 *
 * - Every creation, removal or rename of an entry sets the directory's ctime to the file
 *   system's current time, and ctime cannot be set by user space. The reference's ADD creates
 *   a file (and, if it has none, writes last_reserved_ip); its DEL removes files.
 * - The record stores the directory's ctime C, taken under the lock after our last change of
 *   the directory. Any later change happens after we release the lock and gets a time >= C.
 *   ">=" is the trap: file system timestamps come from a clock that advances once per tick
 *   (1-10 ms), so a change right after ours can carry exactly C, and a file removed and
 *   created again under the same name in that tick (the reference's DEL, then its ADD of
 *   another container getting the same address) would go unseen. The record is therefore
 *   written into the index file in place (no entry change) *after* C was taken, and that
 *   write's own mtime P is checked on load: P > C shows the clock had already passed C while
 *   we still held the lock, so every later change of the directory carries a time > C. When
 *   the write lands in C's tick, save() waits for the tick to end (sleeping in slices and
 *   rewriting one byte of the record) before the lock is released: up to one tick of wall
 *   time, about 0.5 ms on average with HZ=1000, almost no CPU. If the clock does not move
 *   within MAX_TICK_WAIT_MS the record is left as it is and will not be believed.
 * - A record is believed only when the directory's device, inode, ctime and mtime all equal the
 *   recorded ones, P > C, and the checksum over the record matches (a torn write, a crash
 *   between writes, an index deleted or edited by hand all fail one of these). Anything else
 *   means a full scan, after which a fresh record is written.
 *
 * What it cannot see: a reservation file rewritten in place without any entry change (no
 * plugin does that; an operator editing one by hand), or a clock stepped back to exactly C.
 * DEL still reads each file it is about to remove and falls back to a scan on a mismatch.
 *
 * The file is `.crosscni-owners` (a dot file, like our temporary files); the reference never
 * reads it as a reservation (its name is not an address, its content names no container).
 * Only Linux is covered; elsewhere every operation scans, as the reference does.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export const INDEX_FILE = '.crosscni-owners';
const HEADER = 'crosscni host-local owner index v1';
const FILE_MODE = 0o644;
/** Longer than the longest kernel tick (HZ=100: 10 ms). */
const MAX_TICK_WAIT_MS = 25;
const SLEEP_SLICE_MS = 0.2;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

interface DirectoryStamp {
  dev: string;
  ino: string;
  ctimeNs: string;
  mtimeNs: string;
}

interface Record_ {
  dir: DirectoryStamp;
  /** Address file name → its bytes (owner text), exactly as read or written. */
  files: Record<string, string>;
}

function stampOf(dir: string): DirectoryStamp {
  const st = statSync(dir, { bigint: true });
  return {
    dev: String(st.dev),
    ino: String(st.ino),
    ctimeNs: String(st.ctimeNs),
    mtimeNs: String(st.mtimeNs),
  };
}

function sameStamp(a: DirectoryStamp, b: DirectoryStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.ctimeNs === b.ctimeNs && a.mtimeNs === b.mtimeNs;
}

function checksum(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The owner index of one store directory; callers hold the store's lock throughout. */
export class OwnerIndex {
  private fd: number | undefined;

  constructor(private readonly dir: string) {}

  static enabled(): boolean {
    return process.platform === 'linux';
  }

  /**
   * The directory's name → owner-text map if the record provably describes it now, else
   * undefined. Creates the index file on first use (a directory change, so that first record
   * is never believed).
   */
  load(): Map<string, string> | undefined {
    try {
      this.fd ??= openSync(join(this.dir, INDEX_FILE), constants.O_RDWR | constants.O_CREAT, FILE_MODE);
      // fstat before anything else: besides giving P, it marks the file's times as seen, so
      // on a multigrain file system our next write of it gets a fine-grained time.
      const st = fstatSync(this.fd, { bigint: true });
      const size = Number(st.size);
      if (size === 0 || size > 64 * 1024 * 1024) return undefined;
      const bytes = Buffer.alloc(size);
      if (readSync(this.fd, bytes, 0, size, 0) !== size) return undefined;
      const text = bytes.toString('utf8');
      const firstLine = text.indexOf('\n');
      const [header, sum] = text.slice(0, firstLine).split(' sha256=');
      const body = text.slice(firstLine + 1);
      if (firstLine < 0 || header !== HEADER || sum !== checksum(body)) return undefined;
      const record = JSON.parse(body) as Record_;
      if (!(st.mtimeNs > BigInt(record.dir.ctimeNs))) return undefined;
      if (!sameStamp(record.dir, stampOf(this.dir))) return undefined;
      return new Map(Object.entries(record.files));
    } catch {
      return undefined;
    }
  }

  /**
   * Record `files` as the directory's content. Call after the operation's last change of the
   * directory, still under the lock. The write is in place (no rename: that would change the
   * directory after C) and not synced: a record lost or torn by a crash fails the checks above.
   */
  save(files: Map<string, string>): void {
    try {
      this.fd ??= openSync(join(this.dir, INDEX_FILE), constants.O_RDWR | constants.O_CREAT, FILE_MODE);
      const dir = stampOf(this.dir);
      // Marks the index file's times as seen (multigrain; see the module comment).
      fstatSync(this.fd);
      const body = JSON.stringify({ dir, files: Object.fromEntries(files) } satisfies Record_);
      const bytes = Buffer.from(`${HEADER} sha256=${checksum(body)}\n${body}`);
      if (writeSync(this.fd, bytes, 0, bytes.length, 0) !== bytes.length) throw new Error('short write');
      ftruncateSync(this.fd, bytes.length);
      const recorded = BigInt(dir.ctimeNs);
      const deadline = Date.now() + MAX_TICK_WAIT_MS;
      while (fstatSync(this.fd, { bigint: true }).mtimeNs <= recorded && Date.now() < deadline) {
        sleepMs(SLEEP_SLICE_MS);
        writeSync(this.fd, bytes, 0, 1, 0);
      }
    } catch {
      // An index that could not be written is simply not believed next time.
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
