/**
 * The cross-OS scenarios (test/scenarios/bridge-loopback-scenarios.ts) on the Windows backend
 * against the HCN emulator. Every command runs in this process through invokePlugin, so the
 * emulator's in-memory HNS persists from ADD to DEL as HNS does on a host; IPAM is crosscni's
 * own host-local/static, which the attachment plugins run in-process from dist/bin. What the
 * scenario expects is read back from HNS's own documents: the network and its type and
 * subnets, the endpoint's IP configurations, routes, DNS and policies, the namespace it is in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { HcnClient } from '../../hns/client.ts';
import { endpointName } from '../../hns/endpoint-spec.ts';
import { sameGuid } from '../../hns/guid.ts';
import type { HcnEndpoint } from '../../hns/schema/endpoint.ts';
import { endpointPolicySettings } from '../../hns/schema/endpoint-policy.ts';
import { buildNetwork, type HcnNetwork, networkSubnets } from '../../hns/schema/network.ts';
import { netAdapterNamePolicy } from '../../hns/schema/network-policy.ts';
import { namespaceEndpointIds } from '../../hns/schema/namespace.ts';
import { loadPlatform } from '../../platform/select.ts';
import type { ResultDns } from '../../plugins/sdk/result.ts';
import { type CniPlugin, invokePlugin } from '../../plugins/sdk/skel.ts';
import { distBin } from '../support/plugin-exec.ts';
import { type Forwarding, SCENARIOS, type ScenarioRun } from '../scenarios/bridge-loopback-scenarios.ts';
import type { Observation, ScenarioDriver } from '../scenarios/scenario-driver.ts';
import { runScenario } from '../scenarios/scenario-runner.ts';
import { type Emulator, expectNoLeaks, startEmulator } from './emulator-harness.ts';

const PLUGINS: Record<string, () => Promise<CniPlugin>> = {
  bridge: async () => (await import('../../plugins/bridge/plugin.ts')).bridgePlugin,
  loopback: async () => (await import('../../plugins/loopback/plugin.ts')).loopbackPlugin,
  portmap: async () => (await import('../../plugins/portmap/plugin.ts')).portmapPlugin,
};

let emu: Emulator;
let hns: HcnClient;
const scratch = mkdtempSync(join(tmpdir(), 'crosscni-win-scen-'));

beforeAll(async () => {
  emu = await startEmulator();
  // Read when the platform is first loaded, by the first plugin call below.
  process.env.CROSSCNI_PLATFORM = 'windows';
  process.env.CROSSCNI_HCN_LIBRARY = emu.path;
  hns = new HcnClient(emu.transport);
});
beforeEach(() => emu.hooks.reset());
afterEach(() => expectNoLeaks(emu.hooks));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function dnsOf(endpoint: HcnEndpoint): ResultDns | undefined {
  const d = endpoint.Dns;
  const dns: ResultDns = {};
  if (d?.ServerList?.length) dns.nameservers = d.ServerList;
  if (d?.Domain) dns.domain = d.Domain;
  if (d?.Search?.length) dns.search = d.Search;
  if (d?.Options?.length) dns.options = d.Options;
  return Object.keys(dns).length ? dns : undefined;
}

/** The host's gateway on each subnet: HNS gives the host the next hop of the subnet's default route. */
function hostGateways(network: HcnNetwork | undefined): string[] {
  if (!network) return [];
  return networkSubnets(network).flatMap((subnet) => {
    const length = subnet.IpAddressPrefix?.split('/')[1];
    const gateway = subnet.Routes?.find(
      (r) => r.DestinationPrefix === '0.0.0.0/0' || r.DestinationPrefix === '::/0',
    );
    return gateway?.NextHop && length ? [`${gateway.NextHop}/${length}`] : [];
  });
}

function forwardings(endpoint: HcnEndpoint, addresses: string[]): Forwarding[] {
  const byFamily = (v6: boolean) =>
    addresses.map((a) => a.split('/')[0]!).find((ip) => ip.includes(':') === v6) ?? '';
  return endpointPolicySettings(endpoint.Policies, 'PortMapping').map((p) => ({
    protocol: p.Protocol === 17 ? 'udp' : 'tcp',
    hostPort: p.ExternalPort,
    containerPort: p.InternalPort,
    // HNS forwards to the endpoint's address of the policy's family (Flags bit 2 = IPv6).
    containerIp: byFamily(((p.Flags ?? 0) & 2) !== 0),
  }));
}

const driver: ScenarioDriver = {
  os: 'windows',
  cniPath: distBin,
  async invoke(type, env, config) {
    const load = PLUGINS[type];
    if (!load) throw new Error(`the Windows scenario runner has no plugin ${type}`);
    // The invocation's environment chooses the platform (platform/select.ts), not process.env.
    const windows = { ...env, CROSSCNI_PLATFORM: 'windows', CROSSCNI_HCN_LIBRARY: emu.path };
    return invokePlugin(load, windows, Buffer.from(JSON.stringify(config)));
  },
  async createNamespace(name) {
    return (await loadPlatform()).createNamespace(name);
  },
  async loseNamespace(netns) {
    await (await loadPlatform()).deleteNamespace(netns);
  },
  async establish(given, list) {
    if (given !== 'conflicting-network') throw new Error(`no way to establish ${given}`);
    // An L2Bridge network already holds the name the NAT network would take.
    await hns.createNetwork(
      buildNetwork({ name: list.name, type: 'L2Bridge', policies: [netAdapterNamePolicy('Ethernet')] }),
    );
  },
  async observe(list, _run, a): Promise<Observation> {
    const network = await hns.findNetworkByName(list.name);
    const endpoint =
      network && (await hns.findEndpointByName(endpointName(a.containerId, a.ifname), network.ID));
    const none: Observation = {
      attached: false,
      addresses: [],
      routes: [],
      dns: undefined,
      hostGateways: hostGateways(network),
      forwardings: [],
    };
    if (!network || !endpoint) return none;
    const namespace = endpoint.HostComputeNamespace
      ? await hns.getNamespace(endpoint.HostComputeNamespace)
      : undefined;
    const addresses = (endpoint.IpConfigurations ?? []).map((c) => `${c.IpAddress}/${c.PrefixLength}`);
    const nat = endpointPolicySettings(endpoint.Policies, 'OutBoundNAT').filter(
      (p) => !p.Destinations?.length,
    );
    const observation: Observation = {
      ...none,
      attached:
        network.Type === 'NAT' &&
        sameGuid(endpoint.HostComputeNamespace ?? '', a.netns) &&
        namespace !== undefined &&
        namespaceEndpointIds(namespace).some((id) => sameGuid(id, endpoint.ID)),
      addresses,
      routes: (endpoint.Routes ?? []).map((r) => ({ dst: r.DestinationPrefix ?? '', gw: r.NextHop })),
      dns: dnsOf(endpoint),
      forwardings: forwardings(endpoint, addresses),
    };
    if (nat.length) observation.outboundNat = { exceptions: nat.flatMap((p) => p.Exceptions ?? []) };
    return observation;
  },
  // A compartment's loopback is part of it: HNS holds nothing to observe.
  observeLoopback: async () => null,
};

describe('cross-OS scenarios on the emulated HNS (in-process, FFI transport)', () => {
  for (const scenario of SCENARIOS) {
    const gaps = (scenario.knownGaps ?? []).filter((g) => g.os === 'windows');
    const note = gaps.length ? ` [known gap: ${gaps.map((g) => `${g.aspect}: ${g.why}`).join('; ')}]` : '';
    it(`${scenario.name}${note}`, async () => {
      const dir = mkdtempSync(join(scratch, 'run-'));
      const run: ScenarioRun = { network: `scen-${dir.slice(-6)}`, bridge: 'cni0', dataDir: dir };
      await runScenario(scenario, run, driver);
    });
  }
});
