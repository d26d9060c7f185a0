// The Windows Platform on the HCN emulator: what ADD, CHECK, DEL and GC leave in HNS, observed
// through HNS's own answers (as Get-HnsNetwork / Get-HnsEndpoint would show them).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Platform } from '../../platform/contract.ts';
import { PlatformError } from '../../platform/errors.ts';
import { loadPlatform } from '../../platform/select.ts';
import type { EndpointSpec, NetworkSpec } from '../../platform/types.ts';
import { HcnClient } from '../../hns/client.ts';
import { createWindowsPlatform, transportFromEnvironment } from '../../hns/index.ts';
import { PowerShellTransport } from '../../hns/powershell/transport.ts';
import { endpointPolicySettings } from '../../hns/schema/endpoint-policy.ts';
import { buildEndpoint } from '../../hns/schema/endpoint.ts';
import { type Emulator, expectNoLeaks, startEmulator } from './emulator-harness.ts';

let emu: Emulator;
let platform: Platform;
let hns: HcnClient;
const lockDir = mkdtempSync(join(tmpdir(), 'crosscni-win-lock-'));

beforeAll(async () => {
  emu = await startEmulator();
  platform = createWindowsPlatform({ env: { CROSSCNI_HCN_LIBRARY: emu.path } });
  hns = new HcnClient(emu.transport);
});
beforeEach(() => emu.hooks.reset());
afterEach(() => expectNoLeaks(emu.hooks));
afterAll(() => rmSync(lockDir, { recursive: true, force: true }));

const natSpec: NetworkSpec = {
  name: 'nat',
  mode: 'nat',
  deviceName: 'vEthernet (nat)',
  subnets: [{ cidr: '172.20.0.0/16', gateway: '172.20.0.1' }],
  hostAddresses: ['172.20.0.1/16'],
  forwardFamilies: [4],
};

function endpointSpec(namespace: string, extra: Partial<EndpointSpec> = {}): EndpointSpec {
  return {
    network: 'nat',
    deviceName: 'vEthernet (nat)',
    containerId: 'c0ffee',
    ifname: 'eth0',
    namespace,
    addresses: [{ cidr: '172.20.0.5/16', gateway: '172.20.0.1' }],
    routes: [{ dst: '0.0.0.0/0', gw: '172.20.0.1' }],
    dns: { nameservers: ['172.20.0.1'], search: ['svc.cluster.local'] },
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    outboundNat: { exceptions: ['172.20.0.0/16'] },
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<PlatformError> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (e instanceof PlatformError) return e;
  throw new Error(`expected a PlatformError, got ${String(e)}`);
}

describe('networks', () => {
  test('ensureNetwork finds or creates the HCN network of the CNI network’s name', async () => {
    const first = await platform.ensureNetwork(natSpec);
    expect(first).toMatchObject({
      name: 'nat',
      deviceName: 'vEthernet (nat)',
      hostAddresses: ['172.20.0.1/16'],
    });
    expect((await platform.ensureNetwork(natSpec)).id).toBe(first.id);
    const network = await hns.findNetworkByName('nat');
    expect(network).toMatchObject({ ID: first.id, Type: 'NAT' });
    expect(await platform.inspectNetwork('nat', 'vEthernet (nat)')).toEqual(first);
    expect(await platform.inspectNetwork('other', 'x')).toBeUndefined();
  });

  test('a same-named network of another type or without the subnet is a conflict', async () => {
    await platform.ensureNetwork(natSpec);
    const l2 = { ...natSpec, mode: 'l2bridge' as const, uplink: 'Ethernet' };
    expect(await rejection(platform.ensureNetwork(l2))).toMatchObject({ kind: 'conflict' });
    const other = { ...natSpec, subnets: [{ cidr: '10.9.0.0/16' }] };
    expect((await rejection(platform.ensureNetwork(other))).message).toMatch(/lacks subnet 10\.9\.0\.0\/16/);
  });

  test('l2bridge binds the uplink adapter and needs one', async () => {
    const spec: NetworkSpec = { ...natSpec, name: 'cbr0', mode: 'l2bridge', uplink: 'Ethernet 2' };
    await platform.ensureNetwork(spec);
    expect((await hns.findNetworkByName('cbr0'))?.Policies).toEqual([
      { Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet 2' } },
    ]);
    expect(await rejection(platform.ensureNetwork({ ...spec, name: 'x', uplink: undefined }))).toMatchObject({
      kind: 'invalid',
    });
  });

  test('deleteNetwork: gone is fine, endpoints still on it are a conflict', async () => {
    await platform.deleteNetwork('nat', 'x');
    const net = await platform.ensureNetwork(natSpec);
    await platform.createEndpoint(net, endpointSpec(''));
    expect(await rejection(platform.deleteNetwork('nat', 'x'))).toMatchObject({ kind: 'conflict' });
  });
});

describe('endpoints', () => {
  test('ADD: an endpoint with addresses, routes, DNS and NAT policies, in the pod’s namespace', async () => {
    const net = await platform.ensureNetwork(natSpec);
    const ns = await platform.createNamespace('pod');
    const created = await platform.createEndpoint(net, endpointSpec(ns.toLowerCase()));
    expect(created.container).toMatchObject({ name: 'eth0', mtu: 1500, sandbox: ns.toLowerCase() });
    expect(created.container.mac).toMatch(/^00:15:5d(:[0-9a-f]{2}){3}$/);

    const [endpoint] = await hns.listEndpoints({ networkId: net.id });
    expect(endpoint).toMatchObject({
      Name: 'crosscni_c0ffee_eth0',
      HostComputeNamespace: ns,
      IpConfigurations: [{ IpAddress: '172.20.0.5', PrefixLength: 16 }],
      Dns: { ServerList: ['172.20.0.1'], Search: ['svc.cluster.local'] },
    });
    expect(endpointPolicySettings(endpoint?.Policies, 'PortMapping')).toMatchObject([
      { Protocol: 6, InternalPort: 80, ExternalPort: 8080 },
    ]);
    expect(endpointPolicySettings(endpoint?.Policies, 'OutBoundNAT')).toMatchObject([
      { Exceptions: ['172.20.0.0/16'] },
    ]);

    const state = await platform.inspectEndpoint(endpointSpec(ns.toLowerCase()));
    expect(state).toMatchObject({
      container: { name: 'eth0', mac: created.container.mac, sandbox: ns.toLowerCase() },
      attachedToNetwork: true,
      addresses: ['172.20.0.5/16'],
      routes: [{ dst: '0.0.0.0/0', gw: '172.20.0.1' }],
    });
  });

  test('ADD into a namespace that does not exist fails and leaves nothing', async () => {
    const net = await platform.ensureNetwork(natSpec);
    const e = await rejection(
      platform.createEndpoint(net, endpointSpec('11111111-2222-3333-4444-555555555555')),
    );
    expect(e.kind).toBe('namespace-missing');
    expect(await hns.listEndpoints()).toEqual([]);
  });

  test('what HCN cannot do is refused before anything is created', async () => {
    const net = await platform.ensureNetwork(natSpec);
    const sctp = endpointSpec('', { portMappings: [{ hostPort: 1, containerPort: 1, protocol: 'sctp' }] });
    expect(await rejection(platform.createEndpoint(net, sctp))).toMatchObject({ kind: 'unsupported' });
    const ingress = endpointSpec('', { bandwidth: { ingressRate: 1000 } });
    expect(await rejection(platform.createEndpoint(net, ingress))).toMatchObject({ kind: 'unsupported' });
    expect(await rejection(platform.createEndpoint(net, endpointSpec('', { mac: 'nope' })))).toMatchObject({
      kind: 'invalid',
    });
    expect(await hns.listEndpoints()).toEqual([]);
  });

  test('a failed attach removes the endpoint it created', async () => {
    const net = await platform.ensureNetwork(natSpec);
    const ns = await platform.createNamespace('pod');
    emu.hooks.failNext('HcnModifyNamespace', 0x80004005);
    expect(await rejection(platform.createEndpoint(net, endpointSpec(ns)))).toMatchObject({ kind: 'io' });
    expect(await hns.listEndpoints()).toEqual([]);
  });

  test('a stale endpoint of the same attachment is replaced, egress bandwidth becomes QOS', async () => {
    const net = await platform.ensureNetwork(natSpec);
    await platform.createEndpoint(net, endpointSpec(''));
    await platform.createEndpoint(net, endpointSpec('', { bandwidth: { egressRate: 8_000_000 } }));
    const endpoints = await hns.listEndpoints();
    expect(endpoints).toHaveLength(1);
    expect(endpointPolicySettings(endpoints[0]?.Policies, 'QOS')).toEqual([
      { MaximumOutgoingBandwidthInBytes: 1_000_000 },
    ]);
  });

  test('DEL succeeds on every state: attached, repeated, CNI_NETNS empty, network gone', async () => {
    const net = await platform.ensureNetwork(natSpec);
    const ns = await platform.createNamespace('pod');
    await platform.createEndpoint(net, endpointSpec(ns));
    const teardown = { ...endpointSpec(ns), addresses: ['172.20.0.5/16'] };
    await platform.deleteEndpoint(teardown);
    expect(await hns.listEndpoints()).toEqual([]);
    expect((await hns.getNamespace(ns))?.Resources).toEqual([]);
    await platform.deleteEndpoint(teardown);
    await platform.deleteEndpoint({ ...teardown, namespace: '' });
    expect(await platform.inspectEndpoint(teardown)).toBeUndefined();
    await platform.deleteNetwork('nat', 'x');
    await platform.deleteEndpoint(teardown);
    await platform.deleteNamespace(ns);
    await platform.deleteNamespace(ns);
    await platform.deleteNamespace('not-a-guid');
  });

  test('GC removes crosscni endpoints of invalid attachments only', async () => {
    const net = await platform.ensureNetwork(natSpec);
    await platform.createEndpoint(net, endpointSpec('', { containerId: 'keep' }));
    await platform.createEndpoint(
      net,
      endpointSpec('', { containerId: 'stale', addresses: [{ cidr: '172.20.0.6/16' }] }),
    );
    await hns.createEndpoint(buildEndpoint({ name: 'docker-owned', networkId: net.id }));
    await platform.collectGarbage('nat', 'x', [{ containerId: 'keep', ifname: 'eth0' }]);
    expect((await hns.listEndpoints()).map((e) => e.Name).sort()).toEqual([
      'crosscni_keep_eth0',
      'docker-owned',
    ]);
    await platform.collectGarbage('no-such-network', 'x', []);
  });
});

describe('the rest of the contract', () => {
  test('loopback is always up in a Windows compartment', async () => {
    await platform.setLoopback('ns', false);
    expect(await platform.inspectLoopback('ns')).toEqual({ up: true, addresses: ['127.0.0.1/8', '::1/128'] });
  });

  test('withFileLock runs one holder at a time and releases on failure', async () => {
    const path = join(lockDir, 'nat.lock');
    const order: string[] = [];
    const holder = (name: string, ms: number) =>
      platform.withFileLock(path, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([holder('a', 30), holder('b', 1), holder('c', 1)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    await expect(platform.withFileLock(path, async () => Promise.reject(new Error('x')))).rejects.toThrow(
      'x',
    );
    expect(await platform.withFileLock(path, async () => 'again')).toBe('again');
  });

  test('the transport comes from the environment', () => {
    expect(transportFromEnvironment({ CROSSCNI_HCN_TRANSPORT: 'powershell' })).toBeInstanceOf(
      PowerShellTransport,
    );
    expect(transportFromEnvironment({}).name).toBe('ffi');
    expect(() => transportFromEnvironment({ CROSSCNI_HCN_TRANSPORT: 'wmi' })).toThrow(
      /expected "ffi" or "powershell"/,
    );
  });

  test('the platform selector loads this backend on Linux against the emulator', async () => {
    process.env.CROSSCNI_HCN_LIBRARY = emu.path;
    const selected = await loadPlatform('windows');
    expect(selected.os).toBe('windows');
    const net = await selected.ensureNetwork(natSpec);
    expect((await hns.getNetwork(net.id))?.Name).toBe('nat');
  });
});
