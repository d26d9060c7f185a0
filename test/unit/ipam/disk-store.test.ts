// The host-local store on disk, byte for byte: what the reference plugin writes and reads
// (`<ip>` holding "<id>\r\n<ifname>", `last_reserved_ip.<set>`, `lock`), with the
// reference's modes; crash-safety debris rules; and the reference's lookup and release
// semantics (GetByID, FindByID, ReleaseByID, including the old id-only file format).
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIp } from '../../../platform/cidr.ts';
import { DiskStore } from '../../../plugins/host-local/store.ts';
import { addressFiles, ip, owner, TempDirs } from './ipam-fixture.ts';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function freshStore(network = 'net1'): DiskStore {
  const store = new DiskStore(dirs.make(), network);
  store.ensureDirectory();
  return store;
}

function bytesOf(path: string): string {
  return readFileSync(path).toString('latin1');
}

describe('DiskStore file format', () => {
  it('writes <dataDir>/<network>/<ip> holding "<id>\\r\\n<ifname>", mode 0644, and last_reserved_ip.<N>', () => {
    const dataDir = dirs.make();
    const store = new DiskStore(dataDir, 'mynet');
    store.ensureDirectory();
    expect(store.dir).toBe(join(dataDir, 'mynet'));
    expect(store.reserve(ip('10.4.0.7'), owner('abc123', 'eth1'), 0)).toBe(true);
    const file = join(dataDir, 'mynet', '10.4.0.7');
    expect(bytesOf(file)).toBe('abc123\r\neth1');
    // The reference's modes, less the usual umask (022): files 0644, directory 0755, and the
    // lock 0750 as go-filemutex creates it.
    const umask = process.umask();
    expect(statSync(file).mode & 0o777).toBe(0o644 & ~umask);
    expect(statSync(join(dataDir, 'mynet', 'last_reserved_ip.0')).mode & 0o777).toBe(0o644 & ~umask);
    expect(statSync(join(dataDir, 'mynet')).mode & 0o777).toBe(0o755 & ~umask);
    expect(statSync(join(dataDir, 'mynet', 'lock')).mode & 0o777).toBe(0o750 & ~umask);
    expect(bytesOf(join(dataDir, 'mynet', 'lock'))).toBe('');
    expect(bytesOf(join(dataDir, 'mynet', 'last_reserved_ip.0'))).toBe('10.4.0.7');
    expect(store.reserve(ip('fd00::9'), owner('abc123', 'eth1'), 3)).toBe(true);
    expect(bytesOf(join(dataDir, 'mynet', 'last_reserved_ip.3'))).toBe('fd00::9');
    expect(bytesOf(join(dataDir, 'mynet', 'last_reserved_ip.0'))).toBe('10.4.0.7');
    expect(store.lockPath).toBe(join(dataDir, 'mynet', 'lock'));
  });

  it('trims white space around the container id, as the reference does', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.8'), owner('  padded \n', 'eth0'), 0);
    expect(bytesOf(join(store.dir, '10.4.0.8'))).toBe('padded\r\neth0');
    expect(store.ownerOf(ip('10.4.0.8'))).toEqual(owner('padded'));
  });

  it('names IPv6 files in RFC 5952 form whatever form the address came in', () => {
    const store = freshStore();
    for (const written of [
      'FD00:0:0:0:0:0:0:A',
      '2001:db8:0:0:1:0:0:1',
      '2001:0db8:0000:0001::0010',
      'fe80::',
    ]) {
      expect(store.reserve(ip(written), owner(`c-${written.length}`), 1)).toBe(true);
    }
    expect(
      readdirSync(store.dir)
        .filter((n) => n.includes(':'))
        .sort(),
    ).toEqual(['2001:db8:0:1::10', '2001:db8::1:0:0:1', 'fd00::a', 'fe80::']);
    expect(bytesOf(join(store.dir, 'last_reserved_ip.1'))).toBe('fe80::');
  });

  it('reads last_reserved_ip written by others, with or without a trailing newline', () => {
    const store = freshStore();
    expect(store.lastReserved(0)).toBeUndefined();
    writeFileSync(join(store.dir, 'last_reserved_ip.0'), '10.4.0.20');
    writeFileSync(join(store.dir, 'last_reserved_ip.1'), 'fd00::20\n');
    writeFileSync(join(store.dir, 'last_reserved_ip.2'), 'garbage');
    expect(formatIp(store.lastReserved(0)!)).toBe('10.4.0.20');
    expect(formatIp(store.lastReserved(1)!)).toBe('fd00::20');
    expect(store.lastReserved(2)).toBeUndefined();
  });

  it('refuses an address that is already held and leaves its file untouched', () => {
    const store = freshStore();
    expect(store.reserve(ip('10.4.0.9'), owner('first'), 0)).toBe(true);
    expect(store.reserve(ip('10.4.0.9'), owner('second'), 0)).toBe(false);
    expect(bytesOf(join(store.dir, '10.4.0.9'))).toBe('first\r\neth0');
  });

  it("leaves nothing but the reference's files: no temporary file after reservations or refusals", () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.10'), owner('a'), 0);
    store.reserve(ip('10.4.0.10'), owner('b'), 0);
    store.reserve(ip('fd00::10'), owner('a'), 1);
    expect(readdirSync(store.dir).sort()).toEqual([
      '10.4.0.10',
      'fd00::10',
      'last_reserved_ip.0',
      'last_reserved_ip.1',
      'lock',
    ]);
  });

  it('a refused reservation moves neither the file nor the round-robin position', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.10'), owner('a'), 0);
    store.reserve(ip('10.4.0.11'), owner('b'), 0);
    expect(store.reserve(ip('10.4.0.10'), owner('c'), 0)).toBe(false);
    expect(formatIp(store.lastReserved(0)!)).toBe('10.4.0.11');
  });

  it('lists reserved addresses from the file names alone', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.13'), owner('a'), 0);
    writeFileSync(join(store.dir, 'fd00::13'), '');
    writeFileSync(join(store.dir, '.tmp-1-x'), 'a\r\neth0');
    expect(store.reservedAddresses().map(formatIp).sort()).toEqual(['10.4.0.13', 'fd00::13']);
  });

  it('lists every allocation, skipping files that are not addresses', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.11'), owner('a', 'eth0'), 0);
    store.reserve(ip('fd00::11'), owner('a', 'eth0'), 1);
    writeFileSync(join(store.dir, '10.4.0.12'), 'legacy-id');
    writeFileSync(join(store.dir, 'lock'), '');
    writeFileSync(join(store.dir, 'README'), 'not an address');
    const all = store
      .all()
      .map((a) => `${formatIp(a.ip)}=${a.owner.containerId}/${a.owner.ifname}`)
      .sort();
    expect(all).toEqual(['10.4.0.11=a/eth0', '10.4.0.12=legacy-id/', 'fd00::11=a/eth0']);
  });
});

describe('DiskStore lookups and release (GetByID, FindByID, ReleaseByID)', () => {
  it("releases every address of the attachment, and only that attachment's", () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.2'), owner('a', 'eth0'), 0);
    store.reserve(ip('fd00::2'), owner('a', 'eth0'), 1);
    store.reserve(ip('10.4.0.3'), owner('a', 'net1'), 0);
    store.reserve(ip('10.4.0.4'), owner('b', 'eth0'), 0);
    expect(store.addressesOf(owner('a', 'eth0')).map(formatIp).sort()).toEqual(['10.4.0.2', 'fd00::2']);
    expect(store.release(owner('a', 'eth0')).map(formatIp).sort()).toEqual(['10.4.0.2', 'fd00::2']);
    expect(Object.keys(addressFiles(store.dir))).toEqual(['10.4.0.3', '10.4.0.4']);
    // The last reservation stays: round robin continues after it.
    expect(formatIp(store.lastReserved(0)!)).toBe('10.4.0.4');
  });

  it('is idempotent: releasing again, or releasing an unknown attachment, succeeds and changes nothing', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.2'), owner('a'), 0);
    store.reserve(ip('10.4.0.5'), owner('keep'), 0);
    expect(store.release(owner('a')).map(formatIp)).toEqual(['10.4.0.2']);
    expect(store.release(owner('a'))).toEqual([]);
    expect(store.release(owner('never'))).toEqual([]);
    expect(Object.keys(addressFiles(store.dir))).toEqual(['10.4.0.5']);
  });

  it('succeeds on a network dir that does not exist', () => {
    const store = new DiskStore(dirs.make(), 'absent');
    expect(store.release(owner('a'))).toEqual([]);
    expect(store.all()).toEqual([]);
    expect(store.holdsAny(owner('a'))).toBe(false);
  });

  it("releases the reference's id-only files of the container, but only when no current-format file matches", () => {
    const store = freshStore();
    writeFileSync(join(store.dir, '10.4.0.30'), 'oldctr');
    writeFileSync(join(store.dir, '10.4.0.31'), 'otherctr');
    expect(store.addressesOf(owner('oldctr', 'eth0')).map(formatIp)).toEqual(['10.4.0.30']);
    expect(store.holdsAny(owner('oldctr', 'eth9'))).toBe(true);
    store.reserve(ip('10.4.0.32'), owner('oldctr', 'eth0'), 0);
    // ReleaseByID: the exact match first; the id-only file is left for a later DEL.
    expect(store.release(owner('oldctr', 'eth0')).map(formatIp)).toEqual(['10.4.0.32']);
    expect(store.release(owner('oldctr', 'eth0')).map(formatIp)).toEqual(['10.4.0.30']);
    expect(Object.keys(addressFiles(store.dir))).toEqual(['10.4.0.31']);
  });

  it('finds addresses another writer (the reference) reserved, by reading the files', () => {
    const store = freshStore();
    writeFileSync(join(store.dir, '10.4.0.40'), 'refctr\r\neth0');
    writeFileSync(join(store.dir, 'fd00::40'), 'refctr\r\neth0');
    writeFileSync(join(store.dir, '10.4.0.41'), 'refctr\r\neth1');
    expect(store.addressesOf(owner('refctr', 'eth0')).map(formatIp).sort()).toEqual([
      '10.4.0.40',
      'fd00::40',
    ]);
    expect(store.release(owner('refctr', 'eth0')).map(formatIp).sort()).toEqual(['10.4.0.40', 'fd00::40']);
    expect(Object.keys(addressFiles(store.dir))).toEqual(['10.4.0.41']);
  });

  it('holdsAny looks at the hints first and falls back to a scan when they are stale', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.50'), owner('x'), 0);
    expect(store.holdsAny(owner('x'), [ip('10.4.0.50')])).toBe(true);
    // The hint names an address someone else now holds; the scan still finds x's real one.
    writeFileSync(join(store.dir, '10.4.0.51'), 'y\r\neth0');
    expect(store.holdsAny(owner('x'), [ip('10.4.0.51')])).toBe(true);
    store.release(owner('x'));
    expect(store.holdsAny(owner('x'), [ip('10.4.0.50'), ip('10.4.0.51')])).toBe(false);
  });

  it('releaseAddresses removes only files that still name that exact attachment', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.60'), owner('x'), 0);
    store.reserve(ip('10.4.0.61'), owner('x'), 0);
    writeFileSync(join(store.dir, '10.4.0.62'), 'y\r\neth0');
    const released = store.releaseAddresses(owner('x'), [ip('10.4.0.60'), ip('10.4.0.62'), ip('10.4.0.63')]);
    expect(released.map(formatIp)).toEqual(['10.4.0.60']);
    expect(addressFiles(store.dir)).toEqual({ '10.4.0.61': 'x\r\neth0', '10.4.0.62': 'y\r\neth0' });
  });
});

describe('DiskStore debris', () => {
  it('removes temporary files only once they are stale, and nothing else', () => {
    const store = freshStore();
    store.reserve(ip('10.4.0.2'), owner('a'), 0);
    const fresh = join(store.dir, '.tmp-1-fresh');
    const old = join(store.dir, '.tmp-1-old');
    const foreign = join(store.dir, 'README');
    for (const path of [fresh, old, foreign]) writeFileSync(path, 'a\r\neth0');
    const longAgo = new Date(Date.now() - 3_600_000);
    for (const path of [old, foreign]) utimesSync(path, longAgo, longAgo);
    store.removeDebris();
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(foreign)).toBe(true);
    expect(Object.keys(addressFiles(store.dir))).toEqual(['10.4.0.2', 'README']);
  });
});
