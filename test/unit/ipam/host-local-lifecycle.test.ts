// host-local's DEL, CHECK, GC and STATUS as a runtime sees them, through the SDK's
// invokePlugin in this process (the store's flock comes from the Linux platform and works
// unprivileged), with a temporary dataDir per test. Asserts error codes and the files left.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addressFiles,
  envFor,
  expectError,
  expectResult,
  expectSilentSuccess,
  hostLocal,
  hostLocalConfig,
  type Json,
  TempDirs,
} from './ipam-fixture.ts';

const dirs = new TempDirs();
let dataDir = '';
beforeEach(() => {
  dataDir = dirs.make('crosscni-hl-');
});
afterEach(() => dirs.cleanup());

const V4 = [{ subnet: '10.20.0.0/24' }];
const V6 = [{ subnet: 'fd20::/64' }];

function config(ipam: Json, extra: Json = {}, cniVersion = '1.1.0'): Json {
  return hostLocalConfig({ dataDir, ...ipam }, extra, cniVersion);
}

/** The network's address files (name → content). */
function files(network = 'ipamnet'): Record<string, string> {
  return addressFiles(join(dataDir, network));
}

function gcConfig(ipam: Json, valid: Array<[string, string]>): Json {
  return config(ipam, {
    'cni.dev/valid-attachments': valid.map(([containerID, ifname]) => ({ containerID, ifname })),
  });
}

describe('host-local DEL and CHECK', () => {
  const ipam = { ranges: [V4, V6] };

  it('DEL releases every address of the attachment and only those; repeating it succeeds', async () => {
    expectResult(await hostLocal(envFor('ADD', 'a'), config(ipam)));
    expectResult(await hostLocal(envFor('ADD', 'b'), config(ipam)));
    expectSilentSuccess(await hostLocal(envFor('DEL', 'a'), config(ipam)));
    expect(files()).toEqual({ '10.20.0.3': 'b\r\neth0', 'fd20::3': 'b\r\neth0' });
    expectSilentSuccess(await hostLocal(envFor('DEL', 'a'), config(ipam)));
    expectSilentSuccess(await hostLocal(envFor('DEL', 'never-added'), config(ipam)));
    expectSilentSuccess(await hostLocal(envFor('DEL', 'a', { CNI_NETNS: '' }), config(ipam)));
    expect(Object.keys(files())).toHaveLength(2);
  });

  it('DEL with a prevResult releases the attachment', async () => {
    const added = expectResult(await hostLocal(envFor('ADD', 'a'), config(ipam)));
    expectSilentSuccess(await hostLocal(envFor('DEL', 'a'), config(ipam, { prevResult: added })));
    expect(files()).toEqual({});
  });

  it('DEL on a dataDir that does not exist yet succeeds', async () => {
    const answer = await hostLocal(
      envFor('DEL', 'a'),
      config({ ...ipam, dataDir: join(dataDir, 'not', 'yet') }),
    );
    expectSilentSuccess(answer);
  });

  it('CHECK succeeds while the attachment holds an address and fails after DEL', async () => {
    const added = expectResult(await hostLocal(envFor('ADD', 'a'), config(ipam)));
    expectSilentSuccess(await hostLocal(envFor('CHECK', 'a'), config(ipam, { prevResult: added })));
    expectSilentSuccess(await hostLocal(envFor('DEL', 'a'), config(ipam)));
    const error = expectError(await hostLocal(envFor('CHECK', 'a'), config(ipam, { prevResult: added })), 5);
    expect(error.msg).toContain('a/eth0');
    expectError(await hostLocal(envFor('CHECK', 'other'), config(ipam)), 5);
  });
});

describe('host-local GC and STATUS', () => {
  const ipam = { ranges: [V4, V6] };

  it('GC keeps valid attachments, releases the rest (legacy files included), and never touches other networks', async () => {
    for (const id of ['keep', 'drop']) expectResult(await hostLocal(envFor('ADD', id), config(ipam)));
    expectResult(await hostLocal(envFor('ADD', 'keep', { CNI_IFNAME: 'net1' }), config(ipam)));
    writeFileSync(join(dataDir, 'ipamnet', '10.20.0.200'), 'legacy-gone');
    writeFileSync(join(dataDir, 'ipamnet', '10.20.0.201'), 'keep');
    // Another network in the same dataDir, and its files.
    expectResult(await hostLocal(envFor('ADD', 'drop'), { ...config(ipam), name: 'othernet' }));
    mkdirSync(join(dataDir, 'ipamnet-like'), { recursive: true });
    writeFileSync(join(dataDir, 'ipamnet-like', '10.20.0.9'), 'drop\r\neth0');
    const before = { other: files('othernet'), like: files('ipamnet-like') };

    expectSilentSuccess(
      await hostLocal(
        envFor('GC'),
        gcConfig(ipam, [
          ['keep', 'eth0'],
          ['keep', 'net1'],
        ]),
      ),
    );
    expect(files()).toEqual({
      '10.20.0.2': 'keep\r\neth0',
      '10.20.0.201': 'keep',
      '10.20.0.4': 'keep\r\nnet1',
      'fd20::2': 'keep\r\neth0',
      'fd20::4': 'keep\r\nnet1',
    });
    expect({ other: files('othernet'), like: files('ipamnet-like') }).toEqual(before);
    // Released addresses are handed out again; the kept ones are not.
    expectResult(await hostLocal(envFor('ADD', 'drop'), config(ipam)));
    expectSilentSuccess(await hostLocal(envFor('CHECK', 'keep'), config(ipam)));
  });

  it('GC with an empty valid list releases every reservation and keeps the bookkeeping files', async () => {
    for (const id of ['a', 'b']) expectResult(await hostLocal(envFor('ADD', id), config(ipam)));
    writeFileSync(join(dataDir, 'ipamnet', 'notes.txt'), 'a\r\neth0');
    expectSilentSuccess(await hostLocal(envFor('GC'), gcConfig(ipam, [])));
    expect(readdirSync(join(dataDir, 'ipamnet')).sort()).toEqual([
      '.crosscni-owners',
      'last_reserved_ip.0',
      'last_reserved_ip.1',
      'lock',
      'notes.txt',
    ]);
  });

  it('GC removes an empty address file (what a power cut can leave) and keeps the rest', async () => {
    expectResult(await hostLocal(envFor('ADD', 'keep'), config(ipam)));
    writeFileSync(join(dataDir, 'ipamnet', '10.20.0.9'), '');
    writeFileSync(join(dataDir, 'ipamnet', '10.20.0.10'), ' \r\n');
    expectSilentSuccess(await hostLocal(envFor('GC'), gcConfig(ipam, [['keep', 'eth0']])));
    expect(Object.keys(files()).sort()).toEqual(['10.20.0.2', 'fd20::2']);
  });

  it('GC without the valid-attachments list is refused (code 7) and releases nothing', async () => {
    expectResult(await hostLocal(envFor('ADD', 'a'), config(ipam)));
    expectError(await hostLocal(envFor('GC'), config(ipam)), 7);
    expect(Object.keys(files())).toHaveLength(2);
  });

  it('STATUS succeeds while addresses are left and answers 50 once a range set is full', async () => {
    const small = { ranges: [V4, [{ subnet: 'fd20::/64', rangeStart: 'fd20::10', rangeEnd: 'fd20::11' }]] };
    expectSilentSuccess(await hostLocal(envFor('STATUS'), config(small)));
    expectResult(await hostLocal(envFor('ADD', 'a'), config(small)));
    expectSilentSuccess(await hostLocal(envFor('STATUS'), config(small)));
    expectResult(await hostLocal(envFor('ADD', 'b'), config(small)));
    const error = expectError(await hostLocal(envFor('STATUS'), config(small)), 50);
    expect(error.msg).toContain('fd20::10-fd20::11');
    expectSilentSuccess(await hostLocal(envFor('DEL', 'a'), config(small)));
    expectSilentSuccess(await hostLocal(envFor('STATUS'), config(small)));
  });

  it('STATUS answers 50 when the data directory cannot be made or written', async () => {
    const file = join(dataDir, 'a-file');
    writeFileSync(file, '');
    const error = expectError(
      await hostLocal(envFor('STATUS'), config({ ...ipam, dataDir: join(file, 'sub') })),
      50,
    );
    expect(error.msg).toContain(join(file, 'sub', 'ipamnet'));
  });

  it('STATUS and GC need cniVersion 1.1.0 (code 1 before)', async () => {
    expectError(await hostLocal(envFor('STATUS'), config(ipam, {}, '1.0.0')), 1);
    expectError(await hostLocal(envFor('GC'), { ...gcConfig(ipam, []), cniVersion: '1.0.0' }), 1);
  });
});
