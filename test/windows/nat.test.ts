// The nat plugin on the emulated HCN beyond its scenarios: networks an operator (or Docker)
// made beforehand, idempotent DEL, GC, CHECK after tampering, and what HCN cannot do.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { endpointName } from '../../hns/endpoint-spec.ts';
import { buildNetwork } from '../../hns/schema/network.ts';
import { natPlugin } from '../../plugins/nat/plugin.ts';
import { callPlugin, useEmulatedWindows } from '../scenarios/windows-runner.ts';

const windows = useEmulatedWindows();
let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'crosscni-nat-win-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const config = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'nat',
  type: 'nat',
  master: 'Ethernet',
  ipam: { subnet: '172.20.0.0/16', dataDir },
  ...extra,
});

describe('nat on the emulated HCN', () => {
  test('an HCN NAT network made beforehand is used as it is, and outlives DEL', async () => {
    const hns = windows.hns();
    const existing = await hns.createNetwork(
      buildNetwork({
        name: 'nat',
        type: 'NAT',
        subnets: [{ prefix: '172.20.0.0/16', gateway: '172.20.0.1' }],
      }),
    );
    const namespace = await windows.platform().createNamespace('pod');
    const added = await callPlugin(natPlugin, { command: 'ADD', namespace }, config());
    expect(added.exitCode, JSON.stringify(added.json)).toBe(0);
    const endpoint = await hns.findEndpointByName(endpointName('c0ffee0123456789', 'eth0'));
    expect(endpoint?.HostComputeNetwork?.toUpperCase()).toBe(existing.ID.toUpperCase());
    expect(endpoint?.IpConfigurations).toEqual([{ IpAddress: '172.20.0.2', PrefixLength: 16 }]);
    expect((await callPlugin(natPlugin, { command: 'DEL', namespace }, config())).exitCode).toBe(0);
    expect(await hns.findNetworkByName('nat')).toMatchObject({ ID: existing.ID });
    await windows.platform().deleteNamespace(namespace);
  });

  test('a same-named network of another type is refused, naming it, and the address is released', async () => {
    const hns = windows.hns();
    await hns.createNetwork(
      buildNetwork({ name: 'nat', type: 'L2Bridge', subnets: [{ prefix: '172.20.0.0/16' }] }),
    );
    const namespace = await windows.platform().createNamespace('pod');
    const added = await callPlugin(natPlugin, { command: 'ADD', namespace }, config());
    expect(added.json).toMatchObject({
      code: 5,
      msg: expect.stringContaining('has type L2Bridge, the config asks for NAT'),
    });
    // host-local's store keeps one file per allocated address: the failed ADD gave its back.
    expect(readdirSync(join(dataDir, 'nat')).filter((f) => isIP(f) !== 0)).toEqual([]);
    await windows.platform().deleteNamespace(namespace);
  });

  test('DEL of what never existed, and twice, succeeds', async () => {
    const namespace = await windows.platform().createNamespace('pod');
    expect((await callPlugin(natPlugin, { command: 'DEL', namespace }, config())).exitCode).toBe(0);
    expect((await callPlugin(natPlugin, { command: 'ADD', namespace }, config())).exitCode).toBe(0);
    for (const ns of [namespace, '', namespace]) {
      expect((await callPlugin(natPlugin, { command: 'DEL', namespace: ns }, config())).exitCode).toBe(0);
    }
    await windows.platform().deleteNamespace(namespace);
  });

  test('GC removes the endpoints of attachments that are no longer valid', async () => {
    const hns = windows.hns();
    const namespace = await windows.platform().createNamespace('pod');
    expect((await callPlugin(natPlugin, { command: 'ADD', namespace }, config())).exitCode).toBe(0);
    const gc = await callPlugin(
      natPlugin,
      { command: 'GC', namespace: '' },
      {
        ...config(),
        cniVersion: '1.1.0',
        'cni.dev/valid-attachments': [{ containerID: 'other', ifname: 'eth0' }],
      },
    );
    expect(gc.exitCode, JSON.stringify(gc.json)).toBe(0);
    expect(await hns.findEndpointByName(endpointName('c0ffee0123456789', 'eth0'))).toBeUndefined();
    await windows.platform().deleteNamespace(namespace);
  });

  test('CHECK reports an endpoint removed behind the plugin’s back', async () => {
    const hns = windows.hns();
    const namespace = await windows.platform().createNamespace('pod');
    const added = await callPlugin(natPlugin, { command: 'ADD', namespace }, config());
    const endpoint = await hns.findEndpointByName(endpointName('c0ffee0123456789', 'eth0'));
    await hns.detachEndpoint(namespace, endpoint!.ID);
    await hns.deleteEndpoint(endpoint!.ID);
    const checked = await callPlugin(
      natPlugin,
      { command: 'CHECK', namespace },
      { ...config(), prevResult: added.json },
    );
    expect(checked.json).toMatchObject({
      code: 5,
      msg: expect.stringContaining('interface eth0 does not exist'),
    });
    await windows.platform().deleteNamespace(namespace);
  });

  test('an SCTP port mapping, which HCN cannot forward, is refused (code 2) before anything is made', async () => {
    const hns = windows.hns();
    const namespace = await windows.platform().createNamespace('pod');
    const sctp = config({
      runtimeConfig: { portMappings: [{ hostPort: 9000, containerPort: 9000, protocol: 'sctp' }] },
    });
    const added = await callPlugin(natPlugin, { command: 'ADD', namespace }, sctp);
    expect(added.json).toMatchObject({ code: 2, msg: expect.stringContaining('SCTP port mapping') });
    expect(await hns.listEndpoints()).toEqual([]);
    await windows.platform().deleteNamespace(namespace);
  });
});
