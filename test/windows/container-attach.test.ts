// Attaching endpoints to containers by ID (CNI_NETNS not an HCN namespace GUID) on the emulator's
// vmcompute.dll part: the raw bindings (HNSCall, HcsOpen/Modify/CloseComputeSystem) with every
// error path and every out-string released, the client's hot attach/detach, and the Windows
// platform's ADD / CHECK / DEL / GC with a non-GUID CNI_NETNS. Emulator only, never real Windows.
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HcnClient } from '../../hns/client.ts';
import { HcnError, HcnTransportError } from '../../hns/errors.ts';
import { singleLibraryPaths } from '../../hns/ffi/library.ts';
import { type VmcomputeNative, loadVmcomputeNative } from '../../hns/ffi/vmcompute.ts';
import { HRESULT } from '../../hns/hresult.ts';
import { createWindowsPlatform } from '../../hns/index.ts';
import { PowerShellTransport } from '../../hns/powershell/transport.ts';
import { buildEndpoint } from '../../hns/schema/endpoint.ts';
import { buildNamespace } from '../../hns/schema/namespace.ts';
import { buildNetwork } from '../../hns/schema/network.ts';
import type { Platform } from '../../platform/contract.ts';
import { PlatformError } from '../../platform/errors.ts';
import type { EndpointSpec, NetworkSpec } from '../../platform/types.ts';
import { type Emulator, expectNoLeaks, startEmulator } from './emulator-harness.ts';
import { emulatedPowerShellRunner } from './powershell-emulated-runner.ts';

let emu: Emulator;
let vm: VmcomputeNative;
let hns: HcnClient;
let platform: Platform;

beforeAll(async () => {
  emu = await startEmulator();
  vm = await loadVmcomputeNative(singleLibraryPaths(emu.path));
  hns = new HcnClient(emu.transport);
  platform = createWindowsPlatform({ transport: emu.transport });
});
beforeEach(() => emu.hooks.reset());
afterEach(() => expectNoLeaks(emu.hooks));

const signed = (h: number) => h | 0;
const networkRequest = (request: 'Add' | 'Remove', endpointId: string) =>
  JSON.stringify({ ResourceType: 'Network', RequestType: request, Settings: endpointId });

async function makeEndpoint(name = 'c0ffee_eth0'): Promise<string> {
  const network =
    (await hns.findNetworkByName('nat')) ??
    (await hns.createNetwork(
      buildNetwork({
        name: 'nat',
        type: 'NAT',
        subnets: [{ prefix: '172.20.0.0/16', gateway: '172.20.0.1' }],
      }),
    ));
  const endpoint = await hns.createEndpoint(
    buildEndpoint({ name, networkId: network.ID, addresses: ['172.20.0.5/16'] }),
  );
  return endpoint.ID;
}

async function v1Endpoint(id: string): Promise<unknown> {
  const { hresult, response } = await vm.hnsCall('GET', `/endpoints/${id}`, '');
  expect(hresult).toBe(0);
  return JSON.parse(response ?? '');
}

/** Opens, modifies and closes as hcsshim's modifyContainer does; returns modify's HRESULT and result. */
async function modify(containerId: string, request: string) {
  const opened = await vm.openComputeSystem(containerId);
  expect(opened.hresult).toBe(0);
  try {
    return await vm.modifyComputeSystem(opened.handle!, request);
  } finally {
    expect(await vm.closeComputeSystem(opened.handle!)).toBe(0);
  }
}

describe('vmcompute.dll bindings (emulated)', () => {
  test('HNSCall GET /globals/version answers the version, and the answer is freed', async () => {
    const { hresult, response } = await vm.hnsCall('GET', '/globals/version', '');
    expect(hresult).toBe(0);
    expect(JSON.parse(response!)).toEqual({ Success: true, Output: { Major: 13, Minor: 2 } });
    emu.hooks.setHnsVersion(9, 1);
    expect(JSON.parse((await vm.hnsCall('GET', '/globals/version', '')).response!).Output).toEqual({
      Major: 9,
      Minor: 1,
    });
  });

  test('HNSCall of an unknown endpoint or path: S_OK with Success false and an ErrorCode', async () => {
    const missing = await vm.hnsCall('GET', '/endpoints/11111111-2222-3333-4444-555555555555', '');
    expect(missing.hresult).toBe(0);
    expect(JSON.parse(missing.response!)).toMatchObject({
      Success: false,
      ErrorCode: HRESULT.ERROR_NOT_FOUND,
    });
    const other = await vm.hnsCall('POST', '/networks', '{}');
    expect(JSON.parse(other.response!)).toMatchObject({ Success: false, ErrorCode: 0x803b0015 });
  });

  test('HcsOpenComputeSystem of an unknown ID: HCS_E_SYSTEM_NOT_FOUND, no handle, a result document', async () => {
    const opened = await vm.openComputeSystem('nope');
    expect(opened).toMatchObject({ hresult: signed(HRESULT.HCS_E_SYSTEM_NOT_FOUND), handle: null });
    expect(JSON.parse(opened.record!)).toMatchObject({
      Error: signed(HRESULT.HCS_E_SYSTEM_NOT_FOUND),
      ErrorMessage: expect.stringContaining('nope'),
    });
  });

  test('hot attach lists the container in SharedContainers; double attach and stray detach fail', async () => {
    const endpoint = await makeEndpoint();
    expect(emu.hooks.createComputeSystem('c0ffee')).toBe(true);
    expect(emu.hooks.createComputeSystem('c0ffee')).toBe(false);
    expect(await modify('c0ffee', networkRequest('Add', endpoint))).toEqual({ hresult: 0, record: null });
    expect(await v1Endpoint(endpoint)).toMatchObject({
      Success: true,
      Output: { ID: endpoint, Name: 'c0ffee_eth0', SharedContainers: ['c0ffee'] },
    });
    expect((await modify('c0ffee', networkRequest('Add', endpoint))).hresult).toBe(
      signed(HRESULT.HCN_E_ENDPOINT_ALREADY_ATTACHED),
    );
    // One endpoint, one place: an endpoint in a container cannot also join an HCN namespace.
    const ns = await hns.createNamespace(buildNamespace());
    await expect(hns.attachEndpoint(ns.ID, endpoint)).rejects.toMatchObject({ code: 'alreadyExists' });
    expect(emu.hooks.createComputeSystem('other')).toBe(true);
    expect((await modify('other', networkRequest('Remove', endpoint))).hresult).toBe(
      signed(HRESULT.ERROR_NOT_FOUND),
    );
    expect(await modify('c0ffee', networkRequest('Remove', endpoint))).toEqual({ hresult: 0, record: null });
    expect(await v1Endpoint(endpoint)).toMatchObject({ Output: { SharedContainers: [] } });
  });

  test('modify requests it does not accept, and endpoints that do not exist', async () => {
    emu.hooks.createComputeSystem('c0ffee');
    const bad = await modify('c0ffee', JSON.stringify({ ResourceType: 'Memory', RequestType: 'Add' }));
    expect(bad.hresult).toBe(signed(HRESULT.E_INVALIDARG));
    expect(JSON.parse(bad.record!).ErrorMessage).toMatch(/ResourceType Network/);
    expect((await modify('c0ffee', 'not json')).hresult).toBe(signed(HRESULT.HCN_E_INVALID_JSON));
    expect((await modify('c0ffee', networkRequest('Add', 'not-a-guid'))).hresult).toBe(
      signed(HRESULT.E_INVALIDARG),
    );
    const gone = '11111111-2222-3333-4444-555555555555';
    expect((await modify('c0ffee', networkRequest('Add', gone))).hresult).toBe(
      signed(HRESULT.ERROR_NOT_FOUND),
    );
  });

  test('a closed handle is E_HANDLE; a removed compute system is HCS_E_SYSTEM_NOT_FOUND', async () => {
    const endpoint = await makeEndpoint();
    emu.hooks.createComputeSystem('c0ffee');
    const opened = await vm.openComputeSystem('c0ffee');
    expect(emu.hooks.removeComputeSystem('c0ffee')).toBe(true);
    expect(emu.hooks.removeComputeSystem('c0ffee')).toBe(false);
    expect((await vm.modifyComputeSystem(opened.handle!, networkRequest('Add', endpoint))).hresult).toBe(
      signed(HRESULT.HCS_E_SYSTEM_NOT_FOUND),
    );
    expect(await vm.closeComputeSystem(opened.handle!)).toBe(0);
    expect(await vm.closeComputeSystem(opened.handle!)).toBe(signed(HRESULT.E_HANDLE));
    expect((await vm.modifyComputeSystem(opened.handle!, networkRequest('Add', endpoint))).hresult).toBe(
      signed(HRESULT.E_HANDLE),
    );
  });

  test('an attached endpoint cannot be deleted; the container going away releases it', async () => {
    const endpoint = await makeEndpoint();
    emu.hooks.createComputeSystem('c0ffee');
    await modify('c0ffee', networkRequest('Add', endpoint));
    await expect(hns.deleteEndpoint(endpoint)).rejects.toMatchObject({
      hresult: HRESULT.HCN_E_ENTITY_HAS_REFERENCES,
    });
    emu.hooks.removeComputeSystem('c0ffee');
    expect(await hns.deleteEndpoint(endpoint)).toBe(true);
  });

  test('injected failures come back with their HRESULT and a freed result', async () => {
    emu.hooks.createComputeSystem('c0ffee');
    emu.hooks.failNext('HcsOpenComputeSystem', 0x80004005);
    expect(await vm.openComputeSystem('c0ffee')).toMatchObject({ hresult: signed(0x80004005), handle: null });
    emu.hooks.failNext('HNSCall', 0x80004005);
    expect((await vm.hnsCall('GET', '/globals/version', '')).hresult).toBe(signed(0x80004005));
    emu.hooks.failNext('HcsModifyComputeSystem', 0x80004005);
    expect((await modify('c0ffee', networkRequest('Add', await makeEndpoint()))).hresult).toBe(
      signed(0x80004005),
    );
  });
});

describe('HcnClient hot attach (hcsshim HotAttachEndpoint / HotDetachEndpoint)', () => {
  test('attach is idempotent, detach says whether there was anything to detach', async () => {
    const endpoint = await makeEndpoint();
    emu.hooks.createComputeSystem('C0FFEE');
    await hns.attachEndpointToContainer('c0ffee', endpoint);
    await hns.attachEndpointToContainer('c0ffee', endpoint);
    expect(await hns.endpointContainers(endpoint)).toEqual(['C0FFEE']);
    expect(await hns.detachEndpointFromContainer('c0ffee', endpoint)).toBe(true);
    expect(await hns.detachEndpointFromContainer('c0ffee', endpoint)).toBe(false);
    expect(await hns.endpointContainers('11111111-2222-3333-4444-555555555555')).toBeUndefined();
    expect(await hns.detachEndpointFromContainer('c0ffee', '11111111-2222-3333-4444-555555555555')).toBe(
      false,
    );
    await expect(hns.endpointContainers('../globals/version')).rejects.toThrow(TypeError);
  });

  test('attach to a missing container or of a missing endpoint fails with the HRESULT', async () => {
    const endpoint = await makeEndpoint();
    const missing = await hns.attachEndpointToContainer('nope', endpoint).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(HcnError);
    expect(missing).toMatchObject({
      operation: 'HcsOpenComputeSystem',
      code: 'notFound',
      hresultName: 'HCS_E_SYSTEM_NOT_FOUND',
    });
    emu.hooks.createComputeSystem('c0ffee');
    await expect(
      hns.attachEndpointToContainer('c0ffee', '11111111-2222-3333-4444-555555555555'),
    ).rejects.toMatchObject({ operation: 'HNSCall', code: 'notFound' });
  });

  test('HNS version is read through HNSCall', async () => {
    emu.hooks.setHnsVersion(11, 4);
    expect(await hns.hnsVersion()).toEqual({ Major: 11, Minor: 4 });
  });

  test('the PowerShell transport refuses container attach with a typed error naming the FFI transport', async () => {
    const ps = new HcnClient(new PowerShellTransport({ runner: emulatedPowerShellRunner(emu.transport) }));
    const endpoint = await makeEndpoint();
    const e = await ps.attachEndpointToContainer('c0ffee', endpoint).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HcnTransportError);
    expect(String(e)).toMatch(/powershell transport cannot reach vmcompute\.dll.*FFI transport/);
    await expect(ps.hnsVersion()).rejects.toBeInstanceOf(HcnTransportError);
  });
});

describe('Windows platform with CNI_NETNS not a namespace GUID', () => {
  const natSpec: NetworkSpec = {
    name: 'nat',
    mode: 'nat',
    deviceName: 'vEthernet (nat)',
    subnets: [{ cidr: '172.20.0.0/16', gateway: '172.20.0.1' }],
    hostAddresses: ['172.20.0.1/16'],
    forwardFamilies: [4],
  };
  const spec = (containerId: string, namespace = 'none'): EndpointSpec => ({
    network: 'nat',
    deviceName: 'vEthernet (nat)',
    containerId,
    ifname: 'eth0',
    namespace,
    addresses: [{ cidr: '172.20.0.5/16', gateway: '172.20.0.1' }],
    routes: [{ dst: '0.0.0.0/0', gw: '172.20.0.1' }],
  });
  const teardown = (containerId: string, namespace = 'none') => ({
    ...spec(containerId, namespace),
    addresses: [],
  });
  const containersOf = async (name: string) => {
    const endpoint = await hns.findEndpointByName(name);
    return endpoint ? hns.endpointContainers(endpoint.ID) : undefined;
  };

  test('ADD hot-attaches to CNI_CONTAINERID, CHECK sees it, DEL detaches and deletes', async () => {
    emu.hooks.createComputeSystem('c0ffee');
    const net = await platform.ensureNetwork(natSpec);
    const created = await platform.createEndpoint(net, spec('c0ffee'));
    expect(created.container).toMatchObject({ name: 'eth0', sandbox: 'none' });
    expect(await containersOf('crosscni_c0ffee_eth0')).toEqual(['c0ffee']);
    expect(await platform.inspectEndpoint(spec('c0ffee'))).toMatchObject({
      container: { sandbox: 'none' },
      attachedToNetwork: true,
      addresses: ['172.20.0.5/16'],
    });
    // A repeated ADD replaces the endpoint and attaches the new one.
    await platform.createEndpoint(net, spec('c0ffee'));
    expect(await hns.listEndpoints()).toHaveLength(1);
    expect(await containersOf('crosscni_c0ffee_eth0')).toEqual(['c0ffee']);
    await platform.deleteEndpoint(teardown('c0ffee'));
    expect(await hns.listEndpoints()).toEqual([]);
    await platform.deleteEndpoint(teardown('c0ffee'));
  });

  test('CHECK fails once the endpoint is detached from the container behind crosscni’s back', async () => {
    emu.hooks.createComputeSystem('c0ffee');
    const net = await platform.ensureNetwork(natSpec);
    await platform.createEndpoint(net, spec('c0ffee'));
    const endpoint = await hns.findEndpointByName('crosscni_c0ffee_eth0');
    expect(await hns.detachEndpointFromContainer('c0ffee', endpoint!.ID)).toBe(true);
    expect(await platform.inspectEndpoint(spec('c0ffee'))).toBeUndefined();
    await platform.deleteEndpoint(teardown('c0ffee'));
    expect(await hns.listEndpoints()).toEqual([]);
  });

  test('a failed attach rolls back: no endpoint is left, and the error names the container', async () => {
    const net = await platform.ensureNetwork(natSpec);
    const e = await platform.createEndpoint(net, spec('c0ffee')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PlatformError);
    expect(e).toMatchObject({
      kind: 'namespace-missing',
      message: expect.stringMatching(/to container c0ffee.*HCS_E_SYSTEM_NOT_FOUND.*is the container running/),
    });
    expect(await hns.listEndpoints()).toEqual([]);
    emu.hooks.createComputeSystem('c0ffee');
    emu.hooks.failNext('HcsModifyComputeSystem', 0x80004005);
    await expect(platform.createEndpoint(net, spec('c0ffee'))).rejects.toBeInstanceOf(PlatformError);
    expect(await hns.listEndpoints()).toEqual([]);
  });

  test('DEL succeeds when the container is already gone, and with CNI_NETNS empty', async () => {
    emu.hooks.createComputeSystem('c0ffee');
    emu.hooks.createComputeSystem('beef');
    const net = await platform.ensureNetwork(natSpec);
    await platform.createEndpoint(net, spec('c0ffee'));
    await platform.createEndpoint(net, spec('beef'));
    emu.hooks.removeComputeSystem('c0ffee');
    await platform.deleteEndpoint(teardown('c0ffee'));
    // containerd's second DEL has no CNI_NETNS: the endpoint is detached from what HNS lists.
    await platform.deleteEndpoint(teardown('beef', ''));
    expect(await hns.listEndpoints()).toEqual([]);
  });

  test('GC detaches and removes endpoints of invalid attachments only', async () => {
    emu.hooks.createComputeSystem('keep');
    emu.hooks.createComputeSystem('drop');
    const net = await platform.ensureNetwork(natSpec);
    await platform.createEndpoint(net, spec('keep'));
    await platform.createEndpoint(net, spec('drop'));
    await platform.collectGarbage('nat', 'vEthernet (nat)', [{ containerId: 'keep', ifname: 'eth0' }]);
    expect((await hns.listEndpoints()).map((e) => e.Name)).toEqual(['crosscni_keep_eth0']);
    expect(await containersOf('crosscni_keep_eth0')).toEqual(['keep']);
    await platform.deleteEndpoint(teardown('keep'));
  });

  test('Docker’s "container:<id>" (join another container’s endpoint) is refused as unsupported', async () => {
    const net = await platform.ensureNetwork(natSpec);
    await expect(platform.createEndpoint(net, spec('app', 'container:infra'))).rejects.toMatchObject({
      kind: 'unsupported',
    });
    expect(await hns.listEndpoints()).toEqual([]);
    await platform.deleteEndpoint(teardown('app', 'container:infra'));
  });

  test('over PowerShell, a non-GUID CNI_NETNS is a clear error and leaves nothing', async () => {
    const ps = createWindowsPlatform({
      transport: new PowerShellTransport({ runner: emulatedPowerShellRunner(emu.transport) }),
    });
    emu.hooks.createComputeSystem('c0ffee');
    const net = await ps.ensureNetwork(natSpec);
    await expect(ps.createEndpoint(net, spec('c0ffee'))).rejects.toMatchObject({
      message: expect.stringMatching(/FFI transport/),
    });
    expect(await hns.listEndpoints()).toEqual([]);
    await ps.deleteEndpoint(teardown('c0ffee'));
  });
});

describe('features gated on the HNS version (HNSCall GET /globals/version)', () => {
  const dualStack: NetworkSpec = {
    name: 'nat6',
    mode: 'nat',
    deviceName: 'vEthernet (nat6)',
    subnets: [
      { cidr: '172.21.0.0/16', gateway: '172.21.0.1' },
      { cidr: 'fd00:21::/64', gateway: 'fd00:21::1' },
    ],
    hostAddresses: ['172.21.0.1/16', 'fd00:21::1/64'],
    forwardFamilies: [4, 6],
  };
  const v6Spec = (namespace: string): EndpointSpec => ({
    network: 'nat6',
    deviceName: 'vEthernet (nat6)',
    containerId: 'c0ffee',
    ifname: 'eth0',
    namespace,
    addresses: [
      { cidr: '172.21.0.5/16', gateway: '172.21.0.1' },
      { cidr: 'fd00:21::5/64', gateway: 'fd00:21::1' },
    ],
    routes: [],
  });
  // A new platform per test: the version is read once per client, as once per plugin process.
  const freshPlatform = () => createWindowsPlatform({ transport: emu.transport });

  test('an IPv6 endpoint on HNS older than 11.10 is refused before anything is created', async () => {
    emu.hooks.setHnsVersion(11, 9);
    const p = freshPlatform();
    const net = await p.ensureNetwork(dualStack);
    const ns = await p.createNamespace('pod');
    await expect(p.createEndpoint(net, v6Spec(ns))).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringMatching(/needs HNS 11\.10 or later; this host's HNS is 11\.9/),
    });
    expect(await hns.listEndpoints()).toEqual([]);
    await p.deleteNamespace(ns);
  });

  test('HNS 11.10 and later, or a version HNS will not tell, let HNS decide', async () => {
    emu.hooks.setHnsVersion(11, 10);
    const ns = await platform.createNamespace('pod');
    const p = freshPlatform();
    await p.createEndpoint(await p.ensureNetwork(dualStack), v6Spec(ns));
    expect(await hns.listEndpoints()).toHaveLength(1);
    await p.deleteEndpoint({ ...v6Spec(ns), addresses: [] });
    emu.hooks.failNext('HNSCall', 0x80004005);
    const unknown = freshPlatform();
    await unknown.createEndpoint(await unknown.ensureNetwork(dualStack), v6Spec(ns));
    expect(await hns.listEndpoints()).toHaveLength(1);
    await unknown.deleteEndpoint({ ...v6Spec(ns), addresses: [] });
    await platform.deleteNamespace(ns);
  });

  test('an IPv4-only endpoint never asks for the version', async () => {
    // An armed HNSCall failure still armed after the ADD shows the ADD made no HNSCall.
    emu.hooks.failNext('HNSCall', 0x80004005);
    const p = freshPlatform();
    const ns = await p.createNamespace('pod');
    const net = await p.ensureNetwork({
      ...dualStack,
      subnets: [dualStack.subnets[0]!],
      forwardFamilies: [4],
    });
    await p.createEndpoint(net, { ...v6Spec(ns), addresses: [v6Spec(ns).addresses[0]!] });
    expect(await hns.listEndpoints()).toHaveLength(1);
    expect((await vm.hnsCall('GET', '/globals/version', '')).hresult).toBe(signed(0x80004005));
    await p.deleteEndpoint({ ...v6Spec(ns), addresses: [] });
    await p.deleteNamespace(ns);
  });
});
