/**
 * The cross-OS scenarios (test/scenarios/bridge-loopback-scenarios.ts) on the Linux kernel
 * (root): every command runs the built executables from dist/bin as a runtime does, inside a
 * throwaway "host" namespace (so bridges, sysctls and nftables live and die with it), for
 * containers in their own namespaces. The outcome is read from the kernel: addresses and
 * routes in the container's namespace (`ip -j`), the bridge's addresses and ports, and the
 * network's nftables table (`nft -j`) for masquerade and forwarded ports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, it } from 'vitest';
import { networkTable } from '../../linux/netfilter-names.ts';
import { SCENARIOS, type ScenarioRun } from '../scenarios/bridge-loopback-scenarios.ts';
import { readNftView } from '../scenarios/linux-nft-view.ts';
import type { Observation, ScenarioDriver } from '../scenarios/scenario-driver.ts';
import { runScenario } from '../scenarios/scenario-runner.ts';
import { isRoot, KernelScratch, sh, skipReason, type TestNamespace, uniqueName } from '../support/kernel.ts';
import { distBin } from '../support/plugin-exec.ts';

interface IpLink {
  ifindex: number;
  link_index?: number;
  flags: string[];
  addr_info?: Array<{ local: string; prefixlen: number; scope: string }>;
}

interface IpRoute {
  dst: string;
  gateway?: string;
}

if (!isRoot) console.warn(`scenarios-linux.test.ts skipped: ${skipReason}`);

let scratch: KernelScratch | undefined;
afterEach(() => {
  scratch?.cleanup();
  scratch = undefined;
});

/** `ip -j` in a namespace; [] when the namespace or device does not exist. */
function ipJson<T>(netns: string, args: string[]): T[] {
  const run = spawnSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' });
  return run.status === 0 && run.stdout.trim() ? (JSON.parse(run.stdout) as T[]) : [];
}

function globalAddresses(link: IpLink | undefined): string[] {
  return (link?.addr_info ?? [])
    .filter((a) => a.scope !== 'link' && a.scope !== 'host')
    .map((a) => `${a.local}/${a.prefixlen}`);
}

function linuxDriver(host: TestNamespace, s: KernelScratch): ScenarioDriver {
  const nsName = (netns: string) => basename(netns);
  return {
    os: 'linux',
    cniPath: distBin,
    async invoke(type, env, config) {
      const run = spawnSync('ip', ['netns', 'exec', host.name, join(distBin, type)], {
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
        input: JSON.stringify(config),
        encoding: 'utf8',
        timeout: 60_000,
      });
      return {
        exitCode: run.status ?? -1,
        stdout: run.stdout,
        stderr: `${run.stderr} ${run.signal ?? ''} ${run.error ?? ''}`,
      };
    },
    async createNamespace() {
      return s.namespace('sc').path;
    },
    async loseNamespace(netns) {
      sh('ip', ['netns', 'del', nsName(netns)]);
    },
    async establish(given, list) {
      if (given !== 'conflicting-network') throw new Error(`no way to establish ${given}`);
      // A device of the bridge's name that is not a bridge (veth: every kernel here has it).
      const bridge = String(list.plugins[0]?.bridge);
      sh('ip', [
        '-n',
        host.name,
        'link',
        'add',
        bridge,
        'type',
        'veth',
        'peer',
        'name',
        `${bridge.slice(0, 14)}p`,
      ]);
    },
    async observe(list, _run, a): Promise<Observation> {
      const bridge = String(list.plugins[0]?.bridge);
      const container = ipJson<IpLink>(nsName(a.netns), ['addr', 'show', 'dev', a.ifname])[0];
      const ports = ipJson<IpLink>(host.name, ['link', 'show', 'master', bridge]);
      const routes: Observation['routes'] = [];
      for (const family of ['-4', '-6']) {
        for (const r of container
          ? ipJson<IpRoute>(nsName(a.netns), [family, 'route', 'show', 'dev', a.ifname])
          : []) {
          const dst = r.dst === 'default' ? (family === '-4' ? '0.0.0.0/0' : '::/0') : r.dst;
          routes.push(r.gateway ? { dst, gw: r.gateway } : { dst });
        }
      }
      const table = spawnSync(
        'ip',
        ['netns', 'exec', host.name, 'nft', '-j', 'list', 'table', 'inet', networkTable(list.name)],
        {
          encoding: 'utf8',
        },
      );
      const nft =
        table.status === 0 ? readNftView(table.stdout) : { masqueraded: [], exceptions: [], forwardings: [] };
      const observation: Observation = {
        // The container interface's peer is a port of the bridge.
        attached: container !== undefined && ports.some((p) => p.ifindex === container.link_index),
        addresses: globalAddresses(container),
        routes,
        dns: null,
        hostGateways: globalAddresses(ipJson<IpLink>(host.name, ['addr', 'show', 'dev', bridge])[0]),
        forwardings: nft.forwardings.filter((f) => a.formerIps.includes(f.containerIp)),
      };
      if (nft.masqueraded.some((ip) => a.formerIps.includes(ip)))
        observation.outboundNat = { exceptions: nft.exceptions };
      return observation;
    },
    async observeLoopback(a) {
      const lo = ipJson<IpLink>(nsName(a.netns), ['addr', 'show', 'dev', 'lo'])[0];
      if (!lo) return null;
      const addresses = (lo.addr_info ?? []).map((x) => `${x.local}/${x.prefixlen}`);
      return { up: lo.flags.includes('UP'), addresses };
    },
  };
}

describe.skipIf(!isRoot)(
  `cross-OS scenarios on the Linux kernel (built executables)${isRoot ? '' : ` (${skipReason})`}`,
  () => {
    for (const scenario of SCENARIOS) {
      const gaps = (scenario.knownGaps ?? []).filter((g) => g.os === 'linux');
      const note = gaps.length ? ` [known gap: ${gaps.map((g) => `${g.aspect}: ${g.why}`).join('; ')}]` : '';
      it(`${scenario.name}${note}`, async () => {
        const s = new KernelScratch();
        scratch = s;
        const dataDir = mkdtempSync(join(tmpdir(), 'crosscni-scen-'));
        s.onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
        const host = s.namespace('sh');
        sh('ip', ['-n', host.name, 'link', 'set', 'lo', 'up']);
        const run: ScenarioRun = { network: uniqueName('scen'), bridge: uniqueName('sbr'), dataDir };
        await runScenario(scenario, run, linuxDriver(host, s));
      });
    }
  },
);
