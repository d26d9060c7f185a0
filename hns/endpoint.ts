/**
 * Endpoints on Windows: a container's port on a CNI network is an HCN endpoint named for the
 * attachment (endpoint-spec.ts), created on the network and added to the pod's HCN namespace
 * (CNI_NETNS a GUID) or hot-attached to the container by its ID (CNI_NETNS anything else;
 * namespace.ts). create undoes its own partial work; delete and GC succeed on any partial or
 * absent state, including containerd's second DEL with CNI_NETNS empty and a container that is
 * already gone. Networks are network.ts's job.
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
import { HcnError } from './errors.ts';
import { IPV6_DUAL_STACK, requireHnsVersion } from './hns-version.ts';
import { HRESULT } from './hresult.ts';
import { type NamespaceTarget, namespaceTarget, requireNamespace } from './namespace.ts';
import { findNetwork } from './network.ts';
import { asPlatformError, toPlatformError } from './platform-errors.ts';
import { type HcnEndpoint, endpointAddresses, fromHcnMac } from './schema/endpoint.ts';
import { endpointPolicySettings } from './schema/endpoint-policy.ts';

/** HCN sets no MTU per endpoint: container adapters on an HCN vSwitch get Ethernet's 1500. */
const HCN_ENDPOINT_MTU = 1500;

/**
 * Which containers to detach an endpoint from before deleting it: the one CNI_CONTAINERID names,
 * every container HNS lists (when the caller cannot know: GC, a stale endpoint, an empty
 * CNI_NETNS), or none (a namespace attachment, or an endpoint just created).
 */
type ContainerDetach = { container: string } | 'listed' | 'none';

function containerDetachFor(target: NamespaceTarget): ContainerDetach {
  if (target.kind === 'container') return { container: target.id };
  return target.kind === 'none' ? 'listed' : 'none';
}

/** Detaches (if attached) and deletes an endpoint; "already gone" at every step is success. */
async function removeEndpoint(
  client: HcnClient,
  endpoint: HcnEndpoint,
  containers: ContainerDetach,
): Promise<void> {
  const name = endpoint.Name ?? endpoint.ID;
  if (endpoint.HostComputeNamespace) {
    const ns = endpoint.HostComputeNamespace;
    await asPlatformError(`remove HCN endpoint ${name} from namespace ${ns}`, () =>
      client.detachEndpoint(ns, endpoint.ID),
    );
  }
  // Without vmcompute.dll (the PowerShell transport) crosscni never attached it to a container.
  if (typeof containers === 'object' && client.transport.hcs) {
    await asPlatformError(`detach HCN endpoint ${name} from container ${containers.container}`, () =>
      client.detachEndpointFromContainer(containers.container, endpoint.ID),
    );
  } else if (containers === 'listed' && client.transport.hcs) {
    const attached = await asPlatformError(`read the containers of HCN endpoint ${name}`, () =>
      client.endpointContainers(endpoint.ID),
    );
    for (const container of attached ?? []) {
      await asPlatformError(`detach HCN endpoint ${name} from container ${container}`, () =>
        client.detachEndpointFromContainer(container, endpoint.ID),
      );
    }
  }
  await asPlatformError(`delete HCN endpoint ${name}`, () => client.deleteEndpoint(endpoint.ID));
}

/** Attaches a new endpoint where CNI_NETNS says; the endpoint is deleted again if that fails. */
async function attachNewEndpoint(
  client: HcnClient,
  endpoint: HcnEndpoint,
  target: NamespaceTarget,
  name: string,
): Promise<void> {
  if (target.kind === 'none') return;
  try {
    if (target.kind === 'hcn') await client.attachEndpoint(target.id, endpoint.ID);
    else await client.attachEndpointToContainer(target.id, endpoint.ID);
  } catch (e) {
    // Undo: the endpoint must not outlive a failed ADD.
    await removeEndpoint(client, endpoint, containerDetachFor(target)).catch(() => undefined);
    const where = target.kind === 'hcn' ? `namespace ${target.id}` : `container ${target.id}`;
    const failure = toPlatformError(e, `add HCN endpoint ${name} to ${where}`);
    // No such compute system: the container CNI_CONTAINERID names is not running (CNI code 3).
    if (e instanceof HcnError && e.hresult === HRESULT.HCS_E_SYSTEM_NOT_FOUND) {
      throw new PlatformError(
        'namespace-missing',
        `${failure.message} (is the container running?)`,
        failure.detail,
        {
          cause: e,
        },
      );
    }
    throw failure;
  }
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
  const target = namespaceTarget(spec.namespace, spec.containerId);
  if (target.kind === 'container' && target.sharedWith !== undefined) {
    throw new PlatformError(
      'unsupported',
      `CNI_NETNS "${spec.namespace}": joining container ${target.sharedWith}'s endpoint is not supported (give the pod's HCN namespace GUID, or "none" to attach a new endpoint to container ${spec.containerId})`,
    );
  }
  if (target.kind === 'hcn') await requireNamespace(client, target.id);
  if (spec.addresses.some((a) => a.cidr.includes(':'))) {
    await requireHnsVersion(client, IPV6_DUAL_STACK, `endpoint ${name}: an IPv6 address`);
  }

  // An endpoint left by an earlier ADD of this attachment (a crash, a retry) is replaced.
  const stale = await asPlatformError(`look up HCN endpoint ${name}`, () =>
    client.findEndpointByName(name, network.id),
  );
  if (stale) await removeEndpoint(client, stale, 'listed');

  const doing = `create HCN endpoint ${name} on network ${network.name}`;
  let endpoint: HcnEndpoint;
  try {
    endpoint = await client.createEndpoint(document);
  } catch (e) {
    // HCN may have made the endpoint and failed after (reading it back): it must not outlive the ADD.
    const made = await client.findEndpointByName(name, network.id).catch(() => undefined);
    if (made) await removeEndpoint(client, made, 'none').catch(() => undefined);
    throw toPlatformError(e, doing);
  }
  await attachNewEndpoint(client, endpoint, target, name);
  return {
    container: {
      name: spec.ifname,
      mac: fromHcnMac(endpoint.MacAddress ?? ''),
      mtu: HCN_ENDPOINT_MTU,
      sandbox: target.kind === 'none' ? undefined : spec.namespace,
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
  const target = namespaceTarget(ref.namespace, ref.containerId);
  if (target.kind === 'container') {
    // The interface exists in the container only while HNS lists the container as attached.
    const containers = await asPlatformError(`read the containers of HCN endpoint ${endpoint.Name}`, () =>
      client.endpointContainers(endpoint.ID),
    );
    if (!containers?.some((c) => c.toLowerCase() === target.id.toLowerCase())) return undefined;
  }
  const attachedTo = target.kind === 'container' ? ref.namespace : endpoint.HostComputeNamespace;
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
  const target = namespaceTarget(teardown.namespace, teardown.containerId);
  if (endpoint) await removeEndpoint(client, endpoint, containerDetachFor(target));
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
    if (name.startsWith(ENDPOINT_NAME_PREFIX) && !keep.has(name))
      await removeEndpoint(client, endpoint, 'listed');
  }
}
