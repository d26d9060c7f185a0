/**
 * Bandwidth limits on Windows: HCN's QOS endpoint policy caps only what the endpoint sends
 * (MaximumOutgoingBandwidthInBytes, bytes per second), so the container's egress limit becomes
 * one QOS policy on its endpoint, and an ingress limit is refused naming what HCN lacks. QOS
 * has no burst: the burst of an egress limit is accepted and has no effect. Limits live on the
 * endpoint and go with it, so GC has nothing of its own.
 */
import { PlatformError } from '../platform/errors.ts';
import type { AttachmentTarget, BandwidthSpec, InterfaceState } from '../platform/types.ts';
import type { HcnClient } from './client.ts';
import {
  dropPolicies,
  findAttachmentEndpoint,
  replacePolicies,
  requireAttachmentEndpoint,
} from './attachment-policies.ts';
import { endpointPolicySettings, qosPolicy } from './schema/endpoint-policy.ts';

export async function setBandwidth(
  client: HcnClient,
  target: AttachmentTarget,
  spec: BandwidthSpec,
): Promise<InterfaceState[]> {
  if (spec.ingressRate || spec.ingressBurstBits) {
    throw new PlatformError(
      'unsupported',
      'HCN has no ingress bandwidth policy (QOS limits only outgoing traffic): remove ingressRate and ingressBurst, or limit ingress at the sender',
    );
  }
  const endpoint = await requireAttachmentEndpoint(client, target);
  const policies = spec.egressRate
    ? [qosPolicy({ maximumOutgoingBytesPerSecond: Math.floor(spec.egressRate / 8) })]
    : [];
  await replacePolicies(client, endpoint, 'QOS', policies);
  return [];
}

export async function removeBandwidth(client: HcnClient, target: AttachmentTarget): Promise<void> {
  const endpoint = await findAttachmentEndpoint(client, target);
  if (endpoint) await dropPolicies(client, endpoint, 'QOS');
}

export async function inspectBandwidth(client: HcnClient, target: AttachmentTarget): Promise<BandwidthSpec> {
  const endpoint = await requireAttachmentEndpoint(client, target);
  const [qos] = endpointPolicySettings(endpoint.Policies, 'QOS');
  return qos?.MaximumOutgoingBandwidthInBytes ? { egressRate: qos.MaximumOutgoingBandwidthInBytes * 8 } : {};
}
