/**
 * Shared fixture of the reliability suite: one uniquely named bridge network (bridge device,
 * host-local dataDir, result cache dir, nft table) per test, the built plugins run as a runtime
 * runs them (synchronously, as killable child processes, or through CniRuntime), and
 * `leftovers()`, the one definition of "nothing left" every test asserts against: host veths on
 * the bridge, container interfaces, address files in the IPAM store, elements and rules in the
 * network's nft table, and result cache entries. Seeded randomness lives here too, so every
 * randomised test prints a seed that replays it. Holds no assertions.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { networkTable } from '../../linux/netfilter-names.ts';
import { CniRuntime } from '../../runtime/cni-runtime.ts';
import { type NetworkConfigList, parseNetworkList } from '../../runtime/network-config.ts';
import {
  ipJson,
  KernelScratch,
  linkExists,
  type TestNamespace,
  trySh,
  uniqueName,
} from '../support/kernel.ts';
import { distBin, execPluginSync, type PluginAnswer } from '../support/plugin-exec.ts';

export type Json = Record<string, unknown>;
export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

// ---- seeded randomness ------------------------------------------------------------------------

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed named by `variable`, else a fresh one; print it so a failure can be replayed. */
export function seedFrom(variable: string): number {
  const given = process.env[variable];
  return given ? Number(given) : randomBytes(4).readUInt32BE(0);
}

/** A number from the environment (soak sizes), else the CI default. */
export function sizeFrom(variable: string, fallback: number): number {
  const given = Number(process.env[variable]);
  return Number.isFinite(given) && given > 0 ? Math.floor(given) : fallback;
}

/**
 * Record a measurement for the soak summary (ci/soak.mjs sets REL_SOAK_REPORT to a file and
 * prints what the tests appended); a no-op in an ordinary run.
 */
export function report(test: string, numbers: Record<string, unknown>): void {
  const file = process.env.REL_SOAK_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify({ test, ...numbers })}\n`);
}

// ---- the network under test ---------------------------------------------------------------------

export interface NetworkOptions {
  /** First range set's subnet; default a /24 in 10.17x. */
  subnets?: string[];
  /** Extra top-level bridge keys. */
  extra?: Json;
  /** Extra ipam keys. */
  ipam?: Json;
  cniVersion?: string;
}

export interface BridgeNetwork {
  scratch: KernelScratch;
  name: string;
  bridge: string;
  dataDir: string;
  cacheDir: string;
  /** The nft table of the network (inet family for masquerade, bridge family for mac spoof). */
  table: string;
  /** The single-plugin config the plugin gets on stdin (no prevResult). */
  config(extra?: Json): Json;
  /** The same as a one-plugin network list, for CniRuntime. */
  list(): NetworkConfigList;
  runtime(timeoutMs?: number): CniRuntime;
  namespace(): TestNamespace;
}

const live: KernelScratch[] = [];

export function bridgeNetwork(options: NetworkOptions = {}): BridgeNetwork {
  const scratch = new KernelScratch();
  live.push(scratch);
  const dataDir = mkdtempSync(join(tmpdir(), 'crosscni-rel-ipam-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'crosscni-rel-cache-'));
  scratch.onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  scratch.onCleanup(() => rmSync(cacheDir, { recursive: true, force: true }));
  const name = uniqueName('rel');
  const table = networkTable(name);
  scratch.nftTable('inet', table);
  scratch.nftTable('bridge', table);
  const bridge = scratch.link(uniqueName('rbr'));
  const subnets = options.subnets ?? ['10.171.0.0/24'];
  const cniVersion = options.cniVersion ?? '1.1.0';
  const plugin: Json = {
    type: 'bridge',
    bridge,
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: true,
    ipam: {
      type: 'host-local',
      ranges: subnets.map((subnet) => [{ subnet }]),
      dataDir,
      ...options.ipam,
    },
    ...options.extra,
  };
  const listBytes = Buffer.from(JSON.stringify({ cniVersion, name, plugins: [plugin] }));
  return {
    scratch,
    name,
    bridge,
    dataDir,
    cacheDir,
    table,
    config: (extra = {}) => ({ cniVersion, name, ...plugin, ...extra }),
    list: () => parseNetworkList(listBytes, `${name}.conflist`),
    runtime: (timeoutMs = 60_000) => new CniRuntime({ pluginDirs: [distBin], cacheDir, timeoutMs }),
    namespace: () => scratch.namespace('rns'),
  };
}

/** Remove every network made since the last call (afterEach), whatever the test did. */
export function cleanupNetworks(): void {
  for (const scratch of live.splice(0)) scratch.cleanup();
}

// ---- running plugins ---------------------------------------------------------------------------

export interface Call {
  command: Command;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
}

/** Run the bridge executable to completion (stdin may be raw bytes for hostile input). */
export function runBridge(call: Call, config: Json | string | Buffer, type = 'bridge'): PluginAnswer {
  if (Buffer.isBuffer(config)) return runRaw(type, call, config);
  return execPluginSync(type, call, config);
}

function pluginEnv(call: Call): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    CNI_PATH: distBin,
  };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  return env;
}

function runRaw(type: string, call: Call, stdin: Buffer): PluginAnswer {
  const run = spawnSync(join(distBin, type), [], {
    env: pluginEnv(call),
    input: stdin,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const answer: PluginAnswer = { exitCode: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  if (run.stdout.trim()) answer.json = JSON.parse(run.stdout) as Json;
  return answer;
}

export interface AsyncAnswer {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json?: Json;
  durationMs: number;
}

export interface RunningPlugin {
  child: ChildProcess;
  done: Promise<AsyncAnswer>;
}

/** Start the bridge executable as a child process: many at once, or one to kill. */
export function startBridge(call: Call, config: Json): RunningPlugin {
  const started = performance.now();
  const child = spawn(join(distBin, 'bridge'), [], { env: pluginEnv(call), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  // A child killed before reading its stdin closes the pipe: that is expected here.
  child.stdin?.on('error', () => {});
  child.stdin?.end(JSON.stringify(config));
  const done = new Promise<AsyncAnswer>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const answer: AsyncAnswer = {
        exitCode,
        signal,
        stdout,
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
      };
      try {
        if (stdout.trim()) answer.json = JSON.parse(stdout) as Json;
      } catch {
        // not JSON: the caller reports stdout as it is
      }
      resolve(answer);
    });
  });
  return { child, done };
}

export function describeAnswer(answer: { exitCode: number | null; stdout: string; stderr: string }): string {
  return `exit ${answer.exitCode}: ${answer.stdout.trim()} ${answer.stderr.trim().slice(-1500)}`;
}

// ---- what is left --------------------------------------------------------------------------------

export interface Leftovers {
  /** Host links enslaved to the bridge (the host ends of veths). */
  bridgePorts: string[];
  /** Container interfaces still present, as "<netns>/<ifname>". */
  containerInterfaces: string[];
  /** Address files in the IPAM store (one per reserved address). */
  reservations: string[];
  /** Anything else in the store but lock, last_reserved_ip.N, host-local's owner index (.crosscni-owners) and the old .crosscni index dir. */
  storeDebris: string[];
  /** Entries of the .crosscni index. */
  indexEntries: string[];
  /** Elements of the network's masquerade sets. */
  natElements: string[];
  /** Result cache entries of the network. */
  cacheEntries: string[];
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Address files and other files of the network's host-local directory. */
export function storeFiles(net: BridgeNetwork): {
  reservations: string[];
  debris: string[];
  index: string[];
} {
  const dir = join(net.dataDir, net.name);
  const reservations: string[] = [];
  const debris: string[] = [];
  for (const name of list(dir)) {
    if (isIP(name)) reservations.push(name);
    else if (
      name !== 'lock' &&
      name !== '.crosscni' &&
      name !== '.crosscni-owners' &&
      !/^last_reserved_ip\.\d+$/.test(name)
    )
      debris.push(name);
  }
  const index = list(join(dir, '.crosscni'));
  return { reservations: reservations.sort(), debris: debris.sort(), index: index.sort() };
}

/** Owner text of one reservation ("<id>\r\n<ifname>"). */
export function reservationOwner(net: BridgeNetwork, address: string): string {
  return readFileSync(join(net.dataDir, net.name, address), 'latin1');
}

interface NftSetListing {
  nftables?: Array<{ set?: { name: string; elem?: unknown[] } }>;
}

/** Elements of the network's masquerade sets, as "<address> <comment>". */
export function natElements(network: string): string[] {
  const run = spawnSync('nft', ['-j', 'list', 'table', 'inet', networkTable(network)], { encoding: 'utf8' });
  if (run.status !== 0) return [];
  const out: string[] = [];
  for (const item of (JSON.parse(run.stdout) as NftSetListing).nftables ?? []) {
    for (const elem of item.set?.elem ?? []) {
      if (typeof elem === 'string') out.push(elem);
      else {
        const inner = (elem as { elem?: { val?: unknown; comment?: unknown } }).elem;
        out.push(`${String(inner?.val)} ${String(inner?.comment ?? '')}`.trim());
      }
    }
  }
  return out.sort();
}

/** The rules of the network's postrouting chain, as nft prints them. */
export function natRules(network: string): string[] {
  const run = spawnSync('nft', ['list', 'chain', 'inet', networkTable(network), 'postrouting'], {
    encoding: 'utf8',
  });
  if (run.status !== 0) return [];
  return run.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('masquerade'));
}

export function bridgePorts(bridge: string): string[] {
  if (!linkExists(bridge)) return [];
  return ipJson<Array<{ ifname: string }>>(['link', 'show', 'master', bridge])
    .map((l) => l.ifname)
    .sort();
}

export function cacheEntries(net: BridgeNetwork): string[] {
  return list(join(net.cacheDir, 'results'))
    .filter((f) => f.startsWith(`${net.name}-`))
    .sort();
}

/** Everything the network holds now; `probes` are container interfaces to look for. */
export function leftovers(
  net: BridgeNetwork,
  probes: Array<{ netns: TestNamespace; ifname?: string }> = [],
): Leftovers {
  const store = storeFiles(net);
  return {
    bridgePorts: bridgePorts(net.bridge),
    containerInterfaces: probes
      .filter(
        (p) => list('/run/netns').includes(p.netns.name) && linkExists(p.ifname ?? 'eth0', p.netns.name),
      )
      .map((p) => `${p.netns.name}/${p.ifname ?? 'eth0'}`),
    reservations: store.reservations,
    storeDebris: store.debris,
    indexEntries: store.index,
    natElements: natElements(net.name),
    cacheEntries: cacheEntries(net),
  };
}

export const NOTHING: Leftovers = {
  bridgePorts: [],
  containerInterfaces: [],
  reservations: [],
  storeDebris: [],
  indexEntries: [],
  natElements: [],
  cacheEntries: [],
};

/** Delete a test namespace now (the runtime removing a pod sandbox). */
export function removeNamespace(ns: TestNamespace): void {
  trySh('ip', ['netns', 'del', ns.name]);
}

export function addresses(result: Json | undefined): string[] {
  return ((result?.ips as Array<{ address: string }> | undefined) ?? []).map((ip) => ip.address);
}
