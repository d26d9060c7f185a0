/**
 * The two suites under comparison and the cases they run. A suite is one plugin directory
 * (CNI_PATH) with its own CniRuntime and result cache; per case it gets its own network: the
 * same configuration shape for both suites, only the network name, bridge, subnet and IPAM
 * dataDir differ. The reference (Debian's containernetworking-plugins 1.1.1) speaks CNI up to
 * 1.0.0, so every configuration is cniVersion 1.0.0.
 */
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { networkTable } from '../../linux/netfilter-names.ts';
import type { CapabilityArgs, NetworkConfigList } from '../../runtime/index.ts';
import { CniRuntime, parseNetworkList } from '../../runtime/index.ts';
import { pluginEnvironment, randomHex, removeReferenceNetfilter, type Scratch, sh } from './host.ts';
import type { BenchOptions } from './options.ts';
import { netfilterText } from './verify.ts';

export type SuiteId = 'crosscni' | 'reference';
export const SUITES: readonly SuiteId[] = ['crosscni', 'reference'];

export interface BenchCase {
  id: 'bridge' | 'chain';
  title: string;
  /** Plugin types the list runs, in order; a suite lacking one skips the case. */
  types: readonly string[];
  /** Why CHECK is not measured, when it is not. */
  noCheck?: string;
  /** The runtime's capability arguments for container `index` of a suite in a phase. */
  capabilityArgs?(suite: SuiteId, index: number, phase: string, portBase: number): CapabilityArgs;
}

const PHASE_PORTS: Record<string, number> = { s: 0, p: 300 };
/** Host ports a run may use: crosscni [base, base + 1000), the reference the next 1000. */
const PORT_BLOCK = 2000;

function hostPortOf(portBase: number, suite: SuiteId, index: number, phase: string): number {
  return portBase + (suite === 'crosscni' ? 0 : 1000) + (PHASE_PORTS[phase] ?? 600) + index;
}

/** A block of host ports no netfilter rule on this host forwards yet (leftovers of others too). */
export function pickPortBase(netfilter: string): number {
  const used = [...netfilter.matchAll(/(?:dports? |(?:tcp|udp|sctp) \. )(\d+)/g)].map((m) => Number(m[1]));
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20000 + PORT_BLOCK * Math.floor(Math.random() * 20);
    if (!used.some((port) => port >= base && port < base + PORT_BLOCK)) return base;
  }
  throw new Error('no free block of host ports in 20000-59999 (leftover port forwards?)');
}

export const CASES: readonly BenchCase[] = [
  { id: 'bridge', title: 'bridge + host-local + ipMasq', types: ['bridge', 'host-local'] },
  {
    id: 'chain',
    title: 'bridge → portmap → bandwidth',
    types: ['bridge', 'host-local', 'portmap', 'bandwidth'],
    noCheck: 'reference portmap CHECK fails on IPv4-only (containernetworking/plugins#819)',
    capabilityArgs: (suite, index, phase, portBase) => ({
      // A port per container of the whole run, so a leftover rule is blamed on its own container.
      portMappings: [
        { hostPort: hostPortOf(portBase, suite, index, phase), containerPort: 80, protocol: 'tcp' },
      ],
      bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 },
    }),
  },
];

/** One suite's network for one case. */
export interface SuiteNetwork {
  suite: SuiteId;
  benchCase: BenchCase;
  runtime: CniRuntime;
  pluginDir: string;
  network: string;
  bridge: string;
  /** "10.250.K." */
  prefix: string;
  subnet: string;
  gateway: string;
  /** host-local's store directory: <dataDir>/<network>. */
  storeDir: string;
  list: NetworkConfigList;
}

/** A network list of the shape the issue names, for one suite. */
function conflist(
  benchCase: BenchCase,
  network: string,
  bridge: string,
  subnet: string,
  dataDir: string,
): string {
  const plugins: Array<Record<string, unknown>> = [
    {
      type: 'bridge',
      bridge,
      isGateway: true,
      ipMasq: true,
      ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir },
    },
  ];
  if (benchCase.types.includes('portmap')) {
    plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  }
  if (benchCase.types.includes('bandwidth'))
    plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } });
  return JSON.stringify({ cniVersion: '1.0.0', name: network, plugins });
}

/** Third octets already routed or addressed on this host within 10.250.0.0/16. */
function octetsInUse(): Set<number> {
  const text = `${sh('ip', ['-4', 'route', 'show', 'table', 'all'])}\n${sh('ip', ['-4', 'addr'])}`;
  const used = new Set<number>();
  for (const match of text.matchAll(/\b10\.250\.(\d+)\./g)) used.add(Number(match[1]));
  // A wider route (10.250.0.0/16 and the like) covers every octet.
  if (/\b10\.250\.0\.0\/(1[0-6]|[0-9])\b/.test(text)) for (let i = 0; i < 256; i++) used.add(i);
  return used;
}

/** A free run of `count` octets, random so that concurrent runs and tests rarely meet. */
export function pickOctets(count: number, wanted?: number): number[] {
  const used = octetsInUse();
  const free = (base: number) =>
    Array.from({ length: count }, (_, i) => base + i).every((o) => o < 255 && !used.has(o));
  if (wanted !== undefined) {
    if (!free(wanted)) throw new Error(`10.250.${wanted}.0/24 .. +${count - 1} are in use on this host`);
    return Array.from({ length: count }, (_, i) => wanted + i);
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 100 + 4 * Math.floor(Math.random() * 36);
    if (free(base)) return Array.from({ length: count }, (_, i) => base + i);
  }
  throw new Error('no free 10.250.K.0/24 subnets on this host; pass --octet');
}

export interface SuiteSetup {
  /** Plugin directory per suite (crosscni's is a snapshot of the build, see setUpSuites). */
  pluginDirs: Record<SuiteId, string>;
  /** crosscni's bridge runs crosscni's own host-local (else the reference's, exec'd). */
  ownIpam: boolean;
  /** What runs as crosscni's IPAM, for the report. */
  ipamNote: string;
  runtimes: Record<SuiteId, CniRuntime>;
  tmpRoot: string;
  run: string;
  /** First host port of this run's port mappings. */
  portBase: number;
}

export function setUpSuites(options: BenchOptions, scratch: Scratch): SuiteSetup {
  const tmpRoot = mkdtempSync(join(tmpdir(), 'crosscni-bench-'));
  scratch.dir(tmpRoot);
  // A private copy of the build: a rebuild during the run (other engineers, CI) rewrites the
  // native addons in place, and a plugin that has them mapped dies with SIGSEGV.
  const crosscniDir = join(tmpRoot, 'crosscni-bin');
  cpSync(options.crosscniBin, crosscniDir, { recursive: true, dereference: true });
  const ownIpam = existsSync(join(crosscniDir, 'host-local')) && !options.referenceIpam;
  let ipamNote = "crosscni's host-local (run in-process by the bridge plugin)";
  if (!ownIpam) {
    // crosscni's plugins with the reference's host-local in place of its own.
    rmSync(join(crosscniDir, 'host-local'), { force: true });
    symlinkSync(join(options.referenceBin, 'host-local'), join(crosscniDir, 'host-local'));
    ipamNote = options.referenceIpam
      ? "the reference host-local (exec'd; --reference-ipam)"
      : "the reference host-local (exec'd): crosscni has no host-local build";
  }
  const { env } = pluginEnvironment();
  const pluginDirs: Record<SuiteId, string> = { crosscni: crosscniDir, reference: options.referenceBin };
  const runtimes = {} as Record<SuiteId, CniRuntime>;
  for (const suite of SUITES) {
    runtimes[suite] = new CniRuntime({
      pluginDirs: [pluginDirs[suite]],
      cacheDir: join(tmpRoot, `cache-${suite}`),
      env,
    });
  }
  return {
    pluginDirs,
    ownIpam,
    ipamNote,
    runtimes,
    tmpRoot,
    run: randomHex(3),
    portBase: pickPortBase(netfilterText()),
  };
}

/** Plugin types of a case missing from a suite's directory. */
export function missingTypes(setup: SuiteSetup, benchCase: BenchCase): string[] {
  return SUITES.flatMap((suite) =>
    benchCase.types.filter((t) => !existsSync(join(setup.pluginDirs[suite], t))).map((t) => `${suite} ${t}`),
  );
}

/** Networks of one case for both suites, registered for cleanup. */
export function caseNetworks(
  setup: SuiteSetup,
  benchCase: BenchCase,
  octets: readonly [number, number],
  scratch: Scratch,
): Record<SuiteId, SuiteNetwork> {
  const out = {} as Record<SuiteId, SuiteNetwork>;
  SUITES.forEach((suite, i) => {
    const octet = octets[i]!;
    const tag = `${suite === 'crosscni' ? 'c' : 'r'}${benchCase.id === 'bridge' ? 'b' : 'p'}`;
    const network = `cxbench-${setup.run}-${tag}`;
    const bridge = `cxb${setup.run}${tag}`;
    const dataDir = join(setup.tmpRoot, `ipam-${tag}`);
    const subnet = `10.250.${octet}.0/24`;
    const text = conflist(benchCase, network, bridge, subnet, dataDir);
    scratch.link(bridge);
    scratch.nftTable(`inet ${networkTable(network)}`);
    scratch.nftTable(`bridge ${networkTable(network)}`);
    scratch.onCleanup(() => removeReferenceNetfilter(network));
    out[suite] = {
      suite,
      benchCase,
      runtime: setup.runtimes[suite],
      pluginDir: setup.pluginDirs[suite],
      network,
      bridge,
      prefix: `10.250.${octet}.`,
      subnet,
      gateway: `10.250.${octet}.1`,
      storeDir: join(dataDir, network),
      list: parseNetworkList(Buffer.from(text), `${suite} ${benchCase.id} bench network`),
    };
  });
  return out;
}
