/**
 * `npm run bench`: crosscni against Debian's reference CNI plugins on this host, side by side,
 * through the crosscni runtime library. Sets up both suites, runs the phases, prints the table
 * and the target verdicts, writes the markdown table, and removes everything it made (DEL of
 * whatever is still cached, namespaces, bridges, netfilter tables, temporary files) on success,
 * failure or interrupt. A wrong answer from either suite stops the run with exit status 1.
 * Loaded by ci/bench.mjs, which bundles it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findTool } from '../../linux/nft.ts';
import { machineFacts, pluginEnvironment, Scratch } from './host.ts';
import { type BenchOptions, OptionsError, parseOptions, USAGE } from './options.ts';
import type { PhaseContext } from './operations.ts';
import { parallelPhase, sequentialPhase, versionPhase } from './phases.ts';
import { scalePhase } from './scale.ts';
import { markdownReport, type Row, textReport, verdicts } from './report.ts';
import {
  CASES,
  caseNetworks,
  missingTypes,
  pickOctets,
  SUITES,
  type SuiteNetwork,
  setUpSuites,
} from './suites.ts';

export interface BenchInvocation {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  root: string;
}

function log(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/** Debian's plugins, installed with apt-get when the default directory lacks them. */
function ensureReference(options: BenchOptions): void {
  if (existsSync(join(options.referenceBin, 'bridge'))) return;
  if (options.referenceBin !== '/usr/lib/cni') {
    throw new OptionsError(`no reference bridge plugin in ${options.referenceBin}`);
  }
  log('installing the reference plugins: apt-get install containernetworking-plugins');
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'containernetworking-plugins'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (!install()) throw new OptionsError('apt-get could not install containernetworking-plugins');
  }
}

function preflight(options: BenchOptions): void {
  if (process.getuid?.() !== 0)
    throw new OptionsError('the bench needs root (network namespaces, bridges, netfilter)');
  if (!existsSync(join(options.crosscniBin, 'bridge'))) {
    throw new OptionsError(
      `no crosscni bridge in ${options.crosscniBin}: run \`npm run build\` (npm run bench does)`,
    );
  }
  for (const tool of ['ip', 'nft', 'iptables-save', 'iptables-restore']) {
    if (!findTool(tool))
      throw new OptionsError(`${tool} is not installed (bash ci/setup-host.sh installs it)`);
  }
  ensureReference(options);
}

/** DEL, through the runtime, of every attachment still cached: a failed run leaves no containers. */
function delLeftovers(nets: SuiteNetwork[]): () => Promise<void> {
  return async () => {
    for (const net of nets) {
      for (const att of await net.runtime.getCachedAttachments(net.network).catch(() => [])) {
        const rt = { containerId: att.containerId, netns: att.netns ?? '', ifname: att.ifname };
        await net.runtime.delNetworkList(net.list, rt).catch(() => undefined);
      }
    }
  };
}

export async function runBench(invocation: BenchInvocation): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(invocation.argv, invocation.env, invocation.root);
    if (options.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    preflight(options);
  } catch (e) {
    if (!(e instanceof OptionsError)) throw e;
    process.stderr.write(`bench: ${e.message}\n${USAGE}`);
    return 2;
  }

  const scratch = new Scratch();
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= scratch.cleanup();
    return cleaning;
  };
  // `on`, not `once`: execa's signal-exit re-raises a signal that no other listener handles,
  // which would kill the process in the middle of the cleanup. Repeated signals are ignored.
  const onSignal = (signal: NodeJS.Signals) => {
    if (cleaning) return;
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = performance.now();
  const rows: Row[] = [];
  try {
    const ctx: PhaseContext = {
      options,
      scratch,
      setup: setUpSuites(options, scratch),
      rows,
      key: {},
      defects: [],
      notes: [],
      progress: log,
    };
    const { removed } = pluginEnvironment();
    if (removed.length) {
      ctx.notes.push(
        `Plugins and the floor ran without ${removed.join(', ')} (set in this shell; a runtime's environment does not carry them, and NODE_EXTRA_CA_CERTS alone adds about 35 ms to every Node start).`,
      );
    }
    const octets = pickOctets(2 * CASES.length, options.octet);
    const facts = machineFacts(invocation.root);
    log(
      `crosscni from ${options.crosscniBin} (run from a copy: ${ctx.setup.pluginDirs.crosscni}), reference from ${options.referenceBin}; IPAM: ${ctx.setup.ipamNote}`,
    );
    for (const [c, benchCase] of CASES.entries()) {
      if (!options.cases.has(benchCase.id)) continue;
      const missing = missingTypes(ctx.setup, benchCase);
      if (missing.length) {
        rows.push({
          section: benchCase.title,
          label: 'skipped',
          note: `not built yet: ${missing.join(', ')}`,
        });
        log(`${benchCase.id}: skipped, missing ${missing.join(', ')}`);
        continue;
      }
      const nets = caseNetworks(ctx.setup, benchCase, [octets[2 * c]!, octets[2 * c + 1]!], scratch);
      scratch.onCleanup(delLeftovers(SUITES.map((s) => nets[s])));
      log(
        `${benchCase.id}: crosscni ${nets.crosscni.subnet} on ${nets.crosscni.bridge}, reference ${nets.reference.subnet} on ${nets.reference.bridge}`,
      );
      if (benchCase.id === 'bridge' && options.phases.has('version'))
        await versionPhase(ctx, nets, ctx.setup.ownIpam);
      if (options.phases.has('sequential')) await sequentialPhase(ctx, nets);
      if (options.phases.has('parallel')) await parallelPhase(ctx, nets);
      if (benchCase.id === 'bridge' && options.phases.has('scale')) await scalePhase(ctx, nets);
    }
    const list = verdicts(ctx.key, options);
    process.stdout.write(
      `\n${textReport(rows, list, ctx.defects, ctx.notes, facts, options, ctx.setup.ipamNote)}`,
    );
    mkdirSync(dirname(options.markdownFile), { recursive: true });
    writeFileSync(
      options.markdownFile,
      markdownReport(rows, list, ctx.defects, ctx.notes, facts, options, ctx.setup.ipamNote),
    );
    log(`markdown table: ${options.markdownFile}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return 0;
  } catch (e) {
    process.stderr.write(`\nbench: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
    if (rows.length) process.stderr.write('bench: no table is written for a failed run\n');
    return 1;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
