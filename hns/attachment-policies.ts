/**
 * Policies of an existing attachment's HCN endpoint, for the chained plugins (portmap,
 * bandwidth): find the endpoint another plugin (nat, sdnbridge) created for (network,
 * container id, ifname), and replace, read or drop the policies of one Type on it with
 * HcnModifyEndpoint. Removal sends back the policies exactly as HNS reported them, because HNS
 * matches a Remove by content. A gone endpoint is "nothing to remove", never an error.
 */
import { PlatformError } from '../platform/errors.ts';
import type { AttachmentTarget } from '../platform/types.ts';
import type { HcnClient } from './client.ts';
import { endpointName } from './endpoint-spec.ts';
import { findNetwork } from './network.ts';
import { asPlatformError } from './platform-errors.ts';
import type { EndpointPolicy, EndpointPolicyType } from './schema/endpoint-policy.ts';
import type { HcnEndpoint } from './schema/endpoint.ts';
import { endpointPolicyRequest } from './schema/modify.ts';

/** The attachment's endpoint, or undefined when its network or the endpoint does not exist. */
export async function findAttachmentEndpoint(
  client: HcnClient,
  target: AttachmentTarget,
): Promise<HcnEndpoint | undefined> {
  const network = await findNetwork(client, target.network);
  if (!network) return undefined;
  const name = endpointName(target.containerId, target.ifname);
  return asPlatformError(`look up HCN endpoint ${name}`, () => client.findEndpointByName(name, network.ID));
}

export async function requireAttachmentEndpoint(
  client: HcnClient,
  target: AttachmentTarget,
): Promise<HcnEndpoint> {
  const endpoint = await findAttachmentEndpoint(client, target);
  if (!endpoint) {
    throw new PlatformError(
      'not-found',
      `HCN endpoint ${endpointName(target.containerId, target.ifname)} does not exist on network "${target.network}" (run this plugin after the one that creates the endpoint, e.g. nat)`,
    );
  }
  return endpoint;
}

export function policiesOfType(endpoint: HcnEndpoint, type: EndpointPolicyType): EndpointPolicy[] {
  return (endpoint.Policies ?? []).filter((p) => p.Type === type);
}

/** Remove every `type` policy from the endpoint (no request when it has none). */
export async function dropPolicies(
  client: HcnClient,
  endpoint: HcnEndpoint,
  type: EndpointPolicyType,
): Promise<void> {
  const current = policiesOfType(endpoint, type);
  if (!current.length) return;
  await asPlatformError(`remove ${type} policies from HCN endpoint ${endpoint.Name ?? endpoint.ID}`, () =>
    client.modifyEndpoint(endpoint.ID, endpointPolicyRequest('Remove', current)),
  );
}

/** Replace the endpoint's `type` policies with `policies` (none: just remove). */
export async function replacePolicies(
  client: HcnClient,
  endpoint: HcnEndpoint,
  type: EndpointPolicyType,
  policies: EndpointPolicy[],
): Promise<void> {
  await dropPolicies(client, endpoint, type);
  if (!policies.length) return;
  await asPlatformError(`add ${type} policies to HCN endpoint ${endpoint.Name ?? endpoint.ID}`, () =>
    client.modifyEndpoint(endpoint.ID, endpointPolicyRequest('Add', policies)),
  );
}
