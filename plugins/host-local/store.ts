/**
 * The host-local store on disk, byte-compatible with the reference (backend/disk/backend.go):
 * `<dataDir>/<network>/<ip>` holding "<containerID>\r\n<ifname>" (mode 0644),
 * `last_reserved_ip.<set>` holding the last address handed out from range set <set>, and
 * `lock`, taken with flock by whoever changes the directory. Nothing else is kept, so a node
 * can switch between the suites, or run both, on one directory. Callers hold the lock; this
 * module only reads and writes files.
 *
 * Beyond the reference: a reservation is written to a temporary file, synced, then linked to
 * its final name (link(2) fails if the name exists, like the reference's O_EXCL create), so a
 * crash never leaves a torn or empty reservation and another container's file is never
 * overwritten; last_reserved_ip is replaced by rename for the same reason. The directory is
 * not synced after a link: a reservation lost to a power cut belonged to a container that
 * did not survive it either.
 *
 * There is deliberately no index of attachments: the reference plugin may add or remove
 * address files behind one, so only a directory scan can answer "everything this attachment
 * holds" (DEL) or "does it hold anything" (ADD's duplicate check). A scan reads one small file
 * per reserved address, as the reference does.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { formatIp, type IpAddress, parseIp } from '../../platform/cidr.ts';
import type { AttachmentId } from '../../platform/contract.ts';

/** backend.go's LineBreak, between the container id and the interface name. */
export const LINE_BREAK = '\r\n';
const LAST_RESERVED_PREFIX = 'last_reserved_ip.';
const TEMP_PREFIX = '.tmp-';
/** Modes the reference creates its files with (before the umask). */
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
/** go-filemutex, which the reference locks with, creates the lock file 0750. */
const LOCK_MODE = 0o750;
/** Temporary files older than this are debris of a killed process. */
const STALE_TEMP_MS = 60_000;

/** On Windows ':' cannot appear in a file name; the reference replaces it with '_'. */
export function fileNameOf(ip: IpAddress): string {
  const text = formatIp(ip);
  return process.platform === 'win32' ? text.replaceAll(':', '_') : text;
}

function ipOfFileName(name: string): IpAddress | undefined {
  return parseIp(process.platform === 'win32' ? name.replaceAll('_', ':') : name);
}

/** The bytes of an address file: strings.TrimSpace(id) + LineBreak + ifname. */
export function ownerText(attachment: AttachmentId): string {
  return `${attachment.containerId.trim()}${LINE_BREAK}${attachment.ifname}`;
}

/** The owner recorded in an address file; the reference's pre-0.7 format holds only the id. */
export function parseOwner(text: string): AttachmentId | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const lineBreak = trimmed.indexOf(LINE_BREAK);
  if (lineBreak < 0) return { containerId: trimmed, ifname: '' };
  return { containerId: trimmed.slice(0, lineBreak), ifname: trimmed.slice(lineBreak + LINE_BREAK.length) };
}

function isExactOwner(held: AttachmentId, owner: AttachmentId): boolean {
  return held.containerId === owner.containerId.trim() && held.ifname === owner.ifname;
}

/** A file of the id-only format, written by the same container (any interface). */
function isLegacyOwner(held: AttachmentId, owner: AttachmentId): boolean {
  return held.ifname === '' && held.containerId === owner.containerId.trim();
}

/**
 * Whether the process named in a temporary file's name (".tmp-<pid>-<random>") may still be
 * writing it. Unknown (no pid, or one we may not signal) counts as alive; a recycled pid only
 * delays the cleanup to the age rule.
 */
function writerAlive(tempFile: string): boolean {
  const pid = Number(/^\.tmp-(\d+)-/.exec(tempFile)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function tempName(): string {
  return `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Create `path` exclusively with `data`, synced to disk; on failure remove it again. */
function writeSynced(path: string, data: string): void {
  const fd = openSync(path, 'wx', FILE_MODE);
  try {
    try {
      const bytes = Buffer.from(data);
      // writeSync may write less than asked (ENOSPC part-way); a short file must never
      // become a reservation.
      if (writeSync(fd, bytes) !== bytes.length) throw new Error(`short write to ${path}`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    unlinkSync(path);
    throw e;
  }
}

export interface StoredAllocation {
  ip: IpAddress;
  owner: AttachmentId;
}

export class DiskStore {
  readonly dir: string;

  constructor(dataDir: string, network: string) {
    this.dir = join(dataDir, network);
  }

  get lockPath(): string {
    return join(this.dir, 'lock');
  }

  /** Create the network directory and its lock file as the reference does (disk.New). */
  ensureDirectory(): void {
    mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
    // Creating the lock file here (the platform's lock would create it 0600) keeps the
    // directory identical to one the reference made.
    closeSync(openSync(this.lockPath, constants.O_RDONLY | constants.O_CREAT, LOCK_MODE));
  }

  /** Claim `ip` for `owner`; false when the address is already held. */
  reserve(ip: IpAddress, owner: AttachmentId, rangeSetIndex: number): boolean {
    const final = join(this.dir, fileNameOf(ip));
    // Skipping held addresses costs one stat instead of a synced temporary file each: on a
    // nearly full range the search may pass hundreds. The link below stays the authority.
    if (existsSync(final)) return false;
    const temp = join(this.dir, tempName());
    writeSynced(temp, ownerText(owner));
    try {
      linkSync(temp, final);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      unlinkSync(temp);
    }
    try {
      this.recordLastReserved(ip, rangeSetIndex);
    } catch (e) {
      // The caller sees a failed reservation, so none may remain (the reference would keep it).
      unlinkSync(final);
      throw e;
    }
    return true;
  }

  /**
   * Like the reference, every reservation moves the round-robin position, even one that is
   * rolled back later. Replaced by rename, so a reader never sees a torn address.
   */
  private recordLastReserved(ip: IpAddress, rangeSetIndex: number): void {
    const temp = join(this.dir, tempName());
    writeSynced(temp, formatIp(ip));
    try {
      renameSync(temp, join(this.dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`));
    } catch (e) {
      unlinkSync(temp);
      throw e;
    }
  }

  lastReserved(rangeSetIndex: number): IpAddress | undefined {
    try {
      return parseIp(readFileSync(join(this.dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  /** Who holds `ip`, or undefined. Reads one file. */
  ownerOf(ip: IpAddress): AttachmentId | undefined {
    try {
      return parseOwner(readFileSync(join(this.dir, fileNameOf(ip)), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** The reserved addresses, from the file names alone (no file is read). */
  reservedAddresses(): IpAddress[] {
    return this.names().flatMap((name) => ipOfFileName(name) ?? []);
  }

  /** Every allocation in the directory (reads each address file). */
  all(): StoredAllocation[] {
    const out: StoredAllocation[] = [];
    for (const name of this.names()) {
      const ip = ipOfFileName(name);
      if (!ip) continue;
      let owner: AttachmentId | undefined;
      try {
        owner = parseOwner(readFileSync(join(this.dir, name), 'utf8'));
      } catch {
        continue;
      }
      if (owner) out.push({ ip, owner });
    }
    return out;
  }

  /** Addresses held by `owner`, in either file format (the reference's GetByID). */
  addressesOf(owner: AttachmentId): IpAddress[] {
    return this.all()
      .filter((a) => isExactOwner(a.owner, owner) || isLegacyOwner(a.owner, owner))
      .map((a) => a.ip);
  }

  /**
   * Whether `owner` holds any address (the reference's FindByID). `hints` (prevResult's
   * addresses) are looked at first: one file read instead of a scan in the usual case.
   */
  holdsAny(owner: AttachmentId, hints: IpAddress[] = []): boolean {
    const held = (ip: IpAddress) => {
      const o = this.ownerOf(ip);
      return o !== undefined && (isExactOwner(o, owner) || isLegacyOwner(o, owner));
    };
    return hints.some(held) || this.addressesOf(owner).length > 0;
  }

  /**
   * Release every address `owner` holds (the reference's ReleaseByID): files of the current
   * format, or, only when there are none, id-only files of that container. Returns them.
   */
  release(owner: AttachmentId): IpAddress[] {
    const all = this.all();
    let mine = all.filter((a) => isExactOwner(a.owner, owner));
    if (mine.length === 0) mine = all.filter((a) => isLegacyOwner(a.owner, owner));
    return mine.flatMap((a) => (this.unlink(a.ip) ? [a.ip] : []));
  }

  /**
   * Release the given addresses if their files still name `owner` exactly (undoing a failed
   * ADD, or GC of one entry); any other file is left alone. Returns what was released.
   */
  releaseAddresses(owner: AttachmentId, ips: IpAddress[]): IpAddress[] {
    return ips.filter((ip) => {
      const held = this.ownerOf(ip);
      return held !== undefined && isExactOwner(held, owner) && this.unlink(ip);
    });
  }

  /**
   * Remove temporary files left by killed processes: at once when the process that wrote one
   * is gone (a SIGKILLed ADD between writing and linking its reservation; GC right after must
   * leave nothing), else once older than a minute.
   */
  removeDebris(nowMs = Date.now()): void {
    for (const name of this.names()) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      try {
        if (!writerAlive(name) || nowMs - statSync(join(this.dir, name)).mtimeMs > STALE_TEMP_MS)
          unlinkSync(join(this.dir, name));
      } catch {
        // raced with another cleaner
      }
    }
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }

  private unlink(ip: IpAddress): boolean {
    try {
      unlinkSync(join(this.dir, fileNameOf(ip)));
      return true;
    } catch {
      return false;
    }
  }
}
