// The sdnbridge plugin on the emulated HCN beyond its scenarios: an L2Bridge network made
// beforehand (how WCN deployments run), HNS v1 policy forms turned into HCN v2 documents,
// WCN's pod-namespace DNS prefix, and the loopback DSR policy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { endpointName } from '../../hns/endpoint-spec.ts';
import { netAdapterNamePolicy } from '../../hns/schema/network-policy.ts';
import { buildNetwork } from '../../hns/schema/network.ts';
import { sdnbridgePlugin } from '../../plugins/sdnbridge/plugin.ts';
import { callPlugin, useEmulatedWindows } from '../scenarios/windows-runner.ts';

const windows = useEmulatedWindows();
let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'crosscni-sdn-win-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const config = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '0.4.0',
  name: 'cbr0',
  type: 'sdnbridge',
  master: 'Ethernet 2',
  ipam: { subnet: '10.244.1.0/24', routes: [{ GW: '10.244.1.2' }], dataDir },
  ...extra,
});

async function endpointOfAdd(extra: Record<string, unknown>, args?: string) {
  const namespace = await windows.platform().createNamespace('pod');
  const added = await callPlugin(sdnbridgePlugin, { command: 'ADD', namespace, args }, config(extra));
  expect(added.exitCode, JSON.stringify(added.json)).toBe(0);
  const endpoint = await windows.hns().findEndpointByName(endpointName('c0ffee0123456789', 'eth0'));
  return { namespace, added, endpoint };
}

describe('sdnbridge on the emulated HCN', () => {
  test('an L2Bridge network made beforehand on the adapter is used as it is', async () => {
    const existing = await windows.hns().createNetwork(
      buildNetwork({
        name: 'cbr0',
        type: 'L2Bridge',
        subnets: [{ prefix: '10.244.1.0/24', gateway: '10.244.1.2' }],
        policies: [netAdapterNamePolicy('Ethernet 2')],
      }),
    );
    const { endpoint } = await endpointOfAdd({});
    expect(endpoint?.HostComputeNetwork?.toUpperCase()).toBe(existing.ID.toUpperCase());
    expect((await windows.hns().listNetworks()).length).toBe(1);
  });

  test('HNS v1 policy forms become the HCN v2 policies WCN would send', async () => {
    const { endpoint } = await endpointOfAdd({
      AdditionalArgs: [
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16', '10.96.0.0/12'] },
        },
        {
          Name: 'EndpointPolicy',
          Value: { Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true },
        },
        {
          Name: 'EndpointPolicy',
          Value: {
            Type: 'ACL',
            Protocol: 17,
            Action: 'Block',
            Direction: 'Out',
            RemotePort: 53,
            Priority: 300,
          },
        },
      ],
    });
    expect(endpoint?.Policies).toEqual([
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16', '10.96.0.0/12'] } },
      { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
      {
        Type: 'ACL',
        Settings: {
          Protocols: '17',
          Action: 'Block',
          Direction: 'Out',
          RemotePorts: '53',
          RuleType: 'Switch',
          Priority: 300,
        },
      },
    ]);
  });

  test('the pod namespace goes before the first search domain, as WCN does, on the endpoint and in the result', async () => {
    const { added, endpoint } = await endpointOfAdd(
      { dns: { Nameservers: ['10.96.0.10'], Search: ['svc.cluster.local'] } },
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system',
    );
    expect(endpoint?.Dns).toEqual({ ServerList: ['10.96.0.10'], Search: ['kube-system.svc.cluster.local'] });
    expect(added.json.dns).toEqual({
      nameservers: ['10.96.0.10'],
      search: ['kube-system.svc.cluster.local'],
    });
  });

  test('loopbackDSR adds the OutBoundNAT policy whose destination is the endpoint itself', async () => {
    const { endpoint } = await endpointOfAdd({ optionalFlags: { loopbackDSR: true } });
    expect(endpoint?.Policies).toEqual([{ Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.1.1'] } }]);
  });
});
