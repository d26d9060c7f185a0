/**
 * Endpoints on Windows: a container's port on a CNI network is an HCN endpoint named for the
 * attachment (endpoint-spec.ts), created on the network and added to the pod's HCN namespace
 * (CNI_NETNS). create undoes its own partial work; delete and GC succeed on any partial or absent
 * state, including containerd's second DEL with CNI_NETNS empty. Networks are network.ts's job.
 */
import type { AttachmentId, EndpointTeardown } from '../platform/contract.ts';
import { PlatformError } from '../platform/errors.ts';
import type {
  EndpointCreated,
  EndpointRef,
  EndpointSpec,
  EndpointState,
  NetworkState,
} from '../platform/types.ts';
import type { HcnClient } from './client.ts';
import { ENDPOINT_NAME_PREFIX, endpointDocument, endpointName } from './endpoint-spec.ts';
import { sameGuid } from './guid.ts';
import { namespaceTarget, requireNamespace } from './namespace.ts';
import { findNetwork } from './network.ts';
import { asPlatformError, toPlatformError } from './platform-errors.ts';
import { type HcnEndpoint, endpointAddresses, fromHcnMac } from './schema/endpoint.ts';
import { endpointPolicySettings } from './schema/endpoint-policy.ts';

/** HCN sets no MTU per endpoint: container adapters on an HCN vSwitch get Ethernet's 1500. */
const HCN_ENDPOINT_MTU = 1500;

/** Detaches (if attached) and deletes an endpoint; "already gone" at either step is success. */
async function removeEndpoint(client: HcnClient, endpoint: HcnEndpoint): Promise<void> {
  const name = endpoint.Name ?? endpoint.ID;
  if (endpoint.HostComputeNamespace) {
    const ns = endpoint.HostComputeNamespace;
    await asPlatformError(`remove HCN endpoint ${name} from namespace ${ns}`, () =>
      client.detachEndpoint(ns, endpoint.ID),
    );
  }
  await asPlatformError(`delete HCN endpoint ${name}`, () => client.deleteEndpoint(endpoint.ID));
}

export async function createEndpoint(
  client: HcnClient,
  network: NetworkState,
  spec: EndpointSpec,
): Promise<EndpointCreated> {
  const name = endpointName(spec.containerId, spec.ifname);
  let document: ReturnType<typeof endpointDocument>;
  try {
    document = endpointDocument(network.id, spec);
  } catch (e) {
    if (e instanceof PlatformError) throw e;
    throw new PlatformError('invalid', `endpoint ${name}: ${(e as Error).message}`, undefined, { cause: e });
  }
  const target = namespaceTarget(spec.namespace);
  if (target.kind === 'hcn') await requireNamespace(client, target.id);

  // An endpoint left by an earlier ADD of this attachment (a crash, a retry) is replaced.
  const stale = await asPlatformError(`look up HCN endpoint ${name}`, () =>
    client.findEndpointByName(name, network.id),
  );
  if (stale) await removeEndpoint(client, stale);

  const endpoint = await asPlatformError(`create HCN endpoint ${name} on network ${network.name}`, () =>
    client.createEndpoint(document),
  );
  if (target.kind === 'hcn') {
    try {
      await client.attachEndpoint(target.id, endpoint.ID);
    } catch (e) {
      // Undo: the endpoint must not outlive a failed ADD.
      await removeEndpoint(client, endpoint).catch(() => undefined);
      throw toPlatformError(e, `add HCN endpoint ${name} to namespace ${target.id}`);
    }
  }
  // Without a namespace the runtime attaches the endpoint to its container itself (by endpoint ID).
  return {
    container: {
      name: spec.ifname,
      mac: fromHcnMac(endpoint.MacAddress ?? ''),
      mtu: HCN_ENDPOINT_MTU,
      sandbox: target.kind === 'hcn' ? spec.namespace : undefined,
    },
  };
}

async function findAttachment(
  client: HcnClient,
  ref: EndpointRef,
): Promise<{ network: string; endpoint?: HcnEndpoint }> {
  const network = await findNetwork(client, ref.network);
  if (!network) return { network: '' };
  const name = endpointName(ref.containerId, ref.ifname);
  const endpoint = await asPlatformError(`look up HCN endpoint ${name}`, () =>
    client.findEndpointByName(name, network.ID),
  );
  return { network: network.ID, endpoint };
}

export async function inspectEndpoint(
  client: HcnClient,
  ref: EndpointRef,
): Promise<EndpointState | undefined> {
  const { network, endpoint } = await findAttachment(client, ref);
  if (!endpoint) return undefined;
  const attachedTo = endpoint.HostComputeNamespace;
  return {
    container: {
      name: ref.ifname,
      mac: fromHcnMac(endpoint.MacAddress ?? ''),
      mtu: HCN_ENDPOINT_MTU,
      // Reported in the caller's spelling when it is the namespace CNI_NETNS named.
      sandbox:
        attachedTo && ref.namespace && sameGuid(attachedTo, ref.namespace) ? ref.namespace : attachedTo,
    },
    attachedToNetwork: sameGuid(endpoint.HostComputeNetwork ?? '', network),
    addresses: endpointAddresses(endpoint),
    routes: [
      ...(endpoint.Routes ?? []).map((r) => ({
        dst: r.DestinationPrefix ?? '',
        gw: r.NextHop,
        priority: r.Metric,
      })),
      // Host routes are SDNRoute policies on HCN (what EndpointSpec.hostRoutes became).
      ...endpointPolicySettings(endpoint.Policies, 'SDNRoute')
        .filter((r) => r.DestinationPrefix)
        .map((r) =>
          r.NextHop ? { dst: r.DestinationPrefix!, gw: r.NextHop } : { dst: r.DestinationPrefix! },
        ),
    ],
  };
}

export async function deleteEndpoint(client: HcnClient, teardown: EndpointTeardown): Promise<void> {
  // NAT state (port mappings, outbound NAT) lives on the endpoint and goes with it.
  const { endpoint } = await findAttachment(client, teardown);
  if (endpoint) await removeEndpoint(client, endpoint);
}

/** Removes crosscni's endpoints on the network that belong to no valid attachment. */
export async function collectGarbage(
  client: HcnClient,
  networkName: string,
  valid: AttachmentId[],
): Promise<void> {
  const network = await findNetwork(client, networkName);
  if (!network) return;
  const keep = new Set(valid.map((v) => endpointName(v.containerId, v.ifname)));
  const endpoints = await asPlatformError(`list HCN endpoints of network ${networkName}`, () =>
    client.listEndpoints({ networkId: network.ID }),
  );
  for (const endpoint of endpoints) {
    const name = endpoint.Name ?? '';
    if (name.startsWith(ENDPOINT_NAME_PREFIX) && !keep.has(name)) await removeEndpoint(client, endpoint);
  }
}
