// host-local's owner index (plugins/host-local/owner-index.ts) must never give a wrong answer,
// whatever another writer did to the store since our last operation. The other writer here
// is the reference plugin's behaviour reproduced byte for byte in this process (backend.go:
// an O_EXCL create of "<ip>" holding "<id>\r\n<ifname>", os.WriteFile of last_reserved_ip,
// os.Remove on release), so that it can act within microseconds of our operation, inside
// the same file system clock tick: the case a timestamp check can miss. Interleavings with
// the real reference binary are in test/linux/ipam-index.test.ts.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INDEX_FILE } from '../../../plugins/host-local/owner-index.ts';
import { DiskStore } from '../../../plugins/host-local/store.ts';
import {
  addressesOf,
  addressFiles,
  envFor,
  expectError,
  expectResult,
  expectSilentSuccess,
  hostLocal,
  hostLocalConfig,
  TempDirs,
} from './ipam-fixture.ts';

const dirs = new TempDirs();
let dataDir = '';
beforeEach(() => {
  dataDir = dirs.make('crosscni-index-');
});
afterEach(() => dirs.cleanup());

const NETWORK = 'ipamnet';
const config = () => hostLocalConfig({ dataDir, ranges: [[{ subnet: '10.30.0.0/24' }]] });
const netDir = () => join(dataDir, NETWORK);
const files = () => addressFiles(netDir());

/** The reference's Reserve: O_EXCL create, write, then last_reserved_ip rewritten in place. */
function referenceReserve(ip: string, id: string, ifname = 'eth0'): void {
  const fd = openSync(join(netDir(), ip), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
  writeSync(fd, `${id}\r\n${ifname}`);
  closeSync(fd);
  writeFileSync(join(netDir(), 'last_reserved_ip.0'), ip);
}

/** The reference's ReleaseByID for one file. */
function referenceRelease(ip: string): void {
  unlinkSync(join(netDir(), ip));
}

async function ourAdd(id: string, args?: string): Promise<string> {
  const env = envFor('ADD', id, args ? { CNI_ARGS: args } : {});
  return addressesOf(expectResult(await hostLocal(env, config())))[0]!;
}

async function ourDel(id: string): Promise<void> {
  expectSilentSuccess(await hostLocal(envFor('DEL', id), config()));
}

/** Whether an operation now would believe the index (and what it then reports for `id`). */
function probe(id: string): { usedIndex: boolean; held: string[] } {
  const store = new DiskStore(dataDir, NETWORK);
  try {
    const held = store.addressesOf({ containerId: id, ifname: 'eth0' }).map((a) => String(a.value));
    return { usedIndex: store.usedIndex, held };
  } finally {
    store.close();
  }
}

describe.runIf(process.platform === 'linux')('host-local owner index', () => {
  it('is believed after our own operations, and answers as a scan would', async () => {
    await ourAdd('a');
    await ourAdd('b');
    expect(readdirSync(netDir())).toContain(INDEX_FILE);
    expect(probe('a').usedIndex).toBe(true);
    await ourDel('a');
    const after = probe('b');
    expect(after.usedIndex).toBe(true);
    expect(after.held).toHaveLength(1);
    expect(files()).toEqual({ '10.30.0.3': 'b\r\neth0' });
  });

  it('sees an address the reference released and gave to another container within the same tick', async () => {
    // Repeated: each round our ADD is followed at once (same clock tick, usually) by the
    // reference's DEL of that container and its ADD of another one getting the same address.
    for (let round = 0; round < 20; round++) {
      const mine = `ours-${round}`;
      const theirs = `ref-${round}`;
      const ip = await ourAdd(mine, `IP=10.30.0.${100 + round}`);
      expect(ip).toBe(`10.30.0.${100 + round}/24`);
      referenceRelease(`10.30.0.${100 + round}`);
      referenceReserve(`10.30.0.${100 + round}`, theirs);
      // The reference's container holds it: a second ADD for it is a duplicate...
      const dup = expectError(await hostLocal(envFor('ADD', theirs), config()), 5);
      expect(dup.msg).toContain('duplicate');
      // ...our old container's DEL must not release it...
      await ourDel(mine);
      expect(files()[`10.30.0.${100 + round}`]).toBe(`${theirs}\r\neth0`);
      // ...and the new owner's DEL does.
      await ourDel(theirs);
      expect(files()[`10.30.0.${100 + round}`]).toBeUndefined();
    }
  });

  it('sees a reservation the reference added right after our operation', async () => {
    for (let round = 0; round < 20; round++) {
      await ourAdd(`ours-${round}`, `IP=10.30.0.${10 + round}`);
      referenceReserve(`10.30.0.${200 + round}`, `ref-${round}`);
      expectError(await hostLocal(envFor('ADD', `ref-${round}`), config()), 5);
      await ourDel(`ref-${round}`);
      expect(files()[`10.30.0.${200 + round}`]).toBeUndefined();
      await ourDel(`ours-${round}`);
    }
    expect(files()).toEqual({});
  });

  it('falls back to a scan when the index is deleted, emptied, torn, garbage or an older copy', async () => {
    await ourAdd('a');
    const older = readFileSync(join(netDir(), INDEX_FILE));
    await ourAdd('b');
    const current = readFileSync(join(netDir(), INDEX_FILE));
    const damage: Array<[string, () => void]> = [
      ['deleted', () => unlinkSync(join(netDir(), INDEX_FILE))],
      ['emptied', () => writeFileSync(join(netDir(), INDEX_FILE), '')],
      ['torn', () => writeFileSync(join(netDir(), INDEX_FILE), current.subarray(0, current.length - 9))],
      ['garbage', () => writeFileSync(join(netDir(), INDEX_FILE), 'a\r\neth0')],
      // In place (no directory change), so only the recorded directory stamp can tell.
      ['an older copy', () => writeFileSync(join(netDir(), INDEX_FILE), older)],
    ];
    for (const [what, harm] of damage) {
      // The reference changes the store, then the index is damaged.
      referenceReserve('10.30.0.50', 'r');
      harm();
      expect(probe('r'), what).toEqual({ usedIndex: false, held: [String(0x0a1e0032)] });
      expectError(await hostLocal(envFor('ADD', 'r'), config()), 5);
      await ourDel('r');
      expect(files()['10.30.0.50'], what).toBeUndefined();
      // The next operation writes a good record again.
      await ourAdd('c');
      expect(probe('a').usedIndex, what).toBe(true);
      await ourDel('c');
    }
  });

  it('does not believe a record whose checksum was forged to hide a foreign owner', async () => {
    await ourAdd('a');
    await ourAdd('b');
    // A record with a valid checksum and the current directory stamp that says 10.30.0.3
    // belongs to "a" (it belongs to "b"): DEL of "a" reads the files it would remove first.
    const path = join(netDir(), INDEX_FILE);
    const text = readFileSync(path, 'utf8');
    const body = text
      .slice(text.indexOf('\n') + 1)
      .replace('"10.30.0.3":"b\\r\\neth0"', '"10.30.0.3":"a\\r\\neth0"');
    const header = text.slice(0, text.indexOf(' sha256='));
    const forged = `${header} sha256=${createHash('sha256').update(body).digest('hex')}\n${body}`;
    const dirCtime = statSync(netDir(), { bigint: true }).ctimeNs;
    do writeFileSync(path, forged);
    while (statSync(path, { bigint: true }).mtimeNs <= dirCtime);
    expect(probe('a').usedIndex).toBe(true);
    await ourDel('a');
    expect(files()).toEqual({ '10.30.0.3': 'b\r\neth0' });
  });

  it('recovers from a crash between the reservation and the index write', async () => {
    await ourAdd('a');
    // An ADD killed after linking its reservation: the file is there, the index is not updated.
    const store = new DiskStore(dataDir, NETWORK);
    store.addressesOf({ containerId: 'k', ifname: 'eth0' });
    expect(store.reserve({ family: 4, value: 0x0a1e0009n }, { containerId: 'k', ifname: 'eth0' }, 0)).toBe(
      true,
    );
    store.close();
    expect(probe('k')).toEqual({ usedIndex: false, held: [String(0x0a1e0009)] });
    expectError(await hostLocal(envFor('ADD', 'k'), config()), 5);
    await ourDel('k');
    expect(files()).toEqual({ '10.30.0.2': 'a\r\neth0' });
  });

  it('releases id-only files of the reference’s old format, as a scan does', async () => {
    await ourAdd('a');
    writeFileSync(join(netDir(), '10.30.0.77'), 'legacy');
    expectError(await hostLocal(envFor('ADD', 'legacy'), config()), 5);
    await ourDel('legacy');
    expect(files()).toEqual({ '10.30.0.2': 'a\r\neth0' });
  });
});
