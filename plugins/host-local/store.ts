/**
 * The host-local store on disk, byte-compatible with the reference (backend/disk/backend.go):
 * `<dataDir>/<network>/<ip>` holding "<containerID>\r\n<ifname>" (mode 0644),
 * `last_reserved_ip.<set>` holding the last address handed out from range set <set>, and
 * `lock`, taken with flock by whoever changes the directory. Nothing else is kept, so a node
 * can switch between the suites, or run both, on one directory. Callers hold the lock; this
 * module only reads and writes files.
 *
 * Beyond the reference: a reservation is written to a temporary file, then linked to its final
 * name (link(2) fails if the name exists, like the reference's O_EXCL create), so a crash of
 * the process never leaves a torn or empty reservation and another container's file is never
 * overwritten; last_reserved_ip is replaced by rename for the same reason.
 *
 * Durability: nothing is fsynced, like the reference. Syncing the two files of an ADD cost
 * 1-15 ms of wall time per ADD (more on a busy disk) and bought little: after a power cut the
 * containers are gone too, so a reservation lost with them is one that would have been
 * released anyway, and one that survives is released by the runtime's DEL or GC. What a power
 * cut can leave without fsync is an address file that exists but is empty (the link reached
 * the disk before the data): it names no container, so no ADD, DEL or CHECK of either suite
 * matches it, and it only keeps its address out of use until someone removes it; GC does.
 *
 * "Which addresses does this attachment hold" (ADD's duplicate check, DEL) is answered from an
 * owner index when it provably describes the directory (owner-index.ts), else by reading every
 * address file, as the reference does.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
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
import { OwnerIndex } from './owner-index.ts';

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

/** Create `path` exclusively with `data` (not synced, see above); on failure remove it again. */
function writeComplete(path: string, data: string): void {
  const fd = openSync(path, 'wx', FILE_MODE);
  try {
    try {
      const bytes = Buffer.from(data);
      // writeSync may write less than asked (ENOSPC part-way); a short file must never
      // become a reservation.
      if (writeSync(fd, bytes) !== bytes.length) throw new Error(`short write to ${path}`);
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
  private readonly index: OwnerIndex | undefined;
  /** Address file name → its content, once read (from the index or a scan); kept current. */
  private owners: Map<string, string> | undefined;
  private ownersFromIndex = false;

  constructor(dataDir: string, network: string) {
    this.dir = join(dataDir, network);
    this.index = OwnerIndex.enabled() ? new OwnerIndex(this.dir) : undefined;
  }

  /** Whether the owners were taken from a proven index rather than a scan (for tests). */
  get usedIndex(): boolean {
    return this.ownersFromIndex;
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
    writeComplete(temp, ownerText(owner));
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
    this.owners?.set(fileNameOf(ip), ownerText(owner));
    return true;
  }

  /**
   * Like the reference, every reservation moves the round-robin position, even one that is
   * rolled back later. Replaced by rename, so a reader never sees a torn address.
   */
  private recordLastReserved(ip: IpAddress, rangeSetIndex: number): void {
    const temp = join(this.dir, tempName());
    writeComplete(temp, formatIp(ip));
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

  /** Every address file's name and content, read once per operation (index or scan). */
  private ownerTexts(): Map<string, string> {
    if (this.owners) return this.owners;
    const indexed = this.index?.load();
    this.ownersFromIndex = indexed !== undefined;
    this.owners = indexed ?? this.scan();
    return this.owners;
  }

  private scan(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of this.names()) {
      if (!ipOfFileName(name)) continue;
      try {
        out.set(name, readFileSync(join(this.dir, name), 'utf8'));
      } catch {
        // removed under us (only possible without the lock)
      }
    }
    return out;
  }

  /**
   * Addresses whose file says `exact` ("<id>\r\n<ifname>"), else, when `legacy`, the id alone:
   * the reference compares strings.TrimSpace(content) the same way.
   */
  private held(owner: AttachmentId, legacy: boolean): IpAddress[] {
    const exact = ownerText(owner);
    const id = owner.containerId.trim();
    const out: IpAddress[] = [];
    for (const [name, text] of this.ownerTexts()) {
      const trimmed = text.trim();
      if (trimmed !== exact && !(legacy && trimmed === id)) continue;
      const ip = ipOfFileName(name);
      if (ip) out.push(ip);
    }
    return out;
  }

  /** Addresses held by `owner`, in either file format (the reference's GetByID). */
  addressesOf(owner: AttachmentId): IpAddress[] {
    return this.held(owner, true);
  }

  /**
   * Record the owner map in the index for the next operation. Call last, after the
   * operation's final change of the directory and before the lock is released.
   */
  saveIndex(): void {
    if (this.index && this.owners) this.index.save(this.owners);
  }

  /** Release the index file's descriptor. */
  close(): void {
    this.index?.close();
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
    const pick = () => {
      const mine = this.held(owner, false);
      return mine.length > 0 ? mine : this.held({ containerId: owner.containerId, ifname: '' }, true);
    };
    let mine = pick();
    // Belt and braces for the index: the files about to be removed must still say what it
    // says; any difference means a change it could not see, so scan instead.
    if (
      this.ownersFromIndex &&
      mine.some((ip) => this.ownerTexts().get(fileNameOf(ip)) !== this.readRaw(ip))
    ) {
      this.owners = this.scan();
      this.ownersFromIndex = false;
      mine = pick();
    }
    return mine.flatMap((ip) => (this.unlink(ip) ? [ip] : []));
  }

  private readRaw(ip: IpAddress): string | undefined {
    try {
      return readFileSync(join(this.dir, fileNameOf(ip)), 'utf8');
    } catch {
      return undefined;
    }
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
   * Remove address files that name no owner: what a power cut can leave of a reservation
   * whose link reached the disk before its data (nothing is fsynced). Under the lock no
   * writer of either suite is between its create and its write, so an empty file is debris.
   */
  releaseOwnerless(): IpAddress[] {
    const out: IpAddress[] = [];
    for (const name of this.names()) {
      const ip = ipOfFileName(name);
      if (!ip) continue;
      try {
        if (readFileSync(join(this.dir, name), 'utf8').trim() === '' && this.unlink(ip)) out.push(ip);
      } catch {
        // gone already
      }
    }
    return out;
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
      this.owners?.delete(fileNameOf(ip));
      return true;
    } catch {
      return false;
    }
  }
}
