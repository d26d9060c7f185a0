/**
 * Runs the WCN scenarios of one plugin against the real kernel (root): ADD through the built
 * executable inside a throwaway host namespace (linux-harness.ts), then what an operator would
 * check — the result, addresses and routes in the container, the masquerade, DNAT and ACL
 * rules, TCP connections in and out — then CHECK, DEL and a second DEL without a namespace,
 * after which nothing of the attachment may remain.
 */
import { readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attachmentHash, networkTable } from '../../linux/netfilter-names.ts';
import type { ResultRoute } from '../../plugins/sdk/result.ts';
import { isRoot, linkExists, skipReason, uniqueName } from '../support/kernel.ts';
import { forwardsPort, portMappingsSkipReason, ScenarioHost } from './linux-harness.ts';
import { scenariosOf, type TcpProbe, type WcnScenario } from './wcn-scenarios.ts';

const CONTAINER_ID = 'c0ffee0123456789';

interface IpRoute {
  dst: string;
  gateway?: string;
}

function normaliseDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

function containerRoutes(h: ScenarioHost): Array<{ dst: string; gw?: string }> {
  const out: Array<{ dst: string; gw?: string }> = [];
  for (const family of [4, 6] as const) {
    for (const r of h.json<IpRoute[]>(h.container, [`-${family}`, 'route', 'show', 'dev', 'eth0'])) {
      out.push(
        r.gateway
          ? { dst: normaliseDst(r.dst, family), gw: r.gateway }
          : { dst: normaliseDst(r.dst, family) },
      );
    }
  }
  return out;
}

/** A result route as the kernel holds it: without gw it goes through its family's gateway. */
function kernelRoute(route: ResultRoute, scenario: WcnScenario): { dst: string; gw?: string } {
  if (route.gw) return { dst: route.dst, gw: route.gw };
  const v6 = route.dst.includes(':');
  const gw = scenario.result.ips.find((ip) => ip.address.includes(':') === v6)?.gateway;
  return gw ? { dst: route.dst, gw } : { dst: route.dst };
}

function chainBody(tableText: string, chain: string): string {
  const at = tableText.indexOf(`chain ${chain} {`);
  // The chain ends at its own closing brace, alone on a line (sets inside rules have braces too).
  return at < 0 ? '' : tableText.slice(at, tableText.indexOf('\n\t}', at));
}

function runScenario(scenario: WcnScenario, h: ScenarioHost): void {
  const network = uniqueName('wcn');
  const config = scenario.config({ network, dataDir: h.dataDir });
  const inet = networkTable(network);
  const hash = attachmentHash(CONTAINER_ID, 'eth0');
  h.setUpOutside(scenario.linux.outside);

  const added = h.exec(scenario.plugin, 'ADD', config, { args: scenario.cniArgs });
  expect(added.exitCode, added.stdout + added.stderr).toBe(0);
  const result = added.json as {
    interfaces: Array<{ name: string; sandbox?: string }>;
    ips: Array<{ address: string; gateway?: string; interface: number }>;
    routes: ResultRoute[];
    dns?: unknown;
  };
  expect(result.ips.map(({ address, gateway }) => ({ address, gateway }))).toEqual(scenario.result.ips);
  expect(result.routes).toEqual(scenario.result.routes);
  expect(result.dns).toEqual(scenario.result.dns);
  const [bridge, hostPort, container] = result.interfaces;
  expect(container).toMatchObject({ name: 'eth0', sandbox: h.container.path });
  expect(result.ips.every((ip) => ip.interface === 2)).toBe(true);

  // The kernel: addresses and routes in the container, the bridge carrying the uplink (sdnbridge).
  const addresses = h.json<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(h.container, [
    'addr',
    'show',
    'dev',
    'eth0',
  ]);
  const present = addresses[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
  for (const ip of scenario.result.ips) expect(present).toContain(ip.address);
  const routes = containerRoutes(h);
  for (const route of scenario.result.routes) expect(routes).toContainEqual(kernelRoute(route, scenario));
  const uplink = h.json<Array<{ master?: string }>>(h.host, ['link', 'show', 'dev', 'Ethernet'])[0];
  if (scenario.plugin === 'sdnbridge') expect(uplink?.master).toBe(bridge!.name);
  else expect(uplink?.master).toBeUndefined();

  // Netfilter: masquerade with the exceptions, DNAT for the mapped ports, ACL chains.
  for (const route of scenario.linux.outside.routesViaOutside ?? []) {
    h.ip(h.host, ['route', 'add', route, 'via', scenario.linux.outside.address.split('/')[0]!]);
  }
  const nat = h.nft('inet', inet);
  const masquerade = nat.split('\n').find((l) => l.includes('ip saddr @masq4')) ?? '';
  for (const exception of scenario.linux.masqueradeExceptions ?? []) expect(masquerade).toContain(exception);
  const portSkip = portMappingsSkipReason();
  if (!portSkip) {
    for (const d of scenario.linux.dnat ?? []) {
      expect(forwardsPort(nat, d.hostPort, d.ip, d.port), `${d.hostPort} -> ${d.ip}:${d.port}`).toBe(true);
    }
  }
  const filter = h.nft('bridge', inet);
  for (const rule of scenario.linux.aclRules?.out ?? [])
    expect(chainBody(filter, `ao-${hash}`)).toContain(rule);
  for (const rule of scenario.linux.aclRules?.in ?? [])
    expect(chainBody(filter, `ai-${hash}`)).toContain(rule);
  const port = h.json<Array<{ linkinfo?: { info_slave_data?: { hairpin?: boolean } } }>>(h.host, [
    '-d',
    'link',
    'show',
    'dev',
    hostPort!.name,
  ])[0];
  expect(port?.linkinfo?.info_slave_data?.hairpin ?? false).toBe(scenario.linux.hairpin ?? false);

  // CHECK with the result as prevResult passes.
  const checked = h.exec(
    scenario.plugin,
    'CHECK',
    { ...config, prevResult: result },
    { args: scenario.cniArgs },
  );
  expect(checked.exitCode, checked.stdout).toBe(0);

  // DEL, then containerd's second DEL without a namespace: nothing of the attachment remains.
  for (const netns of [h.container.path, '']) {
    const deleted = h.exec(scenario.plugin, 'DEL', config, { netns, args: scenario.cniArgs });
    expect(deleted.exitCode, deleted.stdout).toBe(0);
  }
  expect(linkExists('eth0', h.container.name)).toBe(false);
  const after = h.nft('inet', inet) + h.nft('bridge', inet);
  for (const ip of scenario.result.ips) expect(after).not.toContain(` ${ip.address.split('/')[0]} `);
  expect(after).not.toContain(hash);
  // host-local's store keeps one file per allocated address: none may be left.
  expect(readdirSync(join(h.dataDir, network)).filter((f) => isIP(f) !== 0)).toEqual([]);
}

async function runProbes(scenario: WcnScenario, h: ScenarioHost, probes: TcpProbe[]): Promise<void> {
  const network = uniqueName('wcn');
  const config = scenario.config({ network, dataDir: h.dataDir });
  h.setUpOutside(scenario.linux.outside);
  const added = h.exec(scenario.plugin, 'ADD', config, { args: scenario.cniArgs });
  expect(added.exitCode, added.stdout + added.stderr).toBe(0);
  for (const route of scenario.linux.outside.routesViaOutside ?? []) {
    h.ip(h.host, ['route', 'add', route, 'via', scenario.linux.outside.address.split('/')[0]!]);
  }
  // A probe with a serverPort goes through a mapped port to the container; others go outside.
  const toOutside = [...new Set(probes.filter((p) => p.serverPort === undefined).map((p) => p.port))];
  const toContainer = [...new Set(probes.flatMap((p) => (p.serverPort === undefined ? [] : [p.serverPort])))];
  if (toOutside.length) await h.serve(h.outside, toOutside);
  if (toContainer.length) await h.serve(h.container, toContainer);
  for (const probe of probes) {
    const from = { container: h.container, client: h.outside, host: h.host }[probe.from];
    const got = h.probe(from, probe.to, probe.port);
    const want = probe.expect === 'blocked' ? 'blocked' : `peer=${probe.expect.peer}`;
    expect(`${probe.from} -> ${probe.to}:${probe.port}: ${got}`).toBe(
      `${probe.from} -> ${probe.to}:${probe.port}: ${want}`,
    );
  }
}

/** describe() blocks for every scenario of `plugin`. */
export function describeLinuxScenarios(plugin: WcnScenario['plugin']): void {
  let current: ScenarioHost | undefined;
  afterEach(() => {
    current?.cleanup();
    current = undefined;
  });
  const host = () => {
    current = new ScenarioHost();
    return current;
  };
  describe.skipIf(!isRoot)(
    `${plugin} scenarios on the Linux kernel${isRoot ? '' : ` (${skipReason})`}`,
    () => {
      for (const scenario of scenariosOf(plugin)) {
        describe(scenario.name, () => {
          it('ADD gives the expected result and kernel state; CHECK passes; DEL leaves nothing', () => {
            runScenario(scenario, host());
          });
          it('TCP connections go where the config says (masquerade, exceptions, ACLs)', async () => {
            await runProbes(
              scenario,
              host(),
              scenario.linux.probes.filter((p) => !p.needsPortMappings),
            );
          });
          const portSkip = portMappingsSkipReason();
          if (!scenario.linux.probes.some((p) => p.needsPortMappings)) return;
          it.skipIf(portSkip !== undefined)(
            `a TCP connection from another namespace through the mapped port reaches the container${portSkip ? ` (${portSkip})` : ''}`,
            async () => {
              await runProbes(
                scenario,
                host(),
                scenario.linux.probes.filter((p) => p.needsPortMappings),
              );
            },
          );
        });
      }
    },
  );
}
