/**
 * The modify requests crosscni sends (hcn.md): attach and detach an endpoint to a namespace
 * (HcnModifyNamespace) and add, remove or update policies of an endpoint or a network
 * (HcnModifyEndpoint / HcnModifyNetwork). Each is {ResourceType, RequestType, Settings}; these
 * documents carry no SchemaVersion, as hcsshim's Modify*SettingRequest types do not.
 */
import { normalizeGuid } from '../guid.ts';
import type { EndpointPolicy } from './endpoint-policy.ts';
import type { NetworkPolicy } from './network-policy.ts';

export type RequestType = 'Add' | 'Remove' | 'Update' | 'Refresh';

export interface ModifyRequest<R extends string, S> {
  ResourceType: R;
  RequestType: RequestType;
  Settings: S;
}

export type NamespaceEndpointRequest = ModifyRequest<'Endpoint', { EndpointId: string }>;
export type EndpointPolicyRequest = ModifyRequest<'Policy', { Policies: EndpointPolicy[] }>;
export type NetworkPolicyRequest = ModifyRequest<'Policy', { Policies: NetworkPolicy[] }>;

function endpointId(id: string): string {
  const norm = normalizeGuid(id);
  if (!norm) throw new TypeError(`not an endpoint GUID: ${JSON.stringify(id)}`);
  return norm;
}

export function namespaceAddEndpoint(id: string): NamespaceEndpointRequest {
  return { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: endpointId(id) } };
}

export function namespaceRemoveEndpoint(id: string): NamespaceEndpointRequest {
  return { ResourceType: 'Endpoint', RequestType: 'Remove', Settings: { EndpointId: endpointId(id) } };
}

export function endpointPolicyRequest(
  requestType: 'Add' | 'Remove' | 'Update',
  policies: EndpointPolicy[],
): EndpointPolicyRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: [...policies] } };
}

export function networkPolicyRequest(
  requestType: 'Add' | 'Remove',
  policies: NetworkPolicy[],
): NetworkPolicyRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: [...policies] } };
}
