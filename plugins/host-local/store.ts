/**
 * The host-local store on disk, byte-compatible with the reference (backend/disk/backend.go):
 * `<dataDir>/<network>/<ip>` holding "<containerID>\r\n<ifname>", `last_reserved_ip.<set>`
 * holding the last address handed out from range set <set>, and `lock` taken with flock by
 * whoever changes the directory. A node can switch between the suites without losing
 * allocations.
 *
 * Beyond the reference: a reservation is written to a temporary file, synced, then linked to
 * its final name (the link fails if the address is taken), so a crash never leaves a torn or
 * empty reservation; and an index under `.crosscni/` maps each attachment to its addresses so
 * that ADD's duplicate check and DEL do not read every file in the directory (their cost must
 * not grow with the number of containers). The index is a cache: the address files stay the
 * truth, and every index hit is verified against them.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
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

export const LINE_BREAK = '\r\n';
const LAST_RESERVED_PREFIX = 'last_reserved_ip.';
const INDEX_DIR = '.crosscni';
/** Temporary files older than this are debris of a killed process. */
const STALE_TEMP_MS = 60_000;

/** On Windows ':' cannot appear in a file name; the reference replaces it with '_'. */
function fileNameOf(ip: IpAddress): string {
  const text = formatIp(ip);
  return process.platform === 'win32' ? text.replaceAll(':', '_') : text;
}

function ipOfFileName(name: string): IpAddress | undefined {
  return parseIp(process.platform === 'win32' ? name.replaceAll('_', ':') : name);
}

function ownerText(attachment: AttachmentId): string {
  return `${attachment.containerId.trim()}${LINE_BREAK}${attachment.ifname}`;
}

function indexName(attachment: AttachmentId): string {
  return createHash('sha256')
    .update(`${attachment.containerId}\0${attachment.ifname}`)
    .digest('hex')
    .slice(0, 32);
}

/** Write `data` to `path` through a synced temporary file and an atomic rename. */
function writeFileAtomic(dir: string, path: string, data: string): void {
  const temp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (e) {
    unlinkSync(temp);
    throw e;
  }
}

export interface StoredAllocation {
  ip: IpAddress;
  owner: AttachmentId;
}

export class DiskStore {
  readonly dir: string;
  private readonly indexDir: string;

  constructor(dataDir: string, network: string) {
    this.dir = join(dataDir, network);
    this.indexDir = join(this.dir, INDEX_DIR);
  }

  get lockPath(): string {
    return join(this.dir, 'lock');
  }

  ensureDirectory(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
  }

  /** Claim `ip` for `owner`; false when another attachment holds it. */
  reserve(ip: IpAddress, owner: AttachmentId, rangeSetIndex: number): boolean {
    const final = join(this.dir, fileNameOf(ip));
    const temp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, ownerText(owner));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, final);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      unlinkSync(temp);
    }
    writeFileAtomic(this.dir, join(this.dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`), formatIp(ip));
    return true;
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

  /** Record the attachment's addresses in the index (after its reservations succeeded). */
  remember(owner: AttachmentId, ips: IpAddress[]): void {
    mkdirSync(this.indexDir, { recursive: true, mode: 0o755 });
    const doc = JSON.stringify({
      containerId: owner.containerId,
      ifname: owner.ifname,
      ips: ips.map(formatIp),
    });
    writeFileAtomic(this.indexDir, join(this.indexDir, indexName(owner)), doc);
  }

  private forget(owner: AttachmentId): void {
    try {
      unlinkSync(join(this.indexDir, indexName(owner)));
    } catch {
      // no index entry: nothing to forget
    }
  }

  /** Addresses the index says `owner` holds, each verified against its address file. */
  private indexedAddresses(owner: AttachmentId): IpAddress[] | undefined {
    let doc: { ips?: unknown };
    try {
      doc = JSON.parse(readFileSync(join(this.indexDir, indexName(owner)), 'utf8')) as { ips?: unknown };
    } catch {
      return undefined;
    }
    if (!Array.isArray(doc.ips)) return undefined;
    return doc.ips
      .map((text) => (typeof text === 'string' ? parseIp(text) : undefined))
      .filter((ip): ip is IpAddress => ip !== undefined && sameOwner(this.ownerOf(ip), owner));
  }

  /**
   * Addresses held by `owner`. Fast path: the index, then the `hints` (e.g. prevResult's
   * addresses); only when neither knows the attachment does it read the whole directory,
   * which also finds addresses the reference plugin reserved.
   */
  addressesOf(owner: AttachmentId, hints: IpAddress[] = []): IpAddress[] {
    const indexed = this.indexedAddresses(owner);
    if (indexed !== undefined) return indexed;
    const hinted = hints.filter((ip) => sameOwner(this.ownerOf(ip), owner));
    if (hinted.length) return hinted;
    return this.all()
      .filter((a) => sameOwner(a.owner, owner))
      .map((a) => a.ip);
  }

  /** Release every address `owner` holds; returns what was released. */
  release(owner: AttachmentId, hints: IpAddress[] = []): IpAddress[] {
    const released: IpAddress[] = [];
    for (const ip of this.addressesOf(owner, hints)) {
      try {
        unlinkSync(join(this.dir, fileNameOf(ip)));
        released.push(ip);
      } catch {
        // already gone
      }
    }
    this.forget(owner);
    return released;
  }

  /** Every allocation in the directory (reads each address file). */
  all(): StoredAllocation[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: StoredAllocation[] = [];
    for (const name of names) {
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

  /** Remove temporary files left by killed processes. */
  removeDebris(nowMs = Date.now()): void {
    for (const dir of [this.dir, this.indexDir]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!name.startsWith('.tmp-')) continue;
        try {
          if (nowMs - statSync(join(dir, name)).mtimeMs > STALE_TEMP_MS) unlinkSync(join(dir, name));
        } catch {
          // raced with another cleaner
        }
      }
    }
  }

  /** Drop index entries of attachments that hold no address any more. */
  pruneIndex(): void {
    let names: string[];
    try {
      names = readdirSync(this.indexDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.tmp-')) continue;
      try {
        const doc = JSON.parse(readFileSync(join(this.indexDir, name), 'utf8')) as AttachmentId;
        if (this.indexedAddresses(doc)?.length) continue;
        unlinkSync(join(this.indexDir, name));
      } catch {
        unlinkSync(join(this.indexDir, name));
      }
    }
  }
}

/** The owner recorded in an address file; the reference's older format holds only the id. */
function parseOwner(text: string): AttachmentId | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const lineBreak = trimmed.indexOf(LINE_BREAK);
  if (lineBreak < 0) return { containerId: trimmed, ifname: '' };
  return { containerId: trimmed.slice(0, lineBreak), ifname: trimmed.slice(lineBreak + LINE_BREAK.length) };
}

/** Same attachment; a legacy id-only file matches any interface of that container. */
function sameOwner(held: AttachmentId | undefined, owner: AttachmentId): boolean {
  if (!held) return false;
  return (
    held.containerId === owner.containerId.trim() && (held.ifname === '' || held.ifname === owner.ifname)
  );
}
