// portmap and bandwidth on the Windows backend, against the HCN emulator in-process: the same
// runtimeConfig that makes nftables DNAT and tc on Linux becomes PortMapping and QOS policies on
// the attachment's HCN endpoint, observed through HNS's own answers; ingress limits are refused
// naming what HCN lacks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HcnClient } from '../../hns/client.ts';
import { endpointName } from '../../hns/endpoint-spec.ts';
import { createWindowsPlatform } from '../../hns/index.ts';
import { endpointPolicySettings } from '../../hns/schema/endpoint-policy.ts';
import type { Platform } from '../../platform/contract.ts';
import { PlatformError } from '../../platform/errors.ts';
import { missingForwardings, planForwardings } from '../../platform/port-forwarding.ts';
import type { AttachmentTarget, EndpointSpec, NetworkSpec } from '../../platform/types.ts';
import { bandwidthPlugin } from '../../plugins/bandwidth/plugin.ts';
import { portmapPlugin } from '../../plugins/portmap/plugin.ts';
import { type CniPlugin, invokePlugin } from '../../plugins/sdk/skel.ts';
import { type Emulator, expectNoLeaks, startEmulator } from './emulator-harness.ts';

let emu: Emulator;
let platform: Platform;
let hns: HcnClient;
const lockDir = mkdtempSync(join(tmpdir(), 'crosscni-win-chain-'));
const savedEnv = { ...process.env };

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
  process.env = savedEnv;
  rmSync(lockDir, { recursive: true, force: true });
});

const natSpec: NetworkSpec = {
  name: 'nat',
  mode: 'nat',
  deviceName: 'vEthernet (nat)',
  subnets: [
    { cidr: '172.20.0.0/16', gateway: '172.20.0.1' },
    { cidr: 'fd00:20::/64', gateway: 'fd00:20::1' },
  ],
  hostAddresses: ['172.20.0.1/16'],
  forwardFamilies: [4, 6],
};

/** An attachment as the nat plugin leaves it: an endpoint in a namespace, no policies. */
async function attachment(addresses = ['172.20.0.5/16']): Promise<AttachmentTarget> {
  const network = await platform.ensureNetwork(natSpec);
  const namespace = await platform.createNamespace('pod');
  const spec: EndpointSpec = {
    network: 'nat',
    deviceName: natSpec.deviceName,
    containerId: 'c0ffee',
    ifname: 'eth0',
    namespace,
    addresses: addresses.map((cidr) => ({ cidr })),
    routes: [],
  };
  await platform.createEndpoint(network, spec);
  return { network: 'nat', containerId: 'c0ffee', ifname: 'eth0', namespace, addresses };
}

async function endpointPolicies(type: 'PortMapping' | 'QOS') {
  const endpoint = await hns.findEndpointByName(endpointName('c0ffee', 'eth0'));
  return endpointPolicySettings(endpoint?.Policies, type);
}

async function rejection(promise: Promise<unknown>): Promise<PlatformError> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (e instanceof PlatformError) return e;
  throw new Error(`expected a PlatformError, got ${String(e)}`);
}

describe('port mappings become PortMapping policies', () => {
  test('add, inspect, replace and remove (twice) on an IPv4 endpoint', async () => {
    const target = await attachment();
    const mappings = [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' as const, hostIp: '10.0.0.4' },
    ];
    await platform.addPortMappings(target, mappings, { snat: true });
    expect(await endpointPolicies('PortMapping')).toEqual([
      { Protocol: 6, InternalPort: 80, ExternalPort: 8080 },
      { Protocol: 17, InternalPort: 53, ExternalPort: 5353, VIP: '10.0.0.4' },
    ]);
    const installed = await platform.inspectPortMappings(target);
    expect(missingForwardings(planForwardings(mappings, target.addresses), installed)).toEqual([]);

    // A repeated ADD replaces rather than piles up.
    await platform.addPortMappings(target, [mappings[0]!], {});
    expect(await endpointPolicies('PortMapping')).toHaveLength(1);

    await platform.removePortMappings(target);
    expect(await endpointPolicies('PortMapping')).toEqual([]);
    await platform.removePortMappings(target);
    await platform.removePortMappings({ ...target, containerId: 'gone', namespace: '' });
  });

  test('a dual-stack endpoint gets one policy per family, the IPv6 one flagged', async () => {
    const target = await attachment(['172.20.0.6/16', 'fd00:20::6/64']);
    await platform.addPortMappings(target, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], {});
    expect(await endpointPolicies('PortMapping')).toEqual([
      { Protocol: 6, InternalPort: 80, ExternalPort: 8080 },
      { Protocol: 6, InternalPort: 80, ExternalPort: 8080, Flags: 2 },
    ]);
    expect(await platform.inspectPortMappings(target)).toEqual([
      { protocol: 'tcp', hostPort: 8080, containerPort: 80, containerIp: '172.20.0.6' },
      { protocol: 'tcp', hostPort: 8080, containerPort: 80, containerIp: 'fd00:20::6' },
    ]);
  });

  test('SCTP, extra conditions and a missing endpoint are refused clearly', async () => {
    const target = await attachment();
    const sctp = await rejection(
      platform.addPortMappings(target, [{ hostPort: 9, containerPort: 9, protocol: 'sctp' }], {}),
    );
    expect(sctp.kind).toBe('unsupported');
    expect(sctp.message).toContain('TCP and UDP only');
    const conditions = await rejection(
      platform.addPortMappings(target, [{ hostPort: 9, containerPort: 9, protocol: 'tcp' }], {
        conditionsV4: ['-s', '10.0.0.0/8'],
      }),
    );
    expect(conditions.message).toContain('conditionsV4');
    const missing = await rejection(
      platform.addPortMappings(
        { ...target, containerId: 'nope' },
        [{ hostPort: 9, containerPort: 9, protocol: 'tcp' }],
        {},
      ),
    );
    expect(missing.kind).toBe('not-found');
    expect(missing.message).toContain('crosscni_nope_eth0');
  });
});

describe('bandwidth becomes a QOS policy', () => {
  test('egress rate is MaximumOutgoingBandwidthInBytes; ingress is refused naming the missing capability', async () => {
    const target = await attachment();
    expect(await platform.setBandwidth(target, { egressRate: 8_000_000, egressBurstBits: 80_000 })).toEqual(
      [],
    );
    expect(await endpointPolicies('QOS')).toEqual([{ MaximumOutgoingBandwidthInBytes: 1_000_000 }]);
    expect(await platform.inspectBandwidth(target)).toEqual({ egressRate: 8_000_000 });

    const ingress = await rejection(
      platform.setBandwidth(target, { ingressRate: 8_000_000, ingressBurstBits: 80_000 }),
    );
    expect(ingress.kind).toBe('unsupported');
    expect(ingress.message).toMatch(
      /HCN has no ingress bandwidth policy \(QOS limits only outgoing traffic\)/,
    );
    expect(ingress.message).toContain('ingressRate');

    await platform.removeBandwidth(target);
    expect(await endpointPolicies('QOS')).toEqual([]);
    await platform.removeBandwidth(target);
  });
});

async function run(plugin: CniPlugin, command: string, namespace: string, config: Record<string, unknown>) {
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee',
    CNI_NETNS: namespace,
    CNI_IFNAME: 'eth0',
    CNI_PATH: lockDir,
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

describe('the plugins on the Windows platform', () => {
  test("portmap with containerd's keys: ADD passes prevResult on, CHECK passes, DEL twice", async () => {
    const target = await attachment();
    const prevResult = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: target.namespace }],
      ips: [{ address: '172.20.0.5/16', interface: 0 }],
    };
    const config = {
      cniVersion: '1.0.0',
      name: 'nat',
      type: 'portmap',
      runtimeConfig: { portMappings: [{ HostPort: 18100, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }] },
      prevResult,
    };
    const added = await run(portmapPlugin, 'ADD', target.namespace, config);
    expect(added.exitCode).toBe(0);
    expect(added.json).toEqual(prevResult);
    expect(await endpointPolicies('PortMapping')).toEqual([
      { Protocol: 6, InternalPort: 80, ExternalPort: 18100 },
    ]);
    expect((await run(portmapPlugin, 'CHECK', target.namespace, config)).exitCode).toBe(0);
    expect((await run(portmapPlugin, 'DEL', target.namespace, config)).exitCode).toBe(0);
    expect((await run(portmapPlugin, 'DEL', '', { ...config, prevResult: undefined })).exitCode).toBe(0);
    const check = await run(portmapPlugin, 'CHECK', target.namespace, config);
    expect(check.json.code).toBe(5);
    expect(check.json.msg).toContain('tcp *:18100 -> 172.20.0.5:80');

    // An older runtime's 0.3.1 list: the result goes back in the version it came in.
    const old = {
      ...config,
      cniVersion: '0.3.1',
      prevResult: {
        ...prevResult,
        cniVersion: '0.3.1',
        ips: [{ version: '4', address: '172.20.0.5/16', interface: 0 }],
      },
    };
    const addedOld = await run(portmapPlugin, 'ADD', target.namespace, old);
    expect(addedOld.json).toEqual(old.prevResult);
  });

  test('bandwidth with an ingress limit fails with code 2 and leaves no policy', async () => {
    const target = await attachment();
    const config = {
      cniVersion: '1.0.0',
      name: 'nat',
      type: 'bandwidth',
      runtimeConfig: { bandwidth: { ingressRate: 1_000_000, ingressBurst: 10_000 } },
      prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: target.namespace }] },
    };
    const added = await run(bandwidthPlugin, 'ADD', target.namespace, config);
    expect(added.json.code).toBe(2);
    expect(added.json.msg).toContain('HCN has no ingress bandwidth policy');
    expect(await endpointPolicies('QOS')).toEqual([]);
    const egress = {
      ...config,
      runtimeConfig: { bandwidth: { egressRate: 1_000_000, egressBurst: 10_000 } },
    };
    expect((await run(bandwidthPlugin, 'ADD', target.namespace, egress)).exitCode).toBe(0);
    expect((await run(bandwidthPlugin, 'CHECK', target.namespace, egress)).exitCode).toBe(0);
    expect((await run(bandwidthPlugin, 'DEL', target.namespace, egress)).exitCode).toBe(0);
    expect(await endpointPolicies('QOS')).toEqual([]);
  });
});
