/**
 * What a bench run is asked to do: sample sizes, phases and plugin directories, from flags
 * (`node ci/bench.mjs --n=30`, or `npm run bench -- --n=30`) or the matching BENCH_* variables.
 * Flags win over the environment. Parsing only: nothing is run here.
 */
import { join } from 'node:path';

export const PHASES = ['version', 'sequential', 'parallel', 'scale'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  /** Containers per sequential and parallel phase (fresh namespaces each). */
  n: number;
  /** Concurrent operations in the parallel phase. */
  parallel: number;
  /** Containers in the scale run (ADD latency per block of `scaleBlock` existing ones). */
  scale: number;
  scaleBlock: number;
  /** Samples per VERSION probe and of Node's floor. */
  versionRuns: number;
  phases: ReadonlySet<Phase>;
  /** Case ids to run (bridge, chain). */
  cases: ReadonlySet<string>;
  crosscniBin: string;
  referenceBin: string;
  /** Run crosscni's bridge with the reference host-local (exec'd) instead of its own. */
  referenceIpam: boolean;
  /** Third octet of the crosscni subnet (10.250.<octet>.0/24; the reference gets octet + 1). */
  octet?: number;
  markdownFile: string;
  help: boolean;
}

export const USAGE = `usage: npm run bench [-- options]   (as root; runs \`npm run build\` first)
       node ci/bench.mjs [options]

  --n=30              containers per sequential and parallel phase          (BENCH_N)
  --parallel=8        concurrent operations in the parallel phase           (BENCH_P)
  --scale=200         containers in the scale run, 0 to skip it             (BENCH_SCALE)
  --scale-block=25    existing containers per reported block                (BENCH_SCALE_BLOCK)
  --version-runs=N    samples of VERSION and of Node's floor (default: n)   (BENCH_VERSION_RUNS)
  --only=a,b          phases: version,sequential,parallel,scale             (BENCH_ONLY)
  --cases=a,b         cases: bridge (bridge + host-local + ipMasq), chain
                      (bridge → portmap → bandwidth, when both suites have them) (BENCH_CASES)
  --reference-ipam    crosscni bridge with the reference host-local         (BENCH_REFERENCE_IPAM=1)
  --octet=K           crosscni uses 10.250.K.0/24, the reference K+1        (BENCH_OCTET)
  --crosscni-bin=DIR  default dist/bin                                      (BENCH_CROSSCNI_BIN)
  --reference-bin=DIR default /usr/lib/cni                                  (BENCH_REFERENCE_BIN)
  --out=FILE          markdown table, default dist/bench/latest.md          (BENCH_OUT)
`;

export class OptionsError extends Error {}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OptionsError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

const FLAG_ENV: Record<string, string> = {
  n: 'BENCH_N',
  parallel: 'BENCH_P',
  scale: 'BENCH_SCALE',
  'scale-block': 'BENCH_SCALE_BLOCK',
  'version-runs': 'BENCH_VERSION_RUNS',
  only: 'BENCH_ONLY',
  cases: 'BENCH_CASES',
  'reference-ipam': 'BENCH_REFERENCE_IPAM',
  octet: 'BENCH_OCTET',
  'crosscni-bin': 'BENCH_CROSSCNI_BIN',
  'reference-bin': 'BENCH_REFERENCE_BIN',
  out: 'BENCH_OUT',
};

export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  root: string,
): BenchOptions {
  const given: Record<string, string> = {};
  for (const [flag, name] of Object.entries(FLAG_ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') given[flag] = value;
  }
  let help = false;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match || !(match[1]! in FLAG_ENV)) throw new OptionsError(`unknown argument "${arg}"`);
    given[match[1]!] = match[2] ?? '1';
  }
  const n = integer('--n', given.n ?? '30', 1, 250);
  const phases = new Set<Phase>();
  for (const name of (given.only ?? PHASES.join(',')).split(',').filter(Boolean)) {
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new OptionsError(`--only: unknown phase "${name}" (phases: ${PHASES.join(', ')})`);
    }
    phases.add(name as Phase);
  }
  const cases = new Set((given.cases ?? 'bridge,chain').split(',').filter(Boolean));
  for (const name of cases) {
    if (!['bridge', 'chain'].includes(name))
      throw new OptionsError(`--cases: unknown case "${name}" (bridge, chain)`);
  }
  const scale = integer('--scale', given.scale ?? '200', 0, 250);
  if (scale === 0) phases.delete('scale');
  const options: BenchOptions = {
    n,
    parallel: integer('--parallel', given.parallel ?? '8', 1, 64),
    scale,
    scaleBlock: integer('--scale-block', given['scale-block'] ?? '25', 1, 250),
    versionRuns: integer('--version-runs', given['version-runs'] ?? String(n), 1, 1000),
    phases,
    cases,
    crosscniBin: given['crosscni-bin'] ?? join(root, 'dist', 'bin'),
    referenceBin: given['reference-bin'] ?? '/usr/lib/cni',
    referenceIpam: ['1', 'true', 'yes'].includes((given['reference-ipam'] ?? '').toLowerCase()),
    markdownFile: given.out ?? join(root, 'dist', 'bench', 'latest.md'),
    help,
  };
  if (given.octet !== undefined) options.octet = integer('--octet', given.octet, 0, 254);
  return options;
}
