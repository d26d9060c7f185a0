/**
 * The nfnetlink writer against the real kernel: set elements added and deleted in one
 * nf_tables transaction without `nft`, compared with what nft itself makes and lists; the
 * probe that decides whether a network's masquerade rules are already in place; idempotency,
 * error codes and concurrent writers. Tables are uniquely named and removed after each test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { masqueradeRulesCurrent, setIntervals } from '../../linux/masquerade-rules.ts';
import { attachmentHash, networkTable } from '../../linux/netfilter-names.ts';
import {
  addMasqueradeDirect,
  masqueradeAddCommands,
  readMasqueradeNft,
  removeMasqueradeNft,
} from '../../linux/netfilter-nft.ts';
import { NftBatchError, nftTransaction } from '../../linux/nfnl-batch.ts';
import { nftSetElements, setElementMessage } from '../../linux/nfnl-setelem.ts';
import { nftBatch } from '../../linux/nft.ts';
import { isRoot, KernelScratch, sh, skipReason, uniqueName } from '../support/kernel.ts';

const scratch = new KernelScratch();
afterEach(() => scratch.cleanup());

const SETS = { 4: 'masq4', 6: 'masq6' } as const;

function network(): string {
  const name = `net ${uniqueName('ctw')}`;
  scratch.nftTable('inet', networkTable(name));
  return name;
}

const attachment = (id: string) => ({ containerId: id, ifname: 'eth0' });

/** The network's first ADD, as the nft path makes it: table, chain, sets, rules, elements. */
async function firstAdd(net: string, address: string, exceptions: string[]): Promise<void> {
  await nftBatch(masqueradeAddCommands(net, attachment('first'), [address], exceptions));
}

function setText(net: string, set: string): string {
  return sh('nft', ['list', 'set', 'inet', networkTable(net), set]).replaceAll(networkTable(net), 'T');
}

describe.skipIf(!isRoot)(`nfnetlink set element writer (${skipReason})`, () => {
  it('adds elements nft would list exactly as its own, comment included, and deletes them', async () => {
    const viaNft = network();
    const direct = network();
    const exceptions = ['10.0.0.0/8', 'fd00:1::/64'];
    // Same state through both paths: nft makes the element in one table, the writer in the other.
    await firstAdd(viaNft, '10.9.0.5', exceptions);
    await nftBatch(masqueradeAddCommands(viaNft, attachment('a'), ['fd00:1::5'], exceptions));
    await firstAdd(direct, '10.9.0.99', exceptions);
    await removeMasqueradeNft(direct, ['10.9.0.99']);
    // nft's element was made for attachment "first"; give the writer the same owner.
    expect(await addMasqueradeDirect(direct, attachment('first'), ['10.9.0.5'], exceptions)).toBe(true);
    expect(await addMasqueradeDirect(direct, attachment('a'), ['fd00:1::5'], exceptions)).toBe(true);
    expect(setText(direct, 'masq4')).toBe(setText(viaNft, 'masq4'));
    expect(setText(direct, 'masq6')).toBe(setText(viaNft, 'masq6'));
    expect(setText(direct, 'masq4')).toContain(`10.9.0.5 comment "${attachmentHash('first', 'eth0')}"`);
    expect(await readMasqueradeNft(direct)).toEqual(await readMasqueradeNft(viaNft));

    await removeMasqueradeNft(direct, ['10.9.0.5', 'fd00:1::5']);
    expect(await readMasqueradeNft(direct)).toEqual([]);
  });

  it('is idempotent: re-adding takes the element over, deleting what is gone succeeds', async () => {
    const net = network();
    await firstAdd(net, '10.9.0.5', []);
    expect(await addMasqueradeDirect(net, attachment('b'), ['10.9.0.6'], [])).toBe(true);
    expect(await addMasqueradeDirect(net, attachment('b'), ['10.9.0.6'], [])).toBe(true);
    // Another owner of the same address (a stale element): the comment becomes the new owner's.
    expect(await addMasqueradeDirect(net, attachment('c'), ['10.9.0.6'], [])).toBe(true);
    const entries = await readMasqueradeNft(net);
    expect(entries.filter((e) => e.address === '10.9.0.6')).toEqual([
      { address: '10.9.0.6', attachment: attachmentHash('c', 'eth0') },
    ]);
    await removeMasqueradeNft(net, ['10.9.0.6']);
    await removeMasqueradeNft(net, ['10.9.0.6']);
    // One present and one absent: the present one still goes.
    await removeMasqueradeNft(net, ['10.9.0.7', '10.9.0.5']);
    expect(await readMasqueradeNft(net)).toEqual([]);
    // No table at all.
    await removeMasqueradeNft(network(), ['10.9.0.5']);
  });

  it('reports the kernel errno and the failing message, and applies nothing on failure', async () => {
    const net = network();
    await firstAdd(net, '10.9.0.5', []);
    const table = networkTable(net);
    const key = Buffer.from([10, 9, 0, 8]);
    const missing = setElementMessage('add', 'inet', table, 'nosuchset', { key });
    const good = setElementMessage('add', 'inet', table, 'masq4', { key });
    const error = await nftTransaction([good, missing]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NftBatchError);
    expect((error as NftBatchError).code).toBe('ENOENT');
    expect((error as NftBatchError).failed?.what).toBe(`add element inet ${table} nosuchset`);
    // Atomic: the good message of the failed transaction left nothing behind.
    expect((await nftSetElements('inet', table, 'masq4')).map((e) => [...e.key])).toEqual([[10, 9, 0, 5]]);
    // NLM_F_EXCL on an element that exists: EEXIST.
    const exclusive = {
      ...setElementMessage('add', 'inet', table, 'masq4', { key: Buffer.from([10, 9, 0, 5]) }),
    };
    exclusive.flags |= 0x200;
    await expect(nftTransaction([exclusive])).rejects.toMatchObject({ code: 'EEXIST' });
    // A deleted element that is not there: ENOENT.
    await expect(
      nftTransaction([setElementMessage('delete', 'inet', table, 'masq4', { key })]),
    ).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('takes the direct path only when the rules match the exceptions', async () => {
    const net = network();
    const table = networkTable(net);
    expect(await masqueradeRulesCurrent(table, SETS, [])).toBe(false);
    expect(await addMasqueradeDirect(net, attachment('x'), ['10.9.0.6'], [])).toBe(false);
    const exceptions = ['10.9.0.0/24', '10.0.0.0/8', '192.168.0.0/25', '192.168.0.128/25', 'fd00:9::/64'];
    await firstAdd(net, '10.9.0.5', exceptions);
    expect(await masqueradeRulesCurrent(table, SETS, exceptions)).toBe(true);
    // Order and nested prefixes do not matter; different exceptions do.
    expect(await masqueradeRulesCurrent(table, SETS, [...exceptions].reverse())).toBe(true);
    expect(await masqueradeRulesCurrent(table, SETS, exceptions.slice(1))).toBe(true);
    expect(await masqueradeRulesCurrent(table, SETS, ['10.0.0.0/8', 'fd00:9::/64'])).toBe(false);
    expect(await masqueradeRulesCurrent(table, SETS, [...exceptions, '172.16.0.0/12'])).toBe(false);
    expect(await masqueradeRulesCurrent(table, SETS, exceptions.slice(0, -1))).toBe(false);
    // One exception per family (a compare, not a set): multicast only.
    await nftBatch(masqueradeAddCommands(net, attachment('first'), [], []));
    expect(await masqueradeRulesCurrent(table, SETS, [])).toBe(true);
    expect(await masqueradeRulesCurrent(table, SETS, ['10.1.2.3/32'])).toBe(false);
    await nftBatch(masqueradeAddCommands(net, attachment('first'), [], ['10.1.2.3/32']));
    expect(await masqueradeRulesCurrent(table, SETS, ['10.1.2.3/32'])).toBe(true);
    // A rule added by hand: not ours to keep, nft rewrites the chain.
    sh('nft', ['add', 'rule', 'inet', table, 'postrouting', 'counter']);
    expect(await masqueradeRulesCurrent(table, SETS, ['10.1.2.3/32'])).toBe(false);
  });

  it('reads interval sets as nft writes them', () => {
    const el = (bytes: number[], flags?: number) => ({
      key: Buffer.from(bytes),
      ...(flags ? { flags } : {}),
    });
    // 10.0.0.0/8 and 224.0.0.0/4 as the kernel dumps them (an end element at 0 too).
    const intervals = setIntervals(
      [
        el([240, 0, 0, 0], 1),
        el([224, 0, 0, 0]),
        el([11, 0, 0, 0], 1),
        el([10, 0, 0, 0]),
        el([0, 0, 0, 0], 1),
      ],
      4,
    );
    expect(intervals).toEqual([
      [0x0a000000n, 0x0b000000n],
      [0xe0000000n, 0xf0000000n],
    ]);
    // An interval reaching the top of the address space has no end element.
    expect(setIntervals([el([255, 0, 0, 0]), el([0, 0, 0, 0], 1)], 4)).toEqual([[0xff000000n, 0x100000000n]]);
  });

  it('concurrent writers each get their element in', async () => {
    const net = network();
    await firstAdd(net, '10.9.0.5', []);
    const addresses = Array.from({ length: 12 }, (_, i) => `10.9.1.${i + 1}`);
    const results = await Promise.all(
      addresses.map((address, i) => addMasqueradeDirect(net, attachment(`p${i}`), [address], [])),
    );
    expect(results.every(Boolean)).toBe(true);
    const entries = await readMasqueradeNft(net);
    for (const [i, address] of addresses.entries())
      expect(entries).toContainEqual({ address, attachment: attachmentHash(`p${i}`, 'eth0') });
    await Promise.all(addresses.map((address) => removeMasqueradeNft(net, [address])));
    expect((await readMasqueradeNft(net)).map((e) => e.address)).toEqual(['10.9.0.5']);
  });
});
