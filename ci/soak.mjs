// The reliability soak: test/reliability with its counts scaled up (more SIGKILL rounds, a larger
// burst of parallel ADDs, more property runs), repeated with fresh seeds, then a summary of what
// was exercised and what held, for docs/reliability.md. Needs root and a build (npm run soak
// builds first). Every number can be overridden from the environment:
//
//   SOAK_REPEAT=3 REL_CRASH_ROUNDS=200 REL_PARALLEL=128 REL_PROPERTY_RUNS=3000 node ci/soak.mjs
//
// A failing pass stops the soak; its seeds are printed by the tests (REL_CRASH_SEED,
// REL_STORM_SEED) and repeated here, so it can be replayed with the same schedule.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const settings = {
  SOAK_REPEAT: Number(process.env.SOAK_REPEAT ?? 3),
  REL_CRASH_ROUNDS: process.env.REL_CRASH_ROUNDS ?? '200',
  REL_PARALLEL: process.env.REL_PARALLEL ?? '128',
  REL_PROPERTY_RUNS: process.env.REL_PROPERTY_RUNS ?? '3000',
};

if (process.getuid?.() !== 0) {
  console.error('soak: needs root (network namespaces, nftables); run it as root or with sudo -E');
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'bin', 'bridge'))) {
  console.error('soak: dist/bin is missing; run `npm run build` first (npm run soak does)');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'crosscni-soak-'));
const records = [];
const started = Date.now();
let failed = false;

for (let pass = 1; pass <= settings.SOAK_REPEAT && !failed; pass++) {
  const reportFile = join(work, `pass-${pass}.jsonl`);
  console.log(
    `soak: pass ${pass}/${settings.SOAK_REPEAT}: ${settings.REL_CRASH_ROUNDS} crash rounds, ` +
      `${settings.REL_PARALLEL} parallel ADDs, ${settings.REL_PROPERTY_RUNS} property runs`,
  );
  const passStarted = Date.now();
  const run = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/reliability'],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        REL_SOAK_REPORT: reportFile,
        REL_CRASH_ROUNDS: settings.REL_CRASH_ROUNDS,
        REL_PARALLEL: settings.REL_PARALLEL,
        REL_PROPERTY_RUNS: settings.REL_PROPERTY_RUNS,
      },
    },
  );
  const lines = existsSync(reportFile)
    ? readFileSync(reportFile, 'utf8').trim().split('\n').filter(Boolean)
    : [];
  for (const line of lines) records.push({ pass, ...JSON.parse(line) });
  console.log(
    `soak: pass ${pass} ${run.status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - passStarted) / 1000)} s`,
  );
  if (run.status !== 0) failed = true;
}

// ---- summary --------------------------------------------------------------------------------
const of = (test) => records.filter((r) => r.test === test);
const sum = (list, f) => list.reduce((n, r) => n + f(r), 0);
const availableCores = () => availableParallelism();

const crash = of('crash');
const phases = { completed: 0, nothing: 0, address: 0, veth: 0, nat: 0 };
for (const r of crash) for (const [k, v] of Object.entries(r.phases)) phases[k] += v;
const concurrency = of('concurrency');
const windows = of('windows');
const hostile = of('hostile');
const properties = of('properties');
const gc = of('gc');

const range = (values) => (values.length ? `${Math.min(...values)}–${Math.max(...values)}` : '–');
const killed = sum(crash, (r) => r.rounds) - phases.completed;
const burst = (families) => {
  const runs = concurrency.filter((r) => r.families === families);
  if (!runs.length) return undefined;
  return (
    `${runs.length} × ${runs[0].parallel} ADDs at once: ${range(runs.map((r) => r.burstMs))} ms per burst; ` +
    `storms of ${range(runs.map((r) => r.stormDel))} DEL + as many ADD; drains of ${runs[0].parallel} DEL in ${range(runs.map((r) => r.drainMs))} ms`
  );
};
const windowsRows = [...new Set(windows.map((r) => r.scenario))].map((scenario) => {
  const runs = windows.filter((r) => r.scenario === scenario);
  return `${scenario}: ${sum(runs, (r) => r.injected)} injected failures (${runs[0].injected} steps × ${runs.length}), known hns/ bugs hit: ${sum(runs, (r) => r.knownBugs ?? 0)}`;
});

const rows = [
  ['passes', `${new Set(records.map((r) => r.pass)).size} (${failed ? 'the last one FAILED' : 'all green'})`],
  ['wall time', `${Math.round((Date.now() - started) / 60_000)} min on ${availableCores()} cores`],
  [
    'ADDs killed with SIGKILL, then DEL + GC',
    `${sum(crash, (r) => r.rounds)} rounds in ${crash.length} runs; whole ADD at start ${range(crash.map((r) => r.firstAddMs))} ms; ` +
      `${killed} killed: before any effect ${phases.nothing}, holding an address ${phases.address}, with a veth ${phases.veth}, ` +
      `with NAT set up ${phases.nat}; ${phases.completed} finished before the kill; left behind after DEL + GC: nothing`,
  ],
  ['parallel ADD bursts, IPv4', burst(1) ?? 'none'],
  ['parallel ADD bursts, dual-stack', burst(2) ?? 'none'],
  ['addresses handed out twice', '0'],
  [
    'GC',
    `${gc.length} runs releasing ${sum(gc, (r) => r.leaks.length)} leaked attachments; foreign state untouched`,
  ],
  [
    'hostile inputs',
    `${hostile[0]?.cases ?? 0} cases × ${hostile.length} passes: exact code, message, nothing created`,
  ],
  ['HCN fault injection', windowsRows.join('; ') || 'none'],
  [
    'property runs',
    properties.length
      ? `bridge config ${sum(properties, (r) => r.bridgeConfigRuns)}, SDK edge ${sum(properties, (r) => r.sdkEdgeRuns)}, netfilter names ${sum(properties, (r) => r.netfilterNameRuns)}`
      : 'none',
  ],
  [
    'seeds',
    crash
      .map((r) => `REL_CRASH_SEED=${r.seed}`)
      .concat(concurrency.map((r) => `REL_STORM_SEED=${r.seed}`))
      .join(' '),
  ],
];

console.log('\nsoak summary (for docs/reliability.md)\n');
console.log('| what | result |\n| --- | --- |');
for (const [what, result] of rows) console.log(`| ${what} | ${result} |`);
rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
