// The sdnbridge plugin on the real kernel beyond its scenarios: inbound ACLs on switched and
// host-originated traffic, GC of ACLs, and a master that is missing or taken — in a throwaway
// host namespace whose "Ethernet" veth stands in for the uplink (test/scenarios/linux-harness.ts).
import { readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attachmentHash, networkTable } from '../../linux/netfilter-names.ts';
import { ScenarioHost, UPLINK } from '../scenarios/linux-harness.ts';
import { isRoot, skipReason, uniqueName } from '../support/kernel.ts';

let current: ScenarioHost | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

const acl = (settings: Record<string, unknown>) => ({
  Name: 'EndpointPolicy',
  Value: { Type: 'ACL', Settings: settings },
});

function setUp(additionalArgs: unknown[] = []) {
  const h = new ScenarioHost();
  current = h;
  const network = uniqueName('sdn');
  const config = {
    cniVersion: '1.0.0',
    name: network,
    type: 'sdnbridge',
    master: UPLINK,
    ipam: { subnet: '10.234.0.0/24', routes: [{ GW: '10.234.0.2' }], dataDir: h.dataDir },
    AdditionalArgs: additionalArgs,
  };
  return { h, network, config };
}

describe.skipIf(!isRoot)(`sdnbridge on the real kernel${isRoot ? '' : ` (${skipReason})`}`, () => {
  it('inbound ACLs filter switched traffic from the segment and traffic from the host alike', async () => {
    const { h, config } = setUp([
      acl({
        Protocols: '6',
        Action: 'Block',
        Direction: 'In',
        RemoteAddresses: '10.234.0.50',
        LocalPorts: '8080',
        Priority: 100,
      }),
      acl({
        Protocols: '6',
        Action: 'Block',
        Direction: 'In',
        RemoteAddresses: '10.234.0.2/32',
        LocalPorts: '8081',
        Priority: 100,
      }),
      acl({ Action: 'Allow', Direction: 'In', Priority: 2000 }),
    ]);
    h.setUpOutside({ address: '10.234.0.50/24' });
    expect(h.exec('sdnbridge', 'ADD', config).exitCode).toBe(0);
    await h.serve(h.container, [8080, 8081]);
    // The container got 10.234.0.1 (the gateway .2 is the host's, excluded from allocation).
    expect(h.probe(h.outside, '10.234.0.1', 8080)).toBe('blocked');
    expect(h.probe(h.outside, '10.234.0.1', 8081)).toBe('peer=10.234.0.50');
    expect(h.probe(h.host, '10.234.0.1', 8080)).toBe('peer=10.234.0.2');
    expect(h.probe(h.host, '10.234.0.1', 8081)).toBe('blocked');
  });

  it('GC removes the ACLs of attachments that are no longer valid', () => {
    const { h, network, config } = setUp([
      acl({ Action: 'Block', Direction: 'Out', RemoteAddresses: '192.0.2.0/24', Priority: 1 }),
    ]);
    const second = h.scratch.namespace('wc');
    expect(h.exec('sdnbridge', 'ADD', config, { containerId: 'keep' }).exitCode).toBe(0);
    expect(h.exec('sdnbridge', 'ADD', config, { containerId: 'stale', netns: second.path }).exitCode).toBe(0);
    const table = networkTable(network);
    expect(h.nft('bridge', table)).toContain(`ao-${attachmentHash('stale', 'eth0')}`);
    const gc = h.exec('sdnbridge', 'GC', {
      ...config,
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }],
    });
    expect(gc.exitCode, gc.stdout).toBe(0);
    expect(h.nft('bridge', table)).toContain(`ao-${attachmentHash('keep', 'eth0')}`);
    expect(h.nft('bridge', table)).not.toContain(attachmentHash('stale', 'eth0'));
  });

  it('a master that does not exist fails ADD naming it, and releases the address', () => {
    const { h, network, config } = setUp();
    const failed = h.exec('sdnbridge', 'ADD', { ...config, master: 'Ethernet9' });
    expect(failed.exitCode).toBe(1);
    expect(failed.json).toMatchObject({ msg: expect.stringContaining('uplink Ethernet9') });
    expect(readdirSync(join(h.dataDir, network)).filter((f) => isIP(f) !== 0)).toEqual([]);
  });

  it('a master already in another bridge is a conflict, never stolen', () => {
    const { h, config } = setUp();
    h.ip(h.host, ['link', 'add', 'other0', 'type', 'bridge']);
    h.ip(h.host, ['link', 'set', UPLINK, 'master', 'other0']);
    const failed = h.exec('sdnbridge', 'ADD', config);
    expect(failed.json).toMatchObject({
      code: 5,
      msg: expect.stringContaining('already attached to other0'),
    });
    expect(h.json<Array<{ master?: string }>>(h.host, ['link', 'show', 'dev', UPLINK])[0]?.master).toBe(
      'other0',
    );
  });
});
