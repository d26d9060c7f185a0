/**
 * Hostile input: a corpus of environments and configurations a confused or malicious caller
 * could hand the bridge executable. Each case asserts the exact CNI error code, a message that
 * names the problem, and that nothing was created: no bridge, no nft table, no reservation, no
 * interface in the namespace, no tagged veth. Names that could escape a path, a device name, an
 * nft comment or a PowerShell argument never get that far. Driven through the built executable
 * (the process edge: stdin limits, non-UTF-8 bytes) with crosscni's host-local in-process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkTable } from '../../linux/netfilter-names.ts';
import {
  ipJson,
  isRoot,
  KernelScratch,
  linkExists,
  skipReason,
  type TestNamespace,
} from '../support/kernel.ts';
import { type Call, describeAnswer, type Json, report, runBridge } from './fixture.ts';

const NETWORK = `hostile${process.pid}`;
const BRIDGE = `hbr${process.pid}`.slice(0, 15);
/** The exhausted-range case fills its range on a bridge of its own, so BRIDGE stays absent. */
const FULL_BRIDGE = `hfb${process.pid}`.slice(0, 15);

// Fixed at load time: the corpus below is built before beforeAll runs.
const dataDir = join(tmpdir(), `crosscni-hostile-${process.pid}`);
const spareFile = join(dataDir, 'regular-file');
let scratch: KernelScratch;
let ns: TestNamespace;

beforeAll(() => {
  if (!isRoot) return;
  scratch = new KernelScratch();
  ns = scratch.namespace('hns');
  scratch.link(BRIDGE);
  scratch.link(FULL_BRIDGE);
  scratch.nftTable('inet', networkTable(NETWORK));
  scratch.nftTable('bridge', networkTable(NETWORK));
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(spareFile, '');
});
afterAll(() => {
  scratch?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function config(extra: Json = {}, ipam: Json = {}): Json {
  return {
    cniVersion: '1.1.0',
    name: NETWORK,
    type: 'bridge',
    bridge: BRIDGE,
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.173.0.0/24' }]], dataDir, ...ipam },
    ...extra,
  };
}

interface Case {
  name: string;
  /** Environment overrides of the default ADD call. */
  call?: Partial<Call>;
  /** The config (default: config()), or raw stdin bytes. */
  stdin?: Json | Buffer;
  code: number;
  msg: RegExp;
  /** Runs first, outside the "nothing created" window (e.g. filling the range). */
  before?: () => void;
}

const LONG_ID = 'a'.repeat(1025);
const nested = (depth: number) =>
  Buffer.from(`{"cniVersion":"1.1.0","x":${'['.repeat(depth)}${']'.repeat(depth)}}`);

const CASES: Case[] = [
  // ---- container id (a file name in the IPAM store and the result cache) ----
  {
    name: 'container id with path traversal',
    call: { containerId: '../../etc/passwd' },
    code: 4,
    msg: /CNI_CONTAINERID has characters outside \[a-zA-Z0-9_.-\]/,
  },
  {
    name: 'container id with a slash',
    call: { containerId: 'abc/def' },
    code: 4,
    msg: /CNI_CONTAINERID has characters outside/,
  },
  {
    name: 'container id starting with a dot',
    call: { containerId: '.hidden' },
    code: 4,
    msg: /does not start with a letter or digit/,
  },
  {
    name: 'container id starting with a dash (option injection)',
    call: { containerId: '-rf' },
    code: 4,
    msg: /does not start with a letter or digit/,
  },
  {
    name: 'container id with shell metacharacters',
    call: { containerId: 'abc;rm -rf /' },
    code: 4,
    msg: /CNI_CONTAINERID has characters outside/,
  },
  {
    name: 'container id with a PowerShell subexpression',
    call: { containerId: 'abc`$(Stop-Computer)' },
    code: 4,
    msg: /CNI_CONTAINERID has characters outside/,
  },
  {
    name: 'container id with a newline',
    call: { containerId: 'abc\ndef' },
    code: 4,
    msg: /CNI_CONTAINERID has characters outside/,
  },
  {
    name: 'container id over 1024 characters',
    call: { containerId: LONG_ID },
    code: 4,
    msg: /CNI_CONTAINERID has characters outside/,
  },
  // ---- interface name (a device name) ----
  {
    name: 'ifname longer than 15 bytes',
    call: { ifname: 'eth0123456789abc' },
    code: 4,
    msg: /CNI_IFNAME is longer than 15 bytes/,
  },
  {
    name: 'ifname of 9 characters but 18 UTF-8 bytes',
    call: { ifname: 'ééééééééé' },
    code: 4,
    msg: /CNI_IFNAME is longer than 15 bytes/,
  },
  {
    name: 'ifname with a slash (path traversal)',
    call: { ifname: '../eth0' },
    code: 4,
    msg: /CNI_IFNAME contains "\/", ":" or white space/,
  },
  { name: 'ifname ".."', call: { ifname: '..' }, code: 4, msg: /CNI_IFNAME is "\." or "\.\."/ },
  {
    name: 'ifname with a colon',
    call: { ifname: 'eth:0' },
    code: 4,
    msg: /CNI_IFNAME contains "\/", ":" or white space/,
  },
  {
    name: 'ifname with a space',
    call: { ifname: 'eth 0' },
    code: 4,
    msg: /CNI_IFNAME contains "\/", ":" or white space/,
  },
  {
    name: 'ifname with a tab',
    call: { ifname: 'eth\t0' },
    code: 4,
    msg: /CNI_IFNAME contains "\/", ":" or white space/,
  },
  {
    name: 'ifname empty',
    call: { ifname: '' },
    code: 4,
    msg: /required environment variables missing for ADD: CNI_IFNAME/,
  },
  // ---- network namespace ----
  {
    name: 'netns that is a regular file',
    call: { netns: '@file' },
    code: 3,
    msg: /is not a network namespace: it is a file that is not a namespace/,
  },
  {
    name: 'netns that is a directory',
    call: { netns: '/tmp' },
    code: 3,
    msg: /\/tmp is not a network namespace: it is a directory/,
  },
  {
    name: 'netns that does not exist',
    call: { netns: '/run/netns/crosscni-no-such-ns' },
    code: 3,
    msg: /network namespace \/run\/netns\/crosscni-no-such-ns does not exist/,
  },
  {
    name: 'netns that is the host namespace',
    call: { netns: '/proc/self/ns/net' },
    code: 3,
    msg: /\/proc\/self\/ns\/net is the host's own network namespace, not a container's/,
  },
  {
    name: 'netns path traversing to the host namespace',
    call: { netns: '/run/netns/../../proc/self/ns/net' },
    code: 3,
    msg: /is the host's own network namespace/,
  },
  {
    name: 'netns that is another kind of namespace',
    call: { netns: '/proc/self/ns/mnt' },
    code: 3,
    msg: /is not a network namespace/,
  },
  // ---- stdin ----
  {
    name: 'stdin over the 1 MiB limit',
    stdin: Buffer.alloc(1024 * 1024 + 10, 0x20),
    code: 6,
    msg: /network configuration on stdin is 1048586 bytes; the limit is 1048576 bytes/,
  },
  {
    name: 'deeply nested JSON',
    stdin: nested(100_000),
    code: 6,
    msg: /network configuration on stdin is nested deeper than \d+ levels/,
  },
  {
    name: 'non-UTF-8 bytes',
    stdin: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    code: 6,
    msg: /network configuration on stdin is not valid UTF-8/,
  },
  { name: 'empty stdin', stdin: Buffer.alloc(0), code: 6, msg: /network configuration on stdin is empty/ },
  {
    name: 'stdin that is not JSON',
    stdin: Buffer.from('{"cniVersion": "1.1.0",'),
    code: 6,
    msg: /network configuration on stdin is not valid JSON/,
  },
  {
    name: 'stdin that is a JSON array',
    stdin: Buffer.from('[{"cniVersion":"1.1.0"}]'),
    code: 6,
    msg: /must be a JSON object, not an array/,
  },
  // ---- names in the config (device names, file names, nft comments, PowerShell arguments) ----
  {
    name: 'network name with path traversal (dataDir/<name>)',
    stdin: config({ name: '../../etc' }),
    code: 7,
    msg: /"name" may only hold \[a-zA-Z0-9_.-\]/,
  },
  { name: 'network name with a slash', stdin: config({ name: 'a/b' }), code: 7, msg: /"name" may only hold/ },
  { name: 'network name empty', stdin: config({ name: '' }), code: 7, msg: /"name" is required/ },
  {
    name: 'network name that would close an nft comment',
    stdin: config({ name: 'x"; flush ruleset; "' }),
    code: 7,
    msg: /"name" may only hold/,
  },
  {
    name: 'network name with a newline (nft batch injection)',
    stdin: config({ name: 'x\nflush ruleset' }),
    code: 7,
    msg: /"name" may only hold/,
  },
  {
    name: 'network name with PowerShell quoting',
    stdin: config({ name: "x'; Stop-Computer; '" }),
    code: 7,
    msg: /"name" may only hold/,
  },
  {
    name: 'network name with a PowerShell subexpression',
    stdin: config({ name: 'x$(Stop-Computer)' }),
    code: 7,
    msg: /"name" may only hold/,
  },
  {
    name: 'plugin type with a path',
    stdin: config({ type: '../../bin/sh' }),
    code: 7,
    msg: /"type" contains a path separator/,
  },
  {
    name: 'IPAM type with a path',
    stdin: config({}, { type: '/bin/sh' }),
    code: 7,
    msg: /"ipam\.type" contains a path separator/,
  },
  { name: 'IPAM type ".."', stdin: config({}, { type: '..' }), code: 7, msg: /"ipam\.type" contains "\.\."/ },
  {
    name: 'dataDir that is relative',
    stdin: config({}, { dataDir: 'var/lib/cni' }),
    code: 7,
    msg: /"ipam\.dataDir" must be an absolute path without "\.\.", not "var\/lib\/cni"/,
  },
  {
    name: 'dataDir with ".."',
    stdin: config({}, { dataDir: '/var/lib/cni/../../../etc' }),
    code: 7,
    msg: /"ipam\.dataDir" must be an absolute path without "\.\."/,
  },
  {
    name: 'bridge name with a slash',
    stdin: config({ bridge: '../cni0' }),
    code: 7,
    msg: /"bridge" contains "\/", ":" or white space/,
  },
  {
    name: 'bridge name longer than 15 bytes',
    stdin: config({ bridge: 'bridge0123456789' }),
    code: 7,
    msg: /"bridge" is longer than 15 bytes/,
  },
  {
    name: 'bridge name with a space',
    stdin: config({ bridge: 'br 0' }),
    code: 7,
    msg: /"bridge" contains "\/", ":" or white space/,
  },
  // ---- addresses and ranges ----
  {
    name: 'subnet that is not a CIDR',
    stdin: config({}, { ranges: [[{ subnet: 'not-a-cidr' }]] }),
    code: 7,
    msg: /"ipam\.ranges\[0\]\[0\]\.subnet".*not-a-cidr/,
  },
  {
    name: 'subnet with prefix /33',
    stdin: config({}, { ranges: [[{ subnet: '10.173.0.0/33' }]] }),
    code: 7,
    msg: /10\.173\.0\.0\/33/,
  },
  {
    name: 'subnet too small to allocate from',
    stdin: config({}, { ranges: [[{ subnet: '10.173.0.0/31' }]] }),
    code: 7,
    msg: /"ipam\.ranges\[0\]\[0\]\.subnet" 10\.173\.0\.0\/31 is too small to allocate from/,
  },
  {
    name: 'gateway outside the subnet',
    stdin: config({}, { ranges: [[{ subnet: '10.173.0.0/24', gateway: '10.9.9.1' }]] }),
    code: 7,
    msg: /gateway.*10\.9\.9\.1.*10\.173\.0\.0\/24|10\.9\.9\.1.*not in.*10\.173\.0\.0\/24/,
  },
  {
    name: 'rangeStart after rangeEnd',
    stdin: config(
      {},
      { ranges: [[{ subnet: '10.173.0.0/24', rangeStart: '10.173.0.200', rangeEnd: '10.173.0.100' }]] },
    ),
    code: 7,
    msg: /10\.173\.0\.200.*10\.173\.0\.100/,
  },
  {
    name: 'rangeStart outside the subnet',
    stdin: config({}, { ranges: [[{ subnet: '10.173.0.0/24', rangeStart: '10.174.0.10' }]] }),
    code: 7,
    msg: /rangeStart.*10\.174\.0\.10/,
  },
  {
    name: 'overlapping ranges in one range set',
    stdin: config({}, { ranges: [[{ subnet: '10.173.0.0/24' }, { subnet: '10.173.0.0/25' }]] }),
    code: 7,
    msg: /"ipam\.ranges\[0\]\[1\]" .*overlaps ipam\.ranges\[0\]\[0\]/,
  },
  {
    name: 'overlapping range sets',
    stdin: config({}, { ranges: [[{ subnet: '10.173.0.0/24' }], [{ subnet: '10.173.0.128/25' }]] }),
    code: 7,
    msg: /"ipam\.ranges\[1\]" overlaps range set 0/,
  },
  {
    name: 'IPv4 and IPv6 in one range set',
    stdin: config({}, { ranges: [[{ subnet: '10.173.0.0/24' }, { subnet: 'fd73::/64' }]] }),
    code: 7,
    msg: /mixes IPv4 and IPv6 in one range set/,
  },
  {
    name: 'an exhausted range (names the range, says it is full)',
    stdin: config({ bridge: FULL_BRIDGE }, { ranges: [[{ subnet: '10.173.9.0/30' }]] }),
    before: () => {
      const first = runBridge(
        { command: 'ADD', containerId: 'fills-range', netns: ns.path, ifname: 'eth9' },
        config({ bridge: FULL_BRIDGE }, { ranges: [[{ subnet: '10.173.9.0/30' }]] }),
      );
      if (first.exitCode !== 0) throw new Error(`filling the range failed: ${describeAnswer(first)}`);
    },
    code: 5,
    // Names the range and says it is full (the wording is host-local's).
    msg: /10\.173\.9\.1-10\.173\.9\.2.*\bfull\b/,
  },
  {
    name: 'requested IP outside every range (CNI_ARGS IP)',
    call: { args: 'IP=10.99.0.5' },
    code: 7,
    msg: /10\.99\.0\.5/,
  },
  {
    name: 'requested IP that is not an IP',
    call: { args: 'IP=10.99.0.500' },
    code: 7,
    msg: /10\.99\.0\.500/,
  },
  // ---- numbers and other values ----
  {
    name: 'MTU below 68',
    stdin: config({ mtu: 67 }),
    code: 7,
    msg: /"mtu" must be between 68 and 65535, not 67/,
  },
  {
    name: 'MTU above 65535',
    stdin: config({ mtu: 65536 }),
    code: 7,
    msg: /"mtu" must be between 68 and 65535, not 65536/,
  },
  {
    name: 'MTU as a string',
    stdin: config({ mtu: '1500' }),
    code: 7,
    msg: /"mtu" must be an integer, not "1500"/,
  },
  {
    name: 'MTU with a fraction',
    stdin: config({ mtu: 1500.5 }),
    code: 7,
    msg: /"mtu" must be an integer, not number 1500\.5/,
  },
  {
    name: 'VLAN id 4095',
    stdin: config({ vlan: 4095 }),
    code: 7,
    msg: /"vlan" must be between 0 and 4094, not 4095/,
  },
  {
    name: 'MAC address that is not one',
    stdin: config({ args: { cni: { mac: 'zz:zz' } } }),
    code: 7,
    msg: /invalid MAC address "zz:zz"/,
  },
  {
    name: 'cniVersion the plugin does not speak',
    stdin: config({ cniVersion: '9.9.9' }),
    code: 1,
    msg: /incompatible CNI versions: config is "9\.9\.9"/,
  },
  {
    name: 'cniVersion that is a number',
    stdin: config({ cniVersion: 1 }),
    code: 6,
    msg: /"cniVersion" must be a string/,
  },
  {
    name: 'CNI_COMMAND unknown',
    call: { command: 'ADDX' as Call['command'] },
    code: 4,
    msg: /CNI_COMMAND "ADDX" is not a CNI command/,
  },
  {
    name: 'CNI_ARGS with an unknown key',
    call: { args: 'EVIL=1' },
    code: 4,
    msg: /CNI_ARGS: unknown key "EVIL"/,
  },
];

/** What a case could have created, observed from outside. */
function observe(configured: Json | Buffer | undefined): Json {
  const name =
    configured && !Buffer.isBuffer(configured) && typeof configured.name === 'string'
      ? configured.name
      : NETWORK;
  const tables = ['inet', 'bridge'].filter(
    (family) =>
      spawnSync('nft', ['list', 'table', family, networkTable(name)], { stdio: 'ignore' }).status === 0,
  );
  const store = join(dataDir, NETWORK);
  const reservations = existsSync(store) ? readdirSync(store).filter((f) => isIP(f) !== 0) : [];
  const links = ipJson<Array<{ ifname: string }>>(['link', 'show'], ns.name).map((l) => l.ifname);
  const tagged = ipJson<Array<{ ifname: string; ifalias?: string }>>(['link', 'show', 'type', 'veth'])
    .filter(
      (l) => l.ifalias?.startsWith('crosscni-endpoint') && l.ifalias.includes(networkTable(name).slice(9)),
    )
    .map((l) => l.ifname);
  return {
    bridge: linkExists(BRIDGE),
    tables,
    reservations,
    links,
    tagged,
    dataDirEntries: readdirSync(dataDir).sort(),
  };
}

describe.skipIf(!isRoot)('hostile input: exact error, clear message, nothing created', () => {
  it(`the corpus has at least 40 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    report('hostile', { cases: CASES.length });
  });

  it.each(CASES)('$name → code $code', (c) => {
    c.before?.();
    const call: Call = {
      command: 'ADD',
      containerId: 'hostile01',
      netns: ns.path,
      ifname: 'eth0',
      ...c.call,
    };
    if (call.netns === '@file') call.netns = spareFile;
    const stdin = c.stdin ?? config();
    const before = observe(stdin);
    const answer = runBridge(call, stdin);
    expect(answer.exitCode, describeAnswer(answer)).toBe(1);
    expect(answer.json?.code, describeAnswer(answer)).toBe(c.code);
    expect(`${answer.json?.msg} ${answer.json?.details ?? ''}`, describeAnswer(answer)).toMatch(c.msg);
    // Exactly one JSON document on stdout, nothing else.
    expect(answer.stdout.trim().split('\n')).toHaveLength(1);
    expect(observe(stdin)).toEqual(before);
  });
});

describe.skipIf(isRoot)('hostile input (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
