/**
 * Endpoints on the real kernel: a veth pair between a bridge and a namespace, configured as
 * the reference bridge plugin does, observed with `ip`, `bridge` and `nft` as a user would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isPlatformError } from '../../platform/errors.ts';
import { type IpAddrInfo, ipJson, isRoot, linkExists, sh, skipReason } from '../support/kernel.ts';
import {
  cleanupLinuxFixtures,
  endpointSpec,
  globalAddresses,
  kernelHasVlanFiltering,
  type LinuxFixture,
  linuxFixture,
  networkSpec,
  nftTableText,
  noVlanFilteringReason,
  platform,
} from './linux-fixture.ts';

afterEach(cleanupLinuxFixtures);

function nsSysctl(ns: string, path: string): string {
  return sh('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${path}`]).trim();
}

function portsOf(fx: LinuxFixture): string[] {
  return ipJson<IpAddrInfo[]>(['link', 'show', 'master', fx.bridge]).map((l) => l.ifname);
}

function ipRoutes(ns: string, family: '-4' | '-6' = '-4'): Array<Record<string, unknown>> {
  return ipJson<Array<Record<string, unknown>>>([family, 'route', 'show', 'table', 'all'], ns);
}

describe.skipIf(!isRoot)('linux endpoints on the real kernel', () => {
  it('creates an IPv4 endpoint: veth on the bridge, address, default route, state reported', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(networkSpec(fx));
    const created = await platform.createEndpoint(network, endpointSpec(fx, ns));

    expect(created.host?.name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(created.container).toMatchObject({ name: 'eth0', sandbox: ns.path, mtu: 1500 });
    expect(created.container.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(portsOf(fx)).toEqual([created.host!.name]);
    expect(globalAddresses('eth0', ns.name)).toEqual(['10.211.0.5/24']);
    const [inner] = ipJson<IpAddrInfo[]>(['link', 'show', 'eth0'], ns.name);
    expect(inner?.flags).toContain('UP');
    expect(inner?.address).toBe(created.container.mac);
    expect(ipRoutes(ns.name)).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '10.211.0.1' }),
    );
    sh('ip', ['netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '2', '10.211.0.1']);

    const state = await platform.inspectEndpoint(endpointSpec(fx, ns));
    expect(state).toMatchObject({
      attachedToNetwork: true,
      host: { name: created.host!.name, mac: created.host!.mac },
      container: { name: 'eth0', mac: created.container.mac, sandbox: ns.path },
      hairpin: false,
      isolated: false,
    });
    expect(state?.addresses).toContain('10.211.0.5/24');
    expect(state?.routes).toContainEqual(expect.objectContaining({ dst: '0.0.0.0/0', gw: '10.211.0.1' }));
  });

  it('creates an IPv6 endpoint with DAD off: no tentative address, accept_dad=0, default route', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(
      networkSpec(fx, {
        subnets: [{ cidr: 'fd00:211::/64' }],
        hostAddresses: ['fd00:211::1/64'],
        forwardFamilies: [6],
      }),
    );
    const spec = endpointSpec(fx, ns, {
      addresses: [{ cidr: 'fd00:211::5/64', gateway: 'fd00:211::1' }],
      routes: [{ dst: '::/0' }],
      duplicateAddressDetection: false,
    });
    await platform.createEndpoint(network, spec);
    const [inner] = ipJson<Array<{ addr_info: Array<{ local: string; tentative?: boolean }> }>>(
      ['-6', 'addr', 'show', 'dev', 'eth0'],
      ns.name,
    );
    const address = inner?.addr_info.find((a) => a.local === 'fd00:211::5');
    expect(address).toBeDefined();
    expect(address?.tentative).toBeUndefined();
    expect(nsSysctl(ns.name, 'net/ipv6/conf/eth0/accept_dad')).toBe('0');
    expect(nsSysctl(ns.name, 'net/ipv6/conf/eth0/accept_ra')).toBe('0');
    expect(nsSysctl(ns.name, 'net/ipv6/conf/eth0/disable_ipv6')).toBe('0');
    expect(sh('cat', ['/proc/sys/net/ipv6/conf/all/forwarding']).trim()).toBe('1');
    expect(ipRoutes(ns.name, '-6')).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: 'fd00:211::1' }),
    );
    const state = await platform.inspectEndpoint(spec);
    expect(state?.addresses).toContain('fd00:211::5/64');
    expect(state?.routes).toContainEqual(expect.objectContaining({ dst: '::/0', gw: 'fd00:211::1' }));
  });

  it('waits for IPv6 DAD to finish when it is on', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(
      networkSpec(fx, { hostAddresses: ['fd00:212::1/64'], forwardFamilies: [6] }),
    );
    await platform.createEndpoint(
      network,
      endpointSpec(fx, ns, {
        addresses: [{ cidr: 'fd00:212::5/64' }],
        routes: [],
        duplicateAddressDetection: true,
      }),
    );
    expect(nsSysctl(ns.name, 'net/ipv6/conf/eth0/accept_dad')).toBe('1');
    expect(sh('ip', ['-n', ns.name, '-6', 'addr', 'show', 'dev', 'eth0'])).not.toMatch(/tentative/);
  });

  it('creates a dual-stack endpoint and reports both families', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(
      networkSpec(fx, { hostAddresses: ['10.211.0.1/24', 'fd00:211::1/64'], forwardFamilies: [4, 6] }),
    );
    expect(network.hostAddresses).toEqual(expect.arrayContaining(['10.211.0.1/24', 'fd00:211::1/64']));
    const spec = endpointSpec(fx, ns, {
      addresses: [
        { cidr: '10.211.0.5/24', gateway: '10.211.0.1' },
        { cidr: 'fd00:211::5/64', gateway: 'fd00:211::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
    });
    await platform.createEndpoint(network, spec);
    expect(globalAddresses('eth0', ns.name)).toEqual(
      expect.arrayContaining(['10.211.0.5/24', 'fd00:211::5/64']),
    );
    const state = await platform.inspectEndpoint(spec);
    expect(state?.addresses).toEqual(expect.arrayContaining(['10.211.0.5/24', 'fd00:211::5/64']));
    expect(state?.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: '0.0.0.0/0', gw: '10.211.0.1' }),
        expect.objectContaining({ dst: '::/0', gw: 'fd00:211::1' }),
      ]),
    );
    sh('ip', ['netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '2', '10.211.0.1']);
  });

  it('adds routes with gateway, on-link, metric, mtu, advmss, table and scope', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(networkSpec(fx));
    const spec = endpointSpec(fx, ns, {
      addresses: [{ cidr: '10.211.0.5/24' }],
      routes: [
        { dst: '10.50.0.0/16', gw: '10.211.0.1', priority: 77, mtu: 1300, advmss: 1200 },
        { dst: '10.60.0.0/16' },
        { dst: '10.70.0.0/16', gw: '10.211.0.1', table: 100 },
        { dst: '10.80.0.1/32', scope: 253 },
        // A gateway outside the interface's subnets is declared on-link.
        { dst: '10.90.0.0/16', gw: '192.168.250.1' },
      ],
    });
    await platform.createEndpoint(network, spec);
    const routes = ipRoutes(ns.name);
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: '10.50.0.0/16', gateway: '10.211.0.1', metric: 77, dev: 'eth0' }),
    );
    expect(sh('ip', ['-n', ns.name, 'route', 'show', '10.50.0.0/16'])).toMatch(/mtu 1300 advmss 1200/);
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: '10.60.0.0/16', dev: 'eth0', scope: 'link' }),
    );
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: '10.70.0.0/16', gateway: '10.211.0.1', table: '100' }),
    );
    expect(routes).toContainEqual(expect.objectContaining({ dst: '10.80.0.1', scope: 'link' }));
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: '10.90.0.0/16', gateway: '192.168.250.1', flags: ['onlink'] }),
    );
    const state = await platform.inspectEndpoint(spec);
    expect(state?.routes).toEqual(
      expect.arrayContaining([
        { dst: '10.50.0.0/16', gw: '10.211.0.1', priority: 77, mtu: 1300, advmss: 1200 },
        { dst: '10.60.0.0/16', scope: 253 },
        { dst: '10.70.0.0/16', gw: '10.211.0.1', table: 100 },
      ]),
    );
  });

  it('applies MTU to both ends, a requested MAC, hairpin and port isolation', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(networkSpec(fx, { mtu: 1400 }));
    const spec = endpointSpec(fx, ns, { mtu: 1400, mac: '0a:58:0a:d3:00:99', hairpin: true, isolated: true });
    const created = await platform.createEndpoint(network, spec);
    expect(created.container).toMatchObject({ mac: '0a:58:0a:d3:00:99', mtu: 1400 });
    expect(created.host?.mtu).toBe(1400);
    const [inner] = ipJson<IpAddrInfo[]>(['link', 'show', 'eth0'], ns.name);
    expect(inner).toMatchObject({ mtu: 1400, address: '0a:58:0a:d3:00:99' });
    const details = sh('ip', ['-d', 'link', 'show', created.host!.name]);
    expect(details).toMatch(/mtu 1400/);
    expect(details).toMatch(/hairpin on/);
    expect(details).toMatch(/isolated on/);
    expect(await platform.inspectEndpoint(spec)).toMatchObject({ hairpin: true, isolated: true });
  });

  it.skipIf(!kernelHasVlanFiltering)(
    'puts the port in an access VLAN with trunk ranges, removing VLAN 1 unless preserved',
    async () => {
      const fx = linuxFixture();
      const network = await platform.ensureNetwork(networkSpec(fx, { vlanFiltering: true }));
      expect(sh('ip', ['-d', 'link', 'show', fx.bridge])).toMatch(/vlan_filtering 1/);
      const ns = fx.namespace();
      const access = await platform.createEndpoint(
        network,
        endpointSpec(fx, ns, {
          vlan: {
            id: 100,
            trunk: [
              { minId: 200, maxId: 210 },
              { minId: 300, maxId: 300 },
            ],
          },
        }),
      );
      const vlans = sh('bridge', ['vlan', 'show', 'dev', access.host!.name]);
      expect(vlans).toMatch(/\b100 PVID Egress Untagged/);
      expect(vlans).toMatch(/\b200\b/);
      expect(vlans).toMatch(/\b210\b/);
      expect(vlans).toMatch(/\b300\b/);
      expect(vlans).not.toMatch(/\b1 PVID/);

      const ns2 = fx.namespace();
      const kept = await platform.createEndpoint(
        network,
        endpointSpec(fx, ns2, {
          addresses: [{ cidr: '10.211.0.6/24' }],
          vlan: { id: 100, preserveDefaultVlan: true },
        }),
      );
      const keptVlans = sh('bridge', ['vlan', 'show', 'dev', kept.host!.name]);
      expect(keptVlans).toMatch(/\b1\b/);
      expect(keptVlans).toMatch(/\b100 PVID Egress Untagged/);
    },
  );

  it('leaves the container interface down and unaddressed with containerInterfaceDown', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(networkSpec(fx));
    const spec = endpointSpec(fx, ns, { containerInterfaceDown: true });
    const created = await platform.createEndpoint(network, spec);
    const [inner] = ipJson<IpAddrInfo[]>(['addr', 'show', 'eth0'], ns.name);
    expect(inner?.flags).not.toContain('UP');
    expect(inner?.addr_info).toEqual([]);
    expect(ipRoutes(ns.name)).toEqual([]);
    expect(portsOf(fx)).toEqual([created.host!.name]);
    expect(await platform.inspectEndpoint(spec)).toMatchObject({
      attachedToNetwork: true,
      addresses: [],
      routes: [],
    });
  });

  it('inspectEndpoint reflects tampering: a removed address, a detached or moved veth', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(networkSpec(fx));
    const spec = endpointSpec(fx, ns);
    const created = await platform.createEndpoint(network, spec);

    sh('ip', ['-n', ns.name, 'addr', 'del', '10.211.0.5/24', 'dev', 'eth0']);
    const noAddress = await platform.inspectEndpoint(spec);
    expect(noAddress?.addresses).not.toContain('10.211.0.5/24');
    expect(noAddress?.attachedToNetwork).toBe(true);

    sh('ip', ['link', 'set', created.host!.name, 'nomaster']);
    const detached = await platform.inspectEndpoint(spec);
    expect(detached?.attachedToNetwork).toBe(false);
    expect(detached?.host?.name).toBe(created.host!.name);

    const other = fx.scratch.link(`${fx.bridge.slice(0, 12)}x`);
    sh('ip', ['link', 'add', other, 'type', 'bridge']);
    sh('ip', ['link', 'set', created.host!.name, 'master', other]);
    expect((await platform.inspectEndpoint(spec))?.attachedToNetwork).toBe(false);
  });

  it('inspectEndpoint is undefined for a missing interface, a missing namespace or none', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    expect(await platform.inspectEndpoint(endpointSpec(fx, ns))).toBeUndefined();
    expect(
      await platform.inspectEndpoint(endpointSpec(fx, ns, { namespace: '/run/netns/ct-no-such' })),
    ).toBeUndefined();
    expect(await platform.inspectEndpoint(endpointSpec(fx, ns, { namespace: '' }))).toBeUndefined();
  });

  it('deleteEndpoint removes the pair and succeeds twice, with no namespace and with the namespace gone', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(networkSpec(fx));
    const spec = endpointSpec(fx, ns, { outboundNat: { exceptions: ['10.211.0.0/24'] } });
    const created = await platform.createEndpoint(network, spec);
    const teardown = { ...spec, addresses: ['10.211.0.5/24'], outboundNat: { exceptions: [] } };
    await platform.deleteEndpoint(teardown);
    expect(linkExists('eth0', ns.name)).toBe(false);
    expect(linkExists(created.host!.name)).toBe(false);
    expect(nftTableText('inet', fx.network)).not.toMatch(/10\.211\.0\.5/);
    await platform.deleteEndpoint(teardown);
    await platform.deleteEndpoint({ ...teardown, namespace: '' });

    const ns2 = fx.namespace();
    const spec2 = endpointSpec(fx, ns2, {
      addresses: [{ cidr: '10.211.0.6/24' }],
      outboundNat: { exceptions: [] },
    });
    const created2 = await platform.createEndpoint(network, spec2);
    expect(nftTableText('inet', fx.network)).toMatch(/10\.211\.0\.6/);
    sh('ip', ['netns', 'del', ns2.name]);
    await platform.deleteEndpoint({ ...spec2, addresses: ['10.211.0.6/24'] });
    expect(linkExists(created2.host!.name)).toBe(false);
    expect(nftTableText('inet', fx.network)).not.toMatch(/10\.211\.0\.6/);

    // No namespace at all (containerd's second DEL): NAT entries still go.
    const ns3 = fx.namespace();
    const spec3 = endpointSpec(fx, ns3, {
      addresses: [{ cidr: '10.211.0.7/24' }],
      outboundNat: { exceptions: [] },
    });
    await platform.createEndpoint(network, spec3);
    await platform.deleteEndpoint({ ...spec3, namespace: '', addresses: ['10.211.0.7/24'] });
    expect(nftTableText('inet', fx.network)).not.toMatch(/10\.211\.0\.7/);
  });

  it('rolls back when the ifname is taken in the namespace: conflict, no veth left on the host', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    sh('ip', ['-n', ns.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    const network = await platform.ensureNetwork(networkSpec(fx));
    const failure = await platform
      .createEndpoint(network, endpointSpec(fx, ns, { outboundNat: { exceptions: [] } }))
      .catch((e: unknown) => e);
    expect(isPlatformError(failure, 'conflict')).toBe(true);
    expect((failure as Error).message).toMatch(/container already has an interface named eth0/);
    expect(portsOf(fx)).toEqual([]);
    expect(nftTableText('inet', fx.network)).not.toMatch(/10\.211\.0\.5/);
  });

  it('rolls back a failure after the veth exists: nothing left in the namespace or on the host', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = await platform.ensureNetwork(networkSpec(fx));
    const failure = await platform
      .createEndpoint(network, endpointSpec(fx, ns, { routes: [{ dst: '10.50.0.0/16', gw: 'fd00::1' }] }))
      .catch((e: unknown) => e);
    expect(isPlatformError(failure, 'invalid')).toBe(true);
    expect(linkExists('eth0', ns.name)).toBe(false);
    // The host end was created on the bridge (IFLA_MASTER): no port left means no veth left.
    expect(portsOf(fx)).toEqual([]);
  });

  it('refuses a missing bridge, a bad ifname and a path that is not a namespace', async () => {
    const fx = linuxFixture();
    const ns = fx.namespace();
    const network = { name: fx.network, deviceName: fx.bridge, hostAddresses: [], id: '0' };
    const noBridge = await platform.createEndpoint(network, endpointSpec(fx, ns)).catch((e: unknown) => e);
    expect(isPlatformError(noBridge, 'not-found')).toBe(true);
    expect((noBridge as Error).message).toContain(fx.bridge);
    const badName = await platform
      .createEndpoint(network, endpointSpec(fx, ns, { ifname: 'a/b' }))
      .catch((e: unknown) => e);
    expect(isPlatformError(badName, 'invalid')).toBe(true);
    for (const path of ['/tmp', '/etc/hostname', '/run/netns/ct-no-such', '']) {
      const e = await platform
        .createEndpoint(network, endpointSpec(fx, ns, { namespace: path }))
        .catch((x: unknown) => x);
      expect(isPlatformError(e, 'namespace-missing')).toBe(true);
    }
  });
});

describe.skipIf(isRoot)('linux endpoints on the real kernel (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});

describe.skipIf(!isRoot || kernelHasVlanFiltering)('linux endpoint VLANs (skipped)', () => {
  it.skip(noVlanFilteringReason, () => {});
});
