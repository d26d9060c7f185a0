/**
 * crosscni's host-local keeps an owner index (.crosscni-owners) that Debian's reference
 * host-local knows nothing of. Interleaved on one dataDir, every answer must still be the one
 * a full scan gives: each releases the other's reservations, an address the reference freed
 * and handed to another container is seen with its new owner, and a damaged index only costs
 * a scan. (The same within one clock tick, with the reference's writes reproduced in-process,
 * is test/unit/ipam/owner-index.test.ts.)
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_FILE } from '../../plugins/host-local/owner-index.ts';
import {
  ensureOurHostLocal,
  type ExecAnswer,
  execHostLocal,
  explain,
  type HostLocalCall,
  OUR_HOST_LOCAL,
  REFERENCE_HOST_LOCAL,
} from '../unit/ipam/host-local-exec.ts';
import { addressFiles, TempDirs } from '../unit/ipam/ipam-fixture.ts';
import { addressesOf, NETWORK, netConf, referenceAvailable } from '../unit/ipam/reference-compare.ts';

const hasReference = referenceAvailable();
const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe.skipIf(!hasReference)('host-local owner index with the reference plugin on one dataDir', () => {
  beforeAll(() => ensureOurHostLocal(), 300_000);

  function suites(dataDir: string) {
    const conf = netConf(dataDir, { ranges: [[{ subnet: '10.63.0.0/24' }]] });
    const call = (binary: string) => (call: HostLocalCall) => execHostLocal(binary, call, conf);
    return {
      ours: call(OUR_HOST_LOCAL),
      ref: call(REFERENCE_HOST_LOCAL),
      files: () => addressFiles(join(dataDir, NETWORK)),
    };
  }

  const ok = (answer: ExecAnswer) => {
    expect(answer.exitCode, explain(answer)).toBe(0);
    return answer;
  };

  it('each releases what the other added, and an address reused by the reference is seen with its new owner', () => {
    const dataDir = dirs.make('crosscni-index-mixed-');
    const { ours, ref, files } = suites(dataDir);
    ok(ours({ command: 'ADD', containerId: 'o0' })); // the index exists from here on
    // ADD by the reference, DEL by crosscni.
    expect(addressesOf(ok(ref({ command: 'ADD', containerId: 'r1' })))).toEqual(['10.63.0.3/24']);
    expect(ours({ command: 'ADD', containerId: 'r1' }).doc?.msg as string).toContain('duplicate');
    ok(ours({ command: 'DEL', containerId: 'r1' }));
    expect(files()).toEqual({ '10.63.0.2': 'o0\r\neth0' });
    // ADD by crosscni, DEL by the reference, then crosscni again.
    ok(ours({ command: 'ADD', containerId: 'o1', args: 'IP=10.63.0.50' }));
    ok(ref({ command: 'DEL', containerId: 'o1' }));
    expect(files()['10.63.0.50']).toBeUndefined();
    ok(ours({ command: 'ADD', containerId: 'o1', args: 'IP=10.63.0.50' }));
    // The reference frees o1's address and gives the same address to r2.
    ok(ref({ command: 'DEL', containerId: 'o1' }));
    ok(ref({ command: 'ADD', containerId: 'r2', args: 'IP=10.63.0.50' }));
    expect(ours({ command: 'ADD', containerId: 'r2' }).doc?.msg as string).toContain('duplicate');
    ok(ours({ command: 'DEL', containerId: 'o1' }));
    expect(files()['10.63.0.50']).toBe('r2\r\neth0');
    ok(ours({ command: 'CHECK', containerId: 'r2' }));
    ok(ours({ command: 'DEL', containerId: 'r2' }));
    expect(files()).toEqual({ '10.63.0.2': 'o0\r\neth0' });
    // And the reference still finds and releases what crosscni holds.
    expect(ref({ command: 'ADD', containerId: 'o0' }).exitCode).not.toBe(0);
    ok(ref({ command: 'DEL', containerId: 'o0' }));
    expect(files()).toEqual({});
  });

  it('a deleted or damaged index only costs a scan', () => {
    const dataDir = dirs.make('crosscni-index-damage-');
    const { ours, ref, files } = suites(dataDir);
    const index = join(dataDir, NETWORK, INDEX_FILE);
    ok(ours({ command: 'ADD', containerId: 'o1' }));
    const older = readFileSync(index);
    ok(ours({ command: 'ADD', containerId: 'o2' }));
    const harms: Array<() => void> = [
      () => unlinkSync(index),
      () => writeFileSync(index, 'not an index'),
      () => writeFileSync(index, older),
    ];
    harms.forEach((harm, i) => {
      const id = `r${i}`;
      ok(ref({ command: 'ADD', containerId: id }));
      harm();
      expect(ours({ command: 'ADD', containerId: id }).doc?.msg as string).toContain('duplicate');
      ok(ours({ command: 'DEL', containerId: id }));
      expect(Object.values(files())).not.toContain(`${id}\r\neth0`);
    });
    expect(Object.values(files()).sort()).toEqual(['o1\r\neth0', 'o2\r\neth0']);
  });
});
