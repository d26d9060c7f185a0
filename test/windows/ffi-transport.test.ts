// The FFI transport's operations and every error path against the HCN emulator, with the
// check after each test that no HCN string or handle was leaked, whatever the path.
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HcnError } from '../../hns/errors.ts';
import { HRESULT } from '../../hns/hresult.ts';
import { type Emulator, QUERY, V2, expectNoLeaks, startEmulator } from './emulator-harness.ts';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
beforeEach(() => emu.hooks.reset());
afterEach(() => expectNoLeaks(emu.hooks));

const MISSING = '11111111-2222-3333-4444-555555555555';
const net = (name: string) => `{${V2},"Name":${JSON.stringify(name)},"Type":"NAT"}`;

async function rejection(promise: Promise<unknown>): Promise<HcnError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof HcnError) return e;
    throw e;
  }
  throw new Error('expected the call to fail with an HcnError');
}

async function createNetwork(name = 'nat'): Promise<string> {
  const doc = await emu.transport.create({ kind: 'network', settings: net(name), query: QUERY });
  return JSON.parse(doc).ID as string;
}

async function createEndpoint(networkId: string, name = 'ep'): Promise<string> {
  const settings = `{${V2},"Name":${JSON.stringify(name)}}`;
  return JSON.parse(await emu.transport.create({ kind: 'endpoint', networkId, settings, query: QUERY }))
    .ID as string;
}

describe('operations', () => {
  test('create answers the properties with the ID HCN chose; get and list find it', async () => {
    const id = await createNetwork();
    expect(JSON.parse(await emu.transport.get('network', id.toLowerCase(), QUERY))).toMatchObject({
      ID: id,
      Name: 'nat',
    });
    const filter = `{${V2},"Flags":0,"Filter":"{\\"Name\\":\\"nat\\"}"}`;
    expect((await emu.transport.list('network', filter)).map((d) => JSON.parse(d).ID)).toEqual([id]);
    expect(
      await emu.transport.list('network', `{${V2},"Flags":0,"Filter":"{\\"Name\\":\\"other\\"}"}`),
    ).toEqual([]);
  });

  test('enumerate filters by ID and by the endpoint’s network under either key', async () => {
    const a = await createNetwork('a');
    const b = await createNetwork('b');
    const epA = await createEndpoint(a, 'ep-a');
    await createEndpoint(b, 'ep-b');
    const filtered = (filter: object) =>
      `{${V2},"Flags":0,"Filter":${JSON.stringify(JSON.stringify(filter))}}`;
    const ids = async (kind: 'network' | 'endpoint', filter: object) =>
      (await emu.transport.list(kind, filtered(filter))).map((d) => JSON.parse(d).ID);
    expect(await ids('network', { ID: b.toLowerCase() })).toEqual([b]);
    expect(await ids('endpoint', { VirtualNetwork: a })).toEqual([epA]);
    expect(await ids('endpoint', { HostComputeNetwork: a })).toEqual([epA]);
    expect(await ids('endpoint', { Name: 'ep-a', VirtualNetwork: b })).toEqual([]);
    expect(await ids('endpoint', {})).toHaveLength(2);
  });

  test('create with a chosen ID keeps it', async () => {
    const doc = await emu.transport.create({
      kind: 'namespace',
      id: MISSING,
      settings: `{${V2}}`,
      query: QUERY,
    });
    expect(JSON.parse(doc).ID).toBe(MISSING);
  });

  test('modify and delete', async () => {
    const networkId = await createNetwork();
    const endpointId = await createEndpoint(networkId);
    const policy = { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } };
    await emu.transport.modify(
      'endpoint',
      endpointId,
      JSON.stringify({ ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [policy] } }),
    );
    expect(JSON.parse(await emu.transport.get('endpoint', endpointId, QUERY)).Policies).toEqual([policy]);
    await emu.transport.delete('endpoint', endpointId);
    await emu.transport.delete('network', networkId);
    expect(await emu.transport.list('network', QUERY)).toEqual([]);
  });
});

describe('HCN rules surface as typed HcnErrors', () => {
  test('get / delete / modify of an unknown ID: notFound with HNS’s record', async () => {
    // One call at a time: a call started before the previous one's rejection is awaited could
    // reject with no handler attached yet (an unhandled rejection, depending on timing).
    for (const call of [
      () => emu.transport.get('network', MISSING, QUERY),
      () => emu.transport.delete('endpoint', MISSING),
      () => emu.transport.modify('namespace', MISSING, '{}'),
    ]) {
      const e = await rejection(call());
      expect(e).toMatchObject({
        code: 'notFound',
        hresult: HRESULT.ERROR_NOT_FOUND,
        hresultName: 'ERROR_NOT_FOUND',
      });
      expect(e.recordMessage).toMatch(/not found/);
      expect(e.object).toContain(MISSING);
    }
  });

  test('an existing ID or network name: alreadyExists', async () => {
    const id = await createNetwork();
    const again = await rejection(
      emu.transport.create({ kind: 'network', id, settings: net('other'), query: QUERY }),
    );
    expect(again).toMatchObject({
      code: 'alreadyExists',
      hresult: HRESULT.ERROR_ALREADY_EXISTS,
      operation: 'HcnCreateNetwork',
    });
    const sameName = await rejection(
      emu.transport.create({ kind: 'network', settings: net('nat'), query: QUERY }),
    );
    expect(sameName).toMatchObject({ code: 'alreadyExists', hresultName: 'HCN_E_NETWORK_ALREADY_EXISTS' });
    expect(sameName.message).toMatch(/^HcnCreateNetwork network "nat": a network named "nat" already exists/);
  });

  test('an endpoint needs an existing network', async () => {
    const e = await rejection(createEndpoint(MISSING));
    expect(e).toMatchObject({ code: 'notFound', operation: 'HcnOpenNetwork' });
    expect(await emu.transport.list('endpoint', QUERY)).toEqual([]);
  });

  test('a network that still has endpoints cannot be deleted', async () => {
    const networkId = await createNetwork();
    await createEndpoint(networkId);
    const e = await rejection(emu.transport.delete('network', networkId));
    expect(e).toMatchObject({
      code: 'inUse',
      hresultName: 'HCN_E_ENTITY_HAS_REFERENCES',
      operation: 'HcnDeleteNetwork',
    });
  });

  test('attaching needs both the namespace and the endpoint; an endpoint joins one namespace', async () => {
    const networkId = await createNetwork();
    const endpointId = await createEndpoint(networkId);
    const ns = JSON.parse(
      await emu.transport.create({ kind: 'namespace', settings: `{${V2}}`, query: QUERY }),
    ).ID;
    const attach = (epId: string) =>
      JSON.stringify({ ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: epId } });
    expect(await rejection(emu.transport.modify('namespace', MISSING, attach(endpointId)))).toMatchObject({
      code: 'notFound',
    });
    expect(await rejection(emu.transport.modify('namespace', ns, attach(MISSING)))).toMatchObject({
      code: 'notFound',
    });
    await emu.transport.modify('namespace', ns, attach(endpointId));
    expect(await rejection(emu.transport.modify('namespace', ns, attach(endpointId)))).toMatchObject({
      code: 'alreadyExists',
      hresultName: 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS',
    });
  });

  test('malformed JSON and a wrong SchemaVersion: invalidArgument', async () => {
    const malformed = await rejection(
      emu.transport.create({ kind: 'network', settings: '{"Name":', query: QUERY }),
    );
    expect(malformed).toMatchObject({ code: 'invalidArgument', hresultName: 'HCN_E_INVALID_JSON' });
    const v1 = '{"SchemaVersion":{"Major":1,"Minor":0},"Name":"old"}';
    const wrong = await rejection(emu.transport.create({ kind: 'network', settings: v1, query: QUERY }));
    expect(wrong).toMatchObject({ code: 'invalidArgument', hresultName: 'E_INVALIDARG' });
    expect(wrong.recordMessage).toMatch(/SchemaVersion/);
    const badFilter = await rejection(emu.transport.list('network', `{${V2},"Filter":{"Name":"nat"}}`));
    expect(badFilter).toMatchObject({ code: 'invalidArgument', operation: 'HcnEnumerateNetworks' });
    const badType = await rejection(
      emu.transport.create({ kind: 'network', settings: `{${V2},"Type":"Bridge"}`, query: QUERY }),
    );
    expect(badType).toMatchObject({ hresultName: 'HCN_E_INVALID_NETWORK_TYPE' });
  });

  test('an ID that is not a GUID is refused without calling HCN', async () => {
    const e = await rejection(emu.transport.get('network', 'nat', QUERY));
    expect(e).toMatchObject({ hresultName: 'HCN_E_GUID_CONVERSION_FAILURE', operation: 'HcnOpenNetwork' });
  });
});

describe('injected failures close what was opened and free what was returned', () => {
  test('endpoint create fails: the network handle is closed, nothing is created', async () => {
    const networkId = await createNetwork();
    emu.hooks.failNext('HcnCreateEndpoint', 0x80004005);
    const e = await rejection(createEndpoint(networkId));
    expect(e).toMatchObject({ operation: 'HcnCreateEndpoint', hresultName: 'E_FAIL' });
    expect(e.object).toBe(`endpoint "ep" on network ${networkId}`);
    expect(await emu.transport.list('endpoint', QUERY)).toEqual([]);
  });

  test('success with an error record is a failure (hcsshim’s rule)', async () => {
    emu.hooks.failNext('HcnCreateNamespace', 0);
    const e = await rejection(emu.transport.create({ kind: 'namespace', settings: `{${V2}}`, query: QUERY }));
    expect(e).toMatchObject({ hresult: 0, operation: 'HcnCreateNamespace' });
    expect(e.recordMessage).toMatch(/injected/);
  });

  test('query after create fails: the new handle is still closed', async () => {
    emu.hooks.failNext('HcnQueryNetworkProperties', 0x8007000e);
    const e = await rejection(emu.transport.create({ kind: 'network', settings: net('nat'), query: QUERY }));
    expect(e).toMatchObject({ operation: 'HcnQueryNetworkProperties', hresultName: 'E_OUTOFMEMORY' });
  });

  test('modify fails: the handle is closed', async () => {
    const networkId = await createNetwork();
    emu.hooks.failNext('HcnModifyNetwork', 0x803b0015);
    const e = await rejection(emu.transport.modify('network', networkId, '{}'));
    expect(e).toMatchObject({ code: 'unsupported', operation: 'HcnModifyNetwork' });
  });

  test('an object deleted between enumerate and open is skipped by list; other failures are not', async () => {
    await createNetwork('a');
    await createNetwork('b');
    emu.hooks.failNext('HcnOpenNetwork', HRESULT.ERROR_NOT_FOUND);
    expect(await emu.transport.list('network', QUERY)).toHaveLength(1);
    emu.hooks.failNext('HcnOpenNetwork', 0x80070005);
    expect(await rejection(emu.transport.list('network', QUERY))).toMatchObject({
      hresultName: 'E_ACCESSDENIED',
    });
    emu.hooks.failNext('HcnEnumerateNetworks', 0x80070005);
    expect(await rejection(emu.transport.list('network', QUERY))).toMatchObject({
      operation: 'HcnEnumerateNetworks',
    });
  });

  test('delete fails with HNS’s own code: recorded as it is', async () => {
    const networkId = await createNetwork();
    emu.hooks.failNext('HcnDeleteNetwork', 0x803b00ee);
    const e = await rejection(emu.transport.delete('network', networkId));
    expect(e).toMatchObject({ hresult: 0x803b00ee, code: 'other', hresultName: undefined });
    expect(e.message).toMatch(/\(HRESULT 0x803B00EE\)$/);
  });
});
