/**
 * Fixtures for the Linux platform tests: a platform instance, a uniquely named bridge, network
 * and namespaces per test, registered with KernelScratch so `cleanupLinuxFixtures` (run in
 * afterEach) removes them, their nft tables included, whatever the test did.
 */
import { spawnSync } from 'node:child_process';
import { createLinuxPlatform } from '../../linux/index.ts';
import { networkTable } from '../../linux/netfilter-names.ts';
import type { EndpointSpec, NetworkSpec } from '../../platform/types.ts';
import { KernelScratch, linkAddresses, type TestNamespace, uniqueName } from '../support/kernel.ts';

export const platform = createLinuxPlatform();

export interface LinuxFixture {
  scratch: KernelScratch;
  /** First two octets of the IPv4 subnet: test files that run at once use different ones, so
   * their bridges' gateway routes never compete on the host. */
  prefix: string;
  bridge: string;
  network: string;
  namespace(): TestNamespace;
}

const live: KernelScratch[] = [];

export function linuxFixture(prefix = '10.211'): LinuxFixture {
  const scratch = new KernelScratch();
  live.push(scratch);
  const network = `net ${uniqueName('ct')} "quoted"; {braces}`;
  const table = networkTable(network);
  scratch.nftTable('inet', table);
  scratch.nftTable('bridge', table);
  return {
    scratch,
    prefix,
    bridge: scratch.link(uniqueName('cbr')),
    network,
    namespace: () => scratch.namespace('ct'),
  };
}

export function cleanupLinuxFixtures(): void {
  for (const scratch of live.splice(0)) scratch.cleanup();
}

export function networkSpec(fx: LinuxFixture, extra: Partial<NetworkSpec> = {}): NetworkSpec {
  return {
    name: fx.network,
    mode: 'nat',
    deviceName: fx.bridge,
    subnets: [{ cidr: `${fx.prefix}.0.0/24` }],
    hostAddresses: [`${fx.prefix}.0.1/24`],
    forwardFamilies: [4],
    ...extra,
  };
}

export function endpointSpec(
  fx: LinuxFixture,
  ns: TestNamespace,
  extra: Partial<EndpointSpec> = {},
): EndpointSpec {
  return {
    network: fx.network,
    deviceName: fx.bridge,
    containerId: `ctr-${ns.name}`,
    ifname: 'eth0',
    namespace: ns.path,
    addresses: [{ cidr: `${fx.prefix}.0.5/24`, gateway: `${fx.prefix}.0.1` }],
    routes: [{ dst: '0.0.0.0/0' }],
    ...extra,
  };
}

/** Whether this kernel has bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); some VM kernels lack it. */
export const kernelHasVlanFiltering = ((): boolean => {
  if (process.getuid?.() !== 0) return false;
  const probe = uniqueName('ctvf');
  const made = spawnSync('ip', ['link', 'add', probe, 'type', 'bridge', 'vlan_filtering', '1']).status === 0;
  if (made) spawnSync('ip', ['link', 'del', probe]);
  return made;
})();
export const noVlanFilteringReason =
  'skipped: this kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)';

/** `nft list table <family> <table>` text, or '' when the table does not exist. */
export function nftTableText(family: string, network: string): string {
  const r = spawnSync('nft', ['list', 'table', family, networkTable(network)], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/** Addresses of a link without the kernel's own IPv6 link-local one. */
export function globalAddresses(ifname: string, netns?: string): string[] {
  return linkAddresses(ifname, netns).filter((a) => !a.startsWith('fe80:'));
}
