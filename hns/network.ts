/**
 * Networks on Windows. A CNI network is the HCN network of the same name: type NAT for mode
 * 'nat' (HNS holds the gateway on the host's vEthernet adapter and NATs outbound traffic), type
 * L2Bridge bound to the uplink adapter for mode 'l2bridge'. ensure finds or creates it and
 * refuses one of the same name whose type or subnets differ; delete succeeds when it is gone.
 * Endpoints are endpoint.ts's business.
 */
import { containsIp, formatCidr, formatIp, parseCidr } from '../platform/cidr.ts';
import { PlatformError } from '../platform/errors.ts';
import type { NetworkSpec, NetworkState } from '../platform/types.ts';
import type { HcnClient } from './client.ts';
import { isHcnError } from './errors.ts';
import { asPlatformError } from './platform-errors.ts';
import { netAdapterNamePolicy } from './schema/network-policy.ts';
import {
  type HcnNetwork,
  type HostComputeNetwork,
  type NetworkType,
  buildNetwork,
  networkSubnets,
} from './schema/network.ts';

const TYPE_OF_MODE: Record<NetworkSpec['mode'], NetworkType> = { nat: 'NAT', l2bridge: 'L2Bridge' };

function canonicalCidr(cidr: string): string {
  const prefix = parseCidr(cidr);
  return prefix ? formatCidr(prefix) : cidr;
}

/**
 * The gateway of a subnet that names none: the host address the spec puts in it. HNS gives the
 * host's vNIC the next hop of a subnet's default route, so that is where a gateway-mode host
 * address (the bridge plugin's isGateway) goes on Windows.
 */
function hostGatewayIn(cidr: string, hostAddresses: string[]): string | undefined {
  const subnet = parseCidr(cidr);
  for (const text of hostAddresses) {
    const host = parseCidr(text);
    if (subnet && host && containsIp(subnet, host.address)) return formatIp(host.address);
  }
  return undefined;
}

/** The HCN network document for a spec. */
export function networkDocument(spec: NetworkSpec): HostComputeNetwork {
  const type = TYPE_OF_MODE[spec.mode];
  if (type === 'L2Bridge' && !spec.uplink) {
    throw new PlatformError(
      'invalid',
      `network ${spec.name}: mode l2bridge needs the uplink adapter's name (master)`,
    );
  }
  return buildNetwork({
    name: spec.name,
    type,
    subnets: spec.subnets.map((s) => ({
      prefix: s.cidr,
      gateway: s.gateway ?? hostGatewayIn(s.cidr, spec.hostAddresses),
    })),
    policies: spec.uplink ? [netAdapterNamePolicy(spec.uplink)] : [],
    dns: spec.dns,
  });
}

/** Addresses the host holds on the network: each subnet's gateway with the subnet's prefix length. */
function hostAddresses(network: HcnNetwork): string[] {
  const addresses: string[] = [];
  for (const subnet of networkSubnets(network)) {
    const prefix = subnet.IpAddressPrefix ? parseCidr(subnet.IpAddressPrefix) : undefined;
    const gateway = subnet.Routes?.find(
      (r) => r.DestinationPrefix === '0.0.0.0/0' || r.DestinationPrefix === '::/0',
    );
    if (prefix && gateway?.NextHop) addresses.push(`${gateway.NextHop}/${prefix.prefixLength}`);
  }
  return addresses;
}

export function networkState(network: HcnNetwork, deviceName: string): NetworkState {
  return { name: network.Name ?? '', deviceName, hostAddresses: hostAddresses(network), id: network.ID };
}

/** Why an existing network cannot serve the spec, or undefined when it can. */
function mismatch(network: HcnNetwork, spec: NetworkSpec): string | undefined {
  const wanted = TYPE_OF_MODE[spec.mode];
  if (network.Type !== wanted) return `it has type ${String(network.Type)}, the config asks for ${wanted}`;
  const present = new Set(networkSubnets(network).map((s) => canonicalCidr(s.IpAddressPrefix ?? '')));
  const missing = spec.subnets.map((s) => canonicalCidr(s.cidr)).filter((c) => !present.has(c));
  if (missing.length > 0) return `it lacks subnet ${missing.join(', ')}`;
  return undefined;
}

export async function findNetwork(client: HcnClient, name: string): Promise<HcnNetwork | undefined> {
  return asPlatformError(`look up HCN network ${name}`, () => client.findNetworkByName(name));
}

export async function ensureNetwork(client: HcnClient, spec: NetworkSpec): Promise<NetworkState> {
  let network = await findNetwork(client, spec.name);
  if (!network) {
    const document = networkDocument(spec);
    network = await asPlatformError(`create HCN network ${spec.name}`, async () => {
      try {
        return await client.createNetwork(document);
      } catch (e) {
        // Another plugin run created it first: use theirs (checked below like any existing one).
        const winner = isHcnError(e, 'alreadyExists') ? await client.findNetworkByName(spec.name) : undefined;
        if (winner) return winner;
        throw e;
      }
    });
  }
  const problem = mismatch(network, spec);
  if (problem) {
    throw new PlatformError(
      'conflict',
      `HCN network ${spec.name} (${network.ID}) exists but ${problem} (delete it, or give this CNI network another name)`,
    );
  }
  return networkState(network, spec.deviceName);
}

export async function inspectNetwork(
  client: HcnClient,
  name: string,
  deviceName: string,
): Promise<NetworkState | undefined> {
  const network = await findNetwork(client, name);
  return network ? networkState(network, deviceName) : undefined;
}

export async function deleteNetwork(client: HcnClient, name: string): Promise<void> {
  const network = await findNetwork(client, name);
  if (!network) return;
  await asPlatformError(`delete HCN network ${name} (${network.ID})`, () => client.deleteNetwork(network.ID));
}
