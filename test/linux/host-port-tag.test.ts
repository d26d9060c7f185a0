/**
 * Finding a host veth whose container end is out of reach, on the real kernel: by its altname
 * (a name lookup, whatever the number of links on the host), and for veths tagged before
 * altnames existed in crosscni (alias only), by the one-time migration the first ADD on the
 * bridge does before it sets the bridge's marker. Needs alternative names (Linux 5.5+).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeMarkerAltName, hostPortAlias, hostPortAltName } from '../../linux/host-port-tag.ts';
import { ipJson, isRoot, linkExists, sh, skipReason, trySh } from '../support/kernel.ts';
import { cleanupLinuxFixtures, endpointSpec, linuxFixture, networkSpec, platform } from './linux-fixture.ts';

afterEach(cleanupLinuxFixtures);

interface LinkJson {
  ifname: string;
  altnames?: string[];
  ifalias?: string;
}

function link(name: string): LinkJson {
  return ipJson<LinkJson[]>(['link', 'show', 'dev', name])[0]!;
}

/**
 * A network with one endpoint ("old") as an older crosscni left it: its veth tagged with the
 * alias only, on a bridge without the marker.
 */
async function networkWithAliasOnlyVeth() {
  const fx = linuxFixture('10.216');
  const spec = networkSpec(fx, { subnets: [{ cidr: '10.216.0.0/24' }], hostAddresses: ['10.216.0.1/24'] });
  const network = await platform.ensureNetwork(spec);
  const old = endpointSpec(fx, fx.namespace(), {
    containerId: 'old',
    addresses: [{ cidr: '10.216.0.6/24' }],
  });
  const oldVeth = (await platform.createEndpoint(network, old)).host!.name;
  const oldAttachment = { containerId: 'old', ifname: 'eth0' };
  sh('ip', [
    'link',
    'property',
    'del',
    'dev',
    oldVeth,
    'altname',
    hostPortAltName(fx.network, oldAttachment),
  ]);
  sh('ip', ['link', 'property', 'del', 'dev', fx.bridge, 'altname', bridgeMarkerAltName(fx.network)]);
  return { fx, network, old, oldVeth, oldAttachment };
}

describe.skipIf(!isRoot)(`host veth tags (${skipReason})`, () => {
  it('tags the host veth with alias and altname; a DEL without the container end finds it by name', async () => {
    const fx = linuxFixture('10.216');
    const network = await platform.ensureNetwork(
      networkSpec(fx, { subnets: [{ cidr: '10.216.0.0/24' }], hostAddresses: ['10.216.0.1/24'] }),
    );
    const ns = fx.namespace();
    const spec = endpointSpec(fx, ns, { addresses: [{ cidr: '10.216.0.5/24', gateway: '10.216.0.1' }] });
    const created = await platform.createEndpoint(network, spec);
    const veth = created.host!.name;
    const attachment = { containerId: spec.containerId, ifname: spec.ifname };
    expect(link(veth).ifalias).toBe(hostPortAlias(fx.network, attachment));
    expect(link(veth).altnames).toEqual([hostPortAltName(fx.network, attachment)]);
    expect(link(fx.bridge).altnames).toEqual([bridgeMarkerAltName(fx.network)]);

    // The runtime's DEL with CNI_NETNS empty: the veth goes, found by its altname.
    await platform.deleteEndpoint({ ...spec, namespace: '', addresses: [] });
    expect(linkExists(veth)).toBe(false);
    // Again: nothing there, and the marker makes the miss final.
    await platform.deleteEndpoint({ ...spec, namespace: '', addresses: [] });
  });

  it('gives altnames to veths tagged by an older version before marking the bridge', async () => {
    const { fx, network, old, oldVeth, oldAttachment } = await networkWithAliasOnlyVeth();
    expect(link(oldVeth).altnames ?? []).toEqual([]);
    expect(link(fx.bridge).altnames ?? []).toEqual([]);
    // Without the marker, a DEL of some other attachment still works (it lists the links).
    await platform.deleteEndpoint({ ...old, containerId: 'never-added', namespace: '', addresses: [] });
    expect(linkExists(oldVeth)).toBe(true);

    // The next ADD migrates the old veth, then marks the bridge.
    const ns = fx.namespace();
    await platform.createEndpoint(network, endpointSpec(fx, ns, { addresses: [{ cidr: '10.216.0.7/24' }] }));
    expect(link(oldVeth).altnames).toEqual([hostPortAltName(fx.network, oldAttachment)]);
    expect(link(fx.bridge).altnames).toEqual([bridgeMarkerAltName(fx.network)]);
    await platform.deleteEndpoint({ ...old, namespace: '', addresses: [] });
    expect(linkExists(oldVeth)).toBe(false);
  });

  it('concurrent first ADDs on an unmarked bridge race to migrate and mark it, and all succeed', async () => {
    const { fx, network, oldVeth, oldAttachment } = await networkWithAliasOnlyVeth();

    const specs = [10, 11, 12, 13].map((host) =>
      endpointSpec(fx, fx.namespace(), {
        containerId: `racer${host}`,
        addresses: [{ cidr: `10.216.0.${host}/24` }],
      }),
    );
    await Promise.all(specs.map((s) => platform.createEndpoint(network, s)));
    expect(link(oldVeth).altnames).toEqual([hostPortAltName(fx.network, oldAttachment)]);
    expect(link(fx.bridge).altnames).toEqual([bridgeMarkerAltName(fx.network)]);
  });

  it('a leftover veth of the same attachment gives its altname up to the new one', async () => {
    const fx = linuxFixture('10.216');
    const network = await platform.ensureNetwork(
      networkSpec(fx, { subnets: [{ cidr: '10.216.0.0/24' }], hostAddresses: ['10.216.0.1/24'] }),
    );
    const first = endpointSpec(fx, fx.namespace(), {
      containerId: 'same',
      addresses: [{ cidr: '10.216.0.8/24' }],
    });
    const leftover = (await platform.createEndpoint(network, first)).host!.name;
    const second = endpointSpec(fx, fx.namespace(), {
      containerId: 'same',
      addresses: [{ cidr: '10.216.0.9/24' }],
    });
    const fresh = (await platform.createEndpoint(network, second)).host!.name;
    const name = hostPortAltName(fx.network, { containerId: 'same', ifname: 'eth0' });
    expect(link(fresh).altnames).toEqual([name]);
    expect(link(leftover).altnames ?? []).toEqual([]);
    trySh('ip', ['link', 'del', leftover]);
  });
});
