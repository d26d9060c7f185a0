/**
 * crosscni's host-local against Debian's reference host-local (containernetworking-plugins
 * 1.1.1, /usr/lib/cni/host-local), executable against executable: the same configs and the
 * same command sequences on separate dataDirs must give equal results and identical stores
 * (every file's bytes and mode). Sharing one dataDir is ipam-mixed.test.ts.
 *
 * The reference 1.1.1 speaks CNI up to 1.0.0, so every config here is 1.0.0. Known,
 * intended differences are normalised in one place (reference-compare.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureOurHostLocal,
  execHostLocal,
  explain,
  OUR_HOST_LOCAL,
  REFERENCE_HOST_LOCAL,
} from '../unit/ipam/host-local-exec.ts';
import { TempDirs } from '../unit/ipam/ipam-fixture.ts';
import {
  add,
  addressesOf,
  compare,
  del,
  expectSameStore,
  KNOWN_DIFFERENCES,
  modesOf,
  NETWORK,
  netConf,
  referenceAvailable,
} from '../unit/ipam/reference-compare.ts';

const hasReference = referenceAvailable();
const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe.skipIf(!hasReference)(`host-local: crosscni vs the reference (${KNOWN_DIFFERENCES})`, () => {
  beforeAll(() => ensureOurHostLocal(), 300_000);

  it('one range: sequential ADDs with different container ids', () => {
    const { ours } = compare(dirs, { ranges: [[{ subnet: '10.51.0.0/24' }]] }, [
      add('c1'),
      add('c2'),
      add('c3'),
    ]);
    expect(ours.map(addressesOf)).toEqual([['10.51.0.2/24'], ['10.51.0.3/24'], ['10.51.0.4/24']]);
  });

  it('the legacy single range at the ipam level', () => {
    compare(dirs, { subnet: '10.52.0.0/28', rangeStart: '10.52.0.5', gateway: '10.52.0.14' }, [
      add('c1'),
      add('c2'),
    ]);
  });

  it('rangeStart/rangeEnd with a gateway inside the range, up to exhaustion', () => {
    const ipam = {
      ranges: [
        [{ subnet: '10.53.0.0/24', rangeStart: '10.53.0.10', rangeEnd: '10.53.0.14', gateway: '10.53.0.12' }],
      ],
    };
    const { ours, reference } = compare(dirs, ipam, [
      add('c1'),
      add('c2'),
      add('c3'),
      add('c4'),
      add('c5'),
      add('c6'),
    ]);
    expect(ours.slice(0, 4).flatMap(addressesOf)).toEqual([
      '10.53.0.10/24',
      '10.53.0.11/24',
      '10.53.0.13/24',
      '10.53.0.14/24',
    ]);
    // Both fail on a full range and name it; the codes differ (999 vs 5).
    for (const answer of [ours[4]!, ours[5]!, reference[4]!, reference[5]!]) {
      expect(answer.exitCode).not.toBe(0);
      expect(answer.doc?.msg as string).toContain('10.53.0.10-10.53.0.14');
    }
    expect(reference[4]!.doc?.code).toBe(999);
    expect(ours[4]!.doc?.code).toBe(5);
  });

  it('dual-stack with routes, IPv6 written in a non-canonical form', () => {
    const ipam = {
      ranges: [
        [{ subnet: '10.54.0.0/24', gateway: '10.54.0.254' }],
        [{ subnet: 'fd54:0:0:0::/120', rangeStart: 'fd54::0010', rangeEnd: 'fd54:0::0012' }],
      ],
      routes: [
        { dst: '0.0.0.0/0' },
        { dst: '::/0', gw: 'fd54::1' },
        { dst: '192.168.54.0/24', gw: '10.54.0.253' },
      ],
    };
    const { ours } = compare(dirs, ipam, [add('c1'), add('c2'), add('c3'), add('c4')]);
    expect(ours.map(addressesOf)).toEqual([
      ['10.54.0.1/24', 'fd54::10/120'],
      ['10.54.0.2/24', 'fd54::11/120'],
      ['10.54.0.3/24', 'fd54::12/120'],
      [],
    ]);
  });

  it('several ranges in one set: wrap-around from the last range to the first', () => {
    const ipam = {
      ranges: [
        [
          { subnet: '10.55.0.0/24', rangeStart: '10.55.0.20', rangeEnd: '10.55.0.21' },
          { subnet: '10.55.1.0/24', rangeStart: '10.55.1.30', rangeEnd: '10.55.1.31' },
        ],
      ],
    };
    compare(dirs, ipam, [
      add('c1'),
      add('c2'),
      add('c3'),
      del('c1'),
      add('c4'),
      add('c5'),
      del('c3'),
      add('c6'),
    ]);
  });

  it('requested address via CNI_ARGS IP=, then round robin continues after it', () => {
    const ipam = { ranges: [[{ subnet: '10.56.0.0/24' }]] };
    const { ours } = compare(dirs, ipam, [
      add('c1', 'IP=10.56.0.50'),
      add('c2'),
      add('c3', 'IP=10.56.0.50'),
      add('c4'),
    ]);
    expect(ours.map(addressesOf)).toEqual([['10.56.0.50/24'], ['10.56.0.51/24'], [], ['10.56.0.52/24']]);
  });

  it('requested address via args.cni.ips and a requested gateway (refused by both)', () => {
    const ipam = { ranges: [[{ subnet: '10.57.0.0/24' }]] };
    compare(dirs, ipam, [
      { call: { command: 'ADD', containerId: 'c1' }, extra: { args: { cni: { ips: ['10.57.0.9'] } } } },
      add('c2', 'IP=10.57.0.1'),
      add('c3'),
    ]);
  });

  it('requested addresses at the edges of the default ranges (IPv4 broadcast excluded, IPv6 last included)', () => {
    const ipam = { ranges: [[{ subnet: '10.63.0.0/24' }], [{ subnet: 'fd63::/120' }]] };
    // (The reference 1.1.1 takes one address in CNI_ARGS IP=; more go through args.cni.ips.)
    const { ours } = compare(dirs, ipam, [
      add('c1', 'IP=10.63.0.254'),
      { call: { command: 'ADD', containerId: 'c2' }, extra: { args: { cni: { ips: ['fd63::ff'] } } } },
      add('c3', 'IP=10.63.0.255'),
      add('c4', 'IP=10.63.0.0'),
      add('c5', 'IP=fd63::'),
      add('c6'),
    ]);
    expect(addressesOf(ours[0]!)).toEqual(['10.63.0.254/24', 'fd63::2/120']);
    expect(addressesOf(ours[1]!)).toEqual(['10.63.0.2/24', 'fd63::ff/120']);
    // Each refused ADD reserved and released one address per set before failing, and that
    // still moved round robin on, in both plugins: c6 gets .6, not .3.
    expect(addressesOf(ours[5]!)).toEqual(['10.63.0.6/24', 'fd63::6/120']);
  });

  it('DEL then ADD: round robin continues after the last reservation', () => {
    const ipam = { ranges: [[{ subnet: '10.58.0.0/24' }], [{ subnet: 'fd58::/64' }]] };
    const { ours } = compare(dirs, ipam, [
      add('c1'),
      add('c2'),
      add('c3'),
      del('c2'),
      add('c4'),
      del('c4'),
      del('c4'),
    ]);
    expect(addressesOf(ours[4]!)).toEqual(['10.58.0.5/24', 'fd58::5/64']);
  });

  it('a second ADD for the same attachment is refused by both, and the store is unchanged', () => {
    const { ours, reference } = compare(dirs, { ranges: [[{ subnet: '10.59.0.0/24' }]] }, [
      add('c1'),
      add('c1'),
    ]);
    expect(reference[1]!.doc?.msg as string).toContain('duplicate allocation is not allowed');
    expect(ours[1]!.doc?.msg as string).toContain('duplicate allocation is not allowed');
  });

  it('resolvConf becomes the same dns', () => {
    const dir = dirs.make('crosscni-diff-resolv-');
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(
      resolv,
      '# test\nnameserver 10.60.0.53\nnameserver fd60::53\ndomain example.test\nsearch example.test corp.test\noptions ndots:3 rotate\n' +
        '  ; indented comment\nsearch more.test\noptions timeout:1 # trailing\nsortlist 10.0.0.0\nnameserver\n',
    );
    const { ours } = compare(dirs, { ranges: [[{ subnet: '10.60.0.0/24' }]], resolvConf: resolv }, [
      add('c1'),
    ]);
    expect(ours[0]!.doc?.dns).toEqual({
      nameservers: ['10.60.0.53', 'fd60::53'],
      domain: 'example.test',
      search: ['example.test', 'corp.test', 'more.test'],
      options: ['ndots:3', 'rotate', 'timeout:1', '#', 'trailing'],
    });
  });

  it('the files have the same bytes and modes (0644 files, 0755 directory, 0750 lock)', () => {
    const refDir = dirs.make('crosscni-diff-mode-ref-');
    const ourDir = dirs.make('crosscni-diff-mode-ours-');
    const ipam = { ranges: [[{ subnet: '10.64.0.0/24' }], [{ subnet: 'fd64::/120' }]] };
    expect(execHostLocal(REFERENCE_HOST_LOCAL, { command: 'ADD' }, netConf(refDir, ipam)).exitCode).toBe(0);
    expect(execHostLocal(OUR_HOST_LOCAL, { command: 'ADD' }, netConf(ourDir, ipam)).exitCode).toBe(0);
    expect(modesOf(ourDir)).toMatchObject({ [NETWORK]: '755', [`${NETWORK}/10.64.0.2`]: '644' });
    expectSameStore(refDir, ourDir);
  });

  it('runtimeConfig.ipRanges are prepended to the configured range sets', () => {
    const runtimeConfig = { ipRanges: [[{ subnet: '10.65.0.0/24' }]] };
    const { ours } = compare(dirs, { ranges: [[{ subnet: 'fd65::/64' }]] }, [
      { call: { command: 'ADD', containerId: 'c1' }, extra: { runtimeConfig } },
      { call: { command: 'ADD', containerId: 'c2' }, extra: { runtimeConfig } },
      { call: { command: 'DEL', containerId: 'c1' }, extra: { runtimeConfig } },
    ]);
    expect(addressesOf(ours[1]!)).toEqual(['10.65.0.3/24', 'fd65::3/64']);
  });

  it('one address requested through args.cni.ips and runtimeConfig.ips is one request', () => {
    const extra = { args: { cni: { ips: ['10.66.0.20'] } }, runtimeConfig: { ips: ['10.66.0.20'] } };
    const { ours } = compare(dirs, { ranges: [[{ subnet: '10.66.0.0/24' }]] }, [
      { call: { command: 'ADD', containerId: 'c1' }, extra },
      add('c2'),
    ]);
    expect(ours.map(addressesOf)).toEqual([['10.66.0.20/24'], ['10.66.0.21/24']]);
  });

  it('routes written in non-canonical form come back the same', () => {
    compare(
      dirs,
      {
        ranges: [[{ subnet: '10.67.0.0/24' }]],
        routes: [{ dst: 'FD00:0::/64', gw: 'FD00::00FE' }, { dst: '10.0.0.5/8' }, { dst: '0.0.0.0/0' }],
      },
      [add('c1')],
    );
  });

  it('DEL of a container with an id-only reservation (the pre-0.7 format)', () => {
    const ipam = { ranges: [[{ subnet: '10.68.0.0/24' }]] };
    const legacy = (dir: string) => {
      mkdirSync(join(dir, NETWORK), { recursive: true });
      writeFileSync(join(dir, NETWORK, '10.68.0.50'), 'old');
      writeFileSync(join(dir, NETWORK, '10.68.0.51'), 'other');
    };
    const refDir = dirs.make('crosscni-diff-legacy-ref-');
    const ourDir = dirs.make('crosscni-diff-legacy-ours-');
    legacy(refDir);
    legacy(ourDir);
    for (const call of [
      { command: 'CHECK', containerId: 'old' },
      { command: 'ADD', containerId: 'old' },
      { command: 'DEL', containerId: 'old' },
      { command: 'CHECK', containerId: 'old' },
    ] as const) {
      const r = execHostLocal(REFERENCE_HOST_LOCAL, call, netConf(refDir, ipam));
      const o = execHostLocal(OUR_HOST_LOCAL, call, netConf(ourDir, ipam));
      expect(o.exitCode === 0, `${call.command}: ${explain(r)} / ${explain(o)}`).toBe(r.exitCode === 0);
    }
    expectSameStore(refDir, ourDir);
  });

  it('CHECK agrees: success while held, failure after DEL', () => {
    const ipam = { ranges: [[{ subnet: '10.61.0.0/24' }]] };
    compare(dirs, ipam, [add('c1'), { call: { command: 'CHECK', containerId: 'c1' } }, del('c1')]);
    compare(dirs, ipam, [{ call: { command: 'CHECK', containerId: 'c1' } }]);
  });
});

describe.skipIf(hasReference)('host-local: crosscni vs the reference (skipped)', () => {
  it.skip(`skipped: ${REFERENCE_HOST_LOCAL} is missing (apt-get install containernetworking-plugins)`, () => {});
});
