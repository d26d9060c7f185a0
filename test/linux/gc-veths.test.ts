/**
 * GC of host veths on the real kernel: the Linux platform's collectGarbage deletes the veths on
 * the network's bridge tagged for this network whose attachment is not valid, even while their
 * namespaces are still held (a sandbox the runtime gave up on), and nothing else: not the valid
 * attachments' veths, not another network's veths (on the same bridge, with the same container
 * id), not an untagged port, not a tagged veth that is on no bridge. A missing bridge is no error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hostPortAlias } from '../../linux/host-port-tag.ts';
import { ipJson, isRoot, linkAddresses, linkExists, sh, skipReason, uniqueName } from '../support/kernel.ts';
import { cleanupLinuxFixtures, endpointSpec, linuxFixture, networkSpec, platform } from './linux-fixture.ts';

afterEach(cleanupLinuxFixtures);

function bridgePorts(bridge: string): string[] {
  return ipJson<Array<{ ifname: string }>>(['link', 'show', 'master', bridge])
    .map((l) => l.ifname)
    .sort();
}

describe.skipIf(!isRoot)(`GC of host veths (${skipReason})`, () => {
  it('deletes exactly the invalid attachments’ veths of its network', async () => {
    const fx = linuxFixture('10.217');
    const network = await platform.ensureNetwork(
      networkSpec(fx, { subnets: [{ cidr: '10.217.0.0/24' }], hostAddresses: ['10.217.0.1/24'] }),
    );
    const keepNs = fx.namespace();
    const dropNs = fx.namespace();
    const add = async (ns: ReturnType<typeof fx.namespace>, extra: Parameters<typeof endpointSpec>[2]) =>
      (await platform.createEndpoint(network, endpointSpec(fx, ns, extra))).host!.name;
    const keep = await add(keepNs, { containerId: 'keep', addresses: [{ cidr: '10.217.0.5/24' }] });
    // The same container, another interface: an attachment is (container id, ifname).
    const dropSecond = await add(keepNs, {
      containerId: 'keep',
      ifname: 'net1',
      addresses: [{ cidr: '10.217.0.6/24' }],
    });
    const drop = await add(dropNs, { containerId: 'drop', addresses: [{ cidr: '10.217.0.7/24' }] });
    // Another network on the same bridge, with the container id GC drops from this one.
    const other = linuxFixture('10.218');
    const otherNs = other.namespace();
    const otherVeth = await add(otherNs, {
      network: other.network,
      containerId: 'drop',
      addresses: [{ cidr: '10.217.0.8/24' }],
    });
    // A foreign port on the bridge, and a veth tagged for an invalid attachment of this network
    // that is on no bridge: neither is GC's to judge.
    const foreign = fx.scratch.link(uniqueName('fvp'));
    sh('ip', ['link', 'add', foreign, 'type', 'veth', 'peer', 'name', `${foreign}p`]);
    sh('ip', ['link', 'set', foreign, 'master', fx.bridge]);
    const loose = fx.scratch.link(uniqueName('lvp'));
    sh('ip', ['link', 'add', loose, 'type', 'veth', 'peer', 'name', `${loose}p`]);
    const looseAlias = hostPortAlias(fx.network, { containerId: 'loose', ifname: 'eth0' });
    sh('ip', ['link', 'set', loose, 'alias', looseAlias]);
    expect(bridgePorts(fx.bridge)).toEqual([keep, dropSecond, drop, otherVeth, foreign].sort());

    await platform.collectGarbage(fx.network, fx.bridge, [{ containerId: 'keep', ifname: 'eth0' }]);

    expect(bridgePorts(fx.bridge)).toEqual([keep, otherVeth, foreign].sort());
    expect(linkExists(drop)).toBe(false);
    expect(linkExists(dropSecond)).toBe(false);
    // The pair went: the container ends are gone from the namespaces that still exist.
    expect(linkExists('eth0', dropNs.name)).toBe(false);
    expect(linkExists('net1', keepNs.name)).toBe(false);
    expect(linkAddresses('eth0', keepNs.name)).toContain('10.217.0.5/24');
    expect(linkAddresses('eth0', otherNs.name)).toContain('10.217.0.8/24');
    expect(linkExists(loose)).toBe(true);

    // Again: nothing more to delete, no error.
    await platform.collectGarbage(fx.network, fx.bridge, [{ containerId: 'keep', ifname: 'eth0' }]);
    expect(bridgePorts(fx.bridge)).toEqual([keep, otherVeth, foreign].sort());
    // With nothing valid, this network's last veth goes; the others stay.
    await platform.collectGarbage(fx.network, fx.bridge, []);
    expect(bridgePorts(fx.bridge)).toEqual([otherVeth, foreign].sort());
  });

  it('a network whose bridge is missing: GC succeeds and touches no veth', async () => {
    const fx = linuxFixture('10.217');
    const network = await platform.ensureNetwork(
      networkSpec(fx, { subnets: [{ cidr: '10.217.0.0/24' }], hostAddresses: ['10.217.0.1/24'] }),
    );
    const ns = fx.namespace();
    const spec = endpointSpec(fx, ns, { containerId: 'orphan', addresses: [{ cidr: '10.217.0.5/24' }] });
    const veth = (await platform.createEndpoint(network, spec)).host!.name;
    // Deleting the bridge frees its ports: the tagged veth lives on, enslaved to nothing.
    sh('ip', ['link', 'del', fx.bridge]);
    expect(linkExists(veth)).toBe(true);

    await platform.collectGarbage(fx.network, fx.bridge, []);
    expect(linkExists(veth)).toBe(true);
    // A network that never existed, on a bridge that never existed.
    await platform.collectGarbage(`never ${uniqueName('ct')}`, uniqueName('ctnone'), []);
    // DEL still finds it by its tag.
    await platform.deleteEndpoint({ ...spec, namespace: '', addresses: [] });
    expect(linkExists(veth)).toBe(false);
  });
});
