// The typed client over both transports against the HCN emulator: what the Windows platform
// will do for ADD, CHECK and DEL, observed through HNS's own answers.
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HcnClient } from '../../hns/client.ts';
import { HcnResponseError } from '../../hns/errors.ts';
import { PowerShellTransport } from '../../hns/powershell/transport.ts';
import {
  endpointPolicySettings,
  outboundNatPolicy,
  portMappingPolicy,
} from '../../hns/schema/endpoint-policy.ts';
import { buildEndpoint, endpointAddresses } from '../../hns/schema/endpoint.ts';
import { endpointPolicyRequest } from '../../hns/schema/modify.ts';
import { buildNamespace, namespaceEndpointIds } from '../../hns/schema/namespace.ts';
import { buildNetwork } from '../../hns/schema/network.ts';
import type { HcnTransport } from '../../hns/transport.ts';
import { type Emulator, expectNoLeaks, startEmulator } from './emulator-harness.ts';
import { emulatedPowerShellRunner } from './powershell-emulated-runner.ts';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
beforeEach(() => emu.hooks.reset());
afterEach(() => expectNoLeaks(emu.hooks));

const transports: Array<[string, () => HcnTransport]> = [
  ['ffi', () => emu.transport],
  [
    'powershell (answered through the emulator)',
    () => new PowerShellTransport({ runner: emulatedPowerShellRunner(emu.transport) }),
  ],
];

describe.each(transports)('HcnClient over %s', (_name, transport) => {
  const natNetwork = () =>
    buildNetwork({ name: 'nat', type: 'NAT', subnets: [{ prefix: '172.20.0.0/16', gateway: '172.20.0.1' }] });

  test('find-or-create a network by name', async () => {
    const client = new HcnClient(transport());
    expect(await client.findNetworkByName('nat')).toBeUndefined();
    const created = await client.createNetwork(natNetwork());
    expect(created).toMatchObject({ Name: 'nat', Type: 'NAT' });
    expect((await client.findNetworkByName('nat'))?.ID).toBe(created.ID);
    expect(
      (await client.getNetwork(created.ID.toLowerCase()))?.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix,
    ).toBe('172.20.0.0/16');
    expect(await client.getNetwork('11111111-2222-3333-4444-555555555555')).toBeUndefined();
  });

  test('ADD: endpoint with addresses, routes, policies, attached to the namespace; DEL is idempotent', async () => {
    const client = new HcnClient(transport());
    const network = await client.createNetwork(natNetwork());
    const namespace = await client.createNamespace(buildNamespace());
    const endpoint = await client.createEndpoint(
      buildEndpoint({
        name: 'c0ffee_eth0',
        networkId: network.ID,
        addresses: ['172.20.0.5/16'],
        routes: [{ destination: '0.0.0.0/0', nextHop: '172.20.0.1' }],
        dns: { nameservers: ['172.20.0.1'] },
        mac: '00:15:5d:01:02:03',
        policies: [
          portMappingPolicy({ protocol: 'tcp', internalPort: 80, externalPort: 8080 }),
          outboundNatPolicy({ exceptions: ['172.20.0.0/16'] }),
        ],
      }),
    );
    expect(endpointAddresses(endpoint)).toEqual(['172.20.0.5/16']);
    expect(endpoint.HostComputeNetwork).toBe(network.ID);
    expect(endpoint.HostComputeNamespace).toBeUndefined();

    await client.attachEndpoint(namespace.ID, endpoint.ID);
    expect((await client.getEndpoint(endpoint.ID))?.HostComputeNamespace).toBe(namespace.ID);
    expect(namespaceEndpointIds((await client.getNamespace(namespace.ID)) ?? { ID: '' })).toEqual([
      endpoint.ID,
    ]);
    expect((await client.findEndpointByName('c0ffee_eth0', network.ID))?.ID).toBe(endpoint.ID);
    expect(await client.listEndpoints({ networkId: network.ID })).toHaveLength(1);

    // DEL, twice: every step answers "already gone" instead of failing.
    for (const expected of [true, false]) {
      expect(await client.detachEndpoint(namespace.ID, endpoint.ID)).toBe(expected);
      expect(await client.deleteEndpoint(endpoint.ID)).toBe(expected);
    }
    expect(await client.deleteNamespace(namespace.ID)).toBe(true);
    expect(await client.deleteNetwork(network.ID)).toBe(true);
    expect(await client.deleteNetwork(network.ID)).toBe(false);
  });

  test('policies added and removed on a live endpoint', async () => {
    const client = new HcnClient(transport());
    const network = await client.createNetwork(natNetwork());
    const endpoint = await client.createEndpoint(buildEndpoint({ name: 'ep', networkId: network.ID }));
    const mapping = portMappingPolicy({ protocol: 'udp', internalPort: 53, externalPort: 5353 });
    await client.modifyEndpoint(endpoint.ID, endpointPolicyRequest('Add', [mapping]));
    const withPolicy = await client.getEndpoint(endpoint.ID);
    expect(endpointPolicySettings(withPolicy?.Policies, 'PortMapping')).toEqual([
      { Protocol: 17, InternalPort: 53, ExternalPort: 5353, VIP: undefined, Flags: undefined },
    ]);
    await client.modifyEndpoint(endpoint.ID, endpointPolicyRequest('Remove', [mapping]));
    expect((await client.getEndpoint(endpoint.ID))?.Policies).toBeUndefined();
    await expect(
      client.modifyEndpoint(endpoint.ID, endpointPolicyRequest('Remove', [mapping])),
    ).rejects.toMatchObject({
      hresultName: 'HCN_E_POLICY_NOT_FOUND',
    });
  });

  test('deleting a network that still has endpoints is refused as inUse', async () => {
    const client = new HcnClient(transport());
    const network = await client.createNetwork(natNetwork());
    await client.createEndpoint(buildEndpoint({ name: 'ep', networkId: network.ID }));
    await expect(client.deleteNetwork(network.ID)).rejects.toMatchObject({ code: 'inUse' });
  });
});

test('answers that are not HCN documents are refused at the edge', async () => {
  const stub: HcnTransport = {
    name: 'ffi',
    list: async () => ['{"Name":"no id"}'],
    get: async () => 'not json',
    create: async () => '{}',
    modify: async () => undefined,
    delete: async () => undefined,
  };
  const client = new HcnClient(stub);
  await expect(client.listNetworks()).rejects.toThrow(HcnResponseError);
  await expect(client.listNetworks()).rejects.toThrow(/networks\[0\]\.ID: missing/);
  await expect(client.getEndpoint('11111111-2222-3333-4444-555555555555')).rejects.toThrow(/not valid JSON/);
  await expect(client.createEndpoint({ Name: 'x' })).rejects.toThrow(/HostComputeNetwork is required/);
});
