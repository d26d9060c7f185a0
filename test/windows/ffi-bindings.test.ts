// Every computenetwork.dll function, called for real through koffi against the HCN emulator:
// GUIDs by pointer, UTF-16 in and out, handles, error records, and every string freed.
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type HcnHandle, type HcnNative, loadHcnNative } from '../../hns/ffi/bindings.ts';
import { singleLibraryPaths } from '../../hns/ffi/library.ts';
import { ZERO_GUID, guidToFields } from '../../hns/guid.ts';
import { HRESULT } from '../../hns/hresult.ts';
import type { HcnObjectKind } from '../../hns/transport.ts';
import { type Emulator, QUERY, V2, expectNoLeaks, startEmulator } from './emulator-harness.ts';

let emu: Emulator;
let native: HcnNative;

beforeAll(async () => {
  emu = await startEmulator();
  native = await loadHcnNative(singleLibraryPaths(emu.path));
});
beforeEach(() => emu.hooks.reset());
afterEach(() => expectNoLeaks(emu.hooks));

const signed = (h: number) => h | 0;
const zero = guidToFields(ZERO_GUID);
const NET = `{${V2},"Name":"nat","Type":"NAT"}`;

async function created(
  kind: 'network' | 'namespace',
  settings: string,
): Promise<{ id: string; handle: HcnHandle }> {
  const r = await native.create(kind, zero, settings);
  expect(r).toMatchObject({ hresult: 0, record: null });
  if (r.handle === null) throw new Error('no handle');
  const props = await native.query(kind, r.handle, QUERY);
  expect(props.hresult).toBe(0);
  return { id: JSON.parse(props.value ?? '').ID as string, handle: r.handle };
}

describe('per kind: create, query, close, open, enumerate, delete', () => {
  test.each<['network' | 'namespace', string]>([
    ['network', NET],
    ['namespace', `{${V2},"Type":"Host"}`],
  ])('%s', async (kind, settings) => {
    const { id, handle } = await created(kind, settings);
    expect(id).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(await native.close(kind, handle)).toBe(0);

    const opened = await native.open(kind, guidToFields(id));
    expect(opened).toMatchObject({ hresult: 0, record: null });
    expect(opened.handle).not.toBeNull();
    expect(await native.close(kind, opened.handle as HcnHandle)).toBe(0);

    const listed = await native.enumerate(kind, QUERY);
    expect(listed).toEqual({ hresult: 0, value: JSON.stringify([id]), record: null });

    expect(await native.delete(kind, guidToFields(id))).toEqual({ hresult: 0, record: null });
    expect((await native.enumerate(kind, QUERY)).value).toBe('[]');
  });

  test('endpoint: created through the network handle, modified, queried, deleted', async () => {
    const net = await created('network', NET);
    const endpointId = guidToFields('0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D');
    const ep = await native.createEndpoint(net.handle, endpointId, `{${V2},"Name":"ep"}`);
    expect(ep).toMatchObject({ hresult: 0, record: null });
    const epHandle = ep.handle as HcnHandle;
    const policy = '{"Type":"PortMapping","Settings":{"Protocol":6,"InternalPort":80,"ExternalPort":8080}}';
    const modify = `{"ResourceType":"Policy","RequestType":"Add","Settings":{"Policies":[${policy}]}}`;
    expect(await native.modify('endpoint', epHandle, modify)).toEqual({ hresult: 0, record: null });
    const props = JSON.parse((await native.query('endpoint', epHandle, QUERY)).value ?? '');
    expect(props).toMatchObject({
      ID: '0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D',
      HostComputeNetwork: net.id,
      Name: 'ep',
      Policies: [JSON.parse(policy)],
    });
    const byNetwork = `{${V2},"Flags":0,"Filter":${JSON.stringify(JSON.stringify({ VirtualNetwork: net.id }))}}`;
    expect((await native.enumerate('endpoint', byNetwork)).value).toBe(
      '["0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"]',
    );
    expect(await native.close('endpoint', epHandle)).toBe(0);
    expect(await native.close('network', net.handle)).toBe(0);
    expect((await native.delete('endpoint', endpointId)).hresult).toBe(0);
    expect((await native.delete('network', guidToFields(net.id))).hresult).toBe(0);
  });

  test('namespace modify attaches an endpoint and the query shows it', async () => {
    const net = await created('network', NET);
    const ns = await created('namespace', `{${V2}}`);
    const ep = await native.createEndpoint(net.handle, zero, `{${V2},"Name":"ep"}`);
    const epId = JSON.parse((await native.query('endpoint', ep.handle as HcnHandle, QUERY)).value ?? '').ID;
    const attach = `{"ResourceType":"Endpoint","RequestType":"Add","Settings":{"EndpointId":"${epId}"}}`;
    expect(await native.modify('namespace', ns.handle, attach)).toEqual({ hresult: 0, record: null });
    const nsProps = JSON.parse((await native.query('namespace', ns.handle, QUERY)).value ?? '');
    expect(nsProps.Resources).toEqual([{ Type: 'Endpoint', Data: { ID: epId } }]);
    const epProps = JSON.parse((await native.query('endpoint', ep.handle as HcnHandle, QUERY)).value ?? '');
    expect(epProps.HostComputeNamespace).toBe(ns.id);
    for (const [kind, handle] of [
      ['endpoint', ep.handle],
      ['namespace', ns.handle],
      ['network', net.handle],
    ] as Array<[HcnObjectKind, HcnHandle]>) {
      expect(await native.close(kind, handle)).toBe(0);
    }
  });
});

describe('failures come back as HRESULT plus error record, and the record is freed', () => {
  test('open of an unknown ID is ERROR_NOT_FOUND with a record', async () => {
    const r = await native.open('endpoint', guidToFields('11111111-2222-3333-4444-555555555555'));
    expect(r.hresult).toBe(signed(HRESULT.ERROR_NOT_FOUND));
    expect(r.handle).toBeNull();
    expect(JSON.parse(r.record ?? '')).toMatchObject({ Success: false, ErrorCode: HRESULT.ERROR_NOT_FOUND });
  });

  test('delete of an unknown ID is ERROR_NOT_FOUND', async () => {
    const r = await native.delete('namespace', guidToFields('11111111-2222-3333-4444-555555555555'));
    expect(r.hresult).toBe(signed(HRESULT.ERROR_NOT_FOUND));
    expect(r.record).toContain('not found');
  });

  test('a closed handle is E_HANDLE', async () => {
    const { handle } = await created('network', NET);
    expect(await native.close('network', handle)).toBe(0);
    expect((await native.query('network', handle, QUERY)).hresult).toBe(signed(HRESULT.E_HANDLE));
    expect(await native.close('network', handle)).toBe(signed(HRESULT.E_HANDLE));
  });

  test('a success HRESULT can still carry an error record (injected)', async () => {
    emu.hooks.failNext('HcnEnumerateNamespaces', 0);
    const r = await native.enumerate('namespace', QUERY);
    expect(r.hresult).toBe(0);
    expect(r.value).toBeNull();
    expect(r.record).toContain('injected');
  });
});

describe('an endpoint is created through a live network handle', () => {
  test('a closed network handle is E_HANDLE, a network deleted while open is ERROR_NOT_FOUND', async () => {
    const net = await created('network', NET);
    const settings = `{${V2},"Name":"ep"}`;
    const reopened = await native.open('network', guidToFields(net.id));
    expect(await native.close('network', net.handle)).toBe(0);
    const stale = await native.createEndpoint(net.handle, zero, settings);
    expect(stale).toMatchObject({ hresult: signed(HRESULT.E_HANDLE), handle: null });
    expect(await native.delete('network', guidToFields(net.id))).toEqual({ hresult: 0, record: null });
    const gone = await native.createEndpoint(reopened.handle as HcnHandle, zero, settings);
    expect(gone).toMatchObject({ hresult: signed(HRESULT.ERROR_NOT_FOUND), handle: null });
    expect(gone.record).toMatch(/deleted while open/);
    expect(await native.close('network', reopened.handle as HcnHandle)).toBe(0);
    expect((await native.enumerate('endpoint', QUERY)).value).toBe('[]');
  });

  test('the document may name its network, but only that one', async () => {
    const net = await created('network', NET);
    const other = `{${V2},"Name":"ep","HostComputeNetwork":"11111111-2222-3333-4444-555555555555"}`;
    const r = await native.createEndpoint(net.handle, zero, other);
    expect(r.hresult).toBe(signed(HRESULT.E_INVALIDARG));
    const same = await native.createEndpoint(
      net.handle,
      zero,
      `{${V2},"HostComputeNetwork":"${net.id.toLowerCase()}"}`,
    );
    expect(same.hresult).toBe(0);
    expect(await native.close('endpoint', same.handle as HcnHandle)).toBe(0);
    expect(await native.close('network', net.handle)).toBe(0);
  });
});

describe('strings cross the boundary intact', () => {
  test('non-ASCII names survive UTF-16 in and out', async () => {
    const name = 'réseau-网络-🚀';
    const { handle } = await created('network', `{${V2},"Name":${JSON.stringify(name)},"Type":"NAT"}`);
    expect(JSON.parse((await native.query('network', handle, QUERY)).value ?? '').Name).toBe(name);
    const byName = `{${V2},"Flags":0,"Filter":${JSON.stringify(JSON.stringify({ Name: name }))}}`;
    expect(JSON.parse((await native.enumerate('network', byName)).value ?? '')).toHaveLength(1);
    expect(await native.close('network', handle)).toBe(0);
  });

  test('calls run on worker threads concurrently without losing or leaking anything', async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, () => native.create('namespace', zero, `{${V2}}`)),
    );
    expect(new Set(results.map((r) => r.handle)).size).toBe(24);
    await Promise.all(results.map((r) => native.close('namespace', r.handle as HcnHandle)));
    expect(JSON.parse((await native.enumerate('namespace', QUERY)).value ?? '')).toHaveLength(24);
  });
});
