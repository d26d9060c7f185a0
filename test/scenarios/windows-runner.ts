/**
 * Runs the WCN scenarios of one plugin on the Windows backend against the HCN emulator, the
 * plugin invoked in-process exactly as its executable would be (environment + config bytes),
 * with the platform chosen from the environment. Observed through HNS's own answers: the
 * network and endpoint documents HNS holds (type, adapter, subnets, addresses, DNS, routes,
 * every policy), the endpoint's place in the pod's namespace, and the CNI result, which must be
 * the one the Linux runner gets. Then CHECK, DEL, and containerd's second DEL without a namespace.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HcnClient } from '../../hns/client.ts';
import { endpointName } from '../../hns/endpoint-spec.ts';
import { createWindowsPlatform } from '../../hns/index.ts';
import type { Platform } from '../../platform/contract.ts';
import { natPlugin } from '../../plugins/nat/plugin.ts';
import { sdnbridgePlugin } from '../../plugins/sdnbridge/plugin.ts';
import { type CniPlugin, invokePlugin } from '../../plugins/sdk/skel.ts';
import { distBin } from '../support/plugin-exec.ts';
import { type Emulator, expectNoLeaks, startEmulator } from '../windows/emulator-harness.ts';
import { scenariosOf, type WcnScenario } from './wcn-scenarios.ts';

const PLUGINS: Record<WcnScenario['plugin'], CniPlugin> = { nat: natPlugin, sdnbridge: sdnbridgePlugin };
const CONTAINER_ID = 'c0ffee0123456789';

export interface WindowsCall {
  command: string;
  namespace: string;
  args?: string;
}

/** One in-process plugin call; returns the exit code and the parsed stdout document. */
export async function callPlugin(
  plugin: CniPlugin,
  call: WindowsCall,
  config: unknown,
): Promise<{ exitCode: number; json: Record<string, unknown> }> {
  const env = {
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: CONTAINER_ID,
    CNI_NETNS: call.namespace,
    CNI_IFNAME: 'eth0',
    CNI_PATH: distBin,
    CNI_ARGS: call.args ?? 'IgnoreUnknown=1',
    // The invocation's environment chooses the platform (platform/select.ts), not process.env.
    CROSSCNI_PLATFORM: process.env.CROSSCNI_PLATFORM,
    CROSSCNI_HCN_LIBRARY: process.env.CROSSCNI_HCN_LIBRARY,
  };
  const out = await invokePlugin(async () => plugin, env, Buffer.from(JSON.stringify(config)));
  return {
    exitCode: out.exitCode,
    json: out.stdout.trim() ? (JSON.parse(out.stdout) as Record<string, unknown>) : {},
  };
}

/** The emulator, a platform for namespaces, an HNS client, and the environment plugins read. */
export function useEmulatedWindows(): {
  emu: () => Emulator;
  platform: () => Platform;
  hns: () => HcnClient;
} {
  let emu: Emulator;
  let platform: Platform;
  let hns: HcnClient;
  const saved = { ...process.env };
  beforeAll(async () => {
    emu = await startEmulator();
    platform = createWindowsPlatform({ env: { CROSSCNI_HCN_LIBRARY: emu.path } });
    hns = new HcnClient(emu.transport);
    // The plugins pick their platform from the environment, as a plugin process does.
    process.env.CROSSCNI_PLATFORM = 'windows';
    process.env.CROSSCNI_HCN_LIBRARY = emu.path;
  });
  beforeEach(() => emu.hooks.reset());
  afterEach(() => expectNoLeaks(emu.hooks));
  afterAll(() => {
    process.env = saved;
  });
  return { emu: () => emu, platform: () => platform, hns: () => hns };
}

async function runScenario(
  scenario: WcnScenario,
  platform: Platform,
  hns: HcnClient,
  dataDir: string,
): Promise<void> {
  const plugin = PLUGINS[scenario.plugin];
  const network = `wcn-${scenario.plugin}`;
  const config = scenario.config({ network, dataDir });
  const namespace = await platform.createNamespace('pod');

  const added = await callPlugin(plugin, { command: 'ADD', namespace, args: scenario.cniArgs }, config);
  expect(added.exitCode, JSON.stringify(added.json)).toBe(0);
  const result = added.json as {
    interfaces: Array<{ name: string; sandbox?: string }>;
    ips: Array<{ address: string; gateway?: string; interface: number }>;
    routes: unknown;
    dns?: unknown;
  };
  // The same result as on Linux: addresses, gateways, routes, DNS.
  expect(result.ips.map(({ address, gateway }) => ({ address, gateway }))).toEqual(scenario.result.ips);
  expect(result.routes).toEqual(scenario.result.routes);
  expect(result.dns).toEqual(scenario.result.dns);
  expect(result.interfaces).toEqual([expect.objectContaining({ name: 'eth0', sandbox: namespace })]);

  // The network document HNS holds.
  const hcnNetwork = await hns.findNetworkByName(network);
  expect(hcnNetwork).toMatchObject({ Type: scenario.windows.networkType });
  expect(hcnNetwork?.Policies ?? []).toEqual(scenario.windows.networkPolicies);
  expect(hcnNetwork?.Ipams?.[0]?.Subnets).toEqual(scenario.windows.subnets);

  // The endpoint document: addresses, DNS, routes, every policy, and its namespace.
  const endpoint = await hns.findEndpointByName(endpointName(CONTAINER_ID, 'eth0'));
  expect(endpoint?.IpConfigurations).toEqual(
    scenario.result.ips.map((ip) => ({
      IpAddress: ip.address.split('/')[0],
      PrefixLength: Number(ip.address.split('/')[1]),
    })),
  );
  expect(endpoint?.Dns).toEqual(scenario.windows.dns);
  expect(endpoint?.Routes).toEqual(scenario.windows.endpointRoutes);
  expect(endpoint?.Policies).toEqual(scenario.windows.policies);
  expect(endpoint?.HostComputeNamespace?.toLowerCase()).toBe(namespace.toLowerCase());
  const ns = await hns.getNamespace(namespace);
  expect(JSON.stringify(ns?.Resources)).toContain(endpoint!.ID);

  const checked = await callPlugin(
    plugin,
    { command: 'CHECK', namespace, args: scenario.cniArgs },
    { ...config, prevResult: result },
  );
  expect(checked.exitCode, JSON.stringify(checked.json)).toBe(0);

  for (const ns of [namespace, '']) {
    const deleted = await callPlugin(
      plugin,
      { command: 'DEL', namespace: ns, args: scenario.cniArgs },
      config,
    );
    expect(deleted.exitCode, JSON.stringify(deleted.json)).toBe(0);
  }
  expect(await hns.findEndpointByName(endpointName(CONTAINER_ID, 'eth0'))).toBeUndefined();
  expect(JSON.stringify((await hns.getNamespace(namespace))?.Resources ?? [])).not.toContain(endpoint!.ID);
  expect(readdirSync(join(dataDir, network)).filter((f) => isIP(f) !== 0)).toEqual([]);
  await platform.deleteNamespace(namespace);
}

/** describe() blocks for every scenario of `plugin` on the emulated HCN. */
export function describeWindowsScenarios(plugin: WcnScenario['plugin']): void {
  const windows = useEmulatedWindows();
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'crosscni-wcn-win-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  describe(`${plugin} scenarios on the emulated HCN`, () => {
    for (const scenario of scenariosOf(plugin)) {
      test(`${scenario.name}: documents, policies, namespace, result; CHECK; DEL`, async () => {
        await runScenario(scenario, windows.platform(), windows.hns(), dataDir);
      });
    }
  });
}
