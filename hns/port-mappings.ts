/**
 * Host port forwarding on Windows: the attachment's forwardings (platform/port-forwarding.ts)
 * become PortMapping policies on its HCN endpoint — Protocol 6 or 17, InternalPort,
 * ExternalPort, VIP from a specific hostIP, the IPv6 flag for IPv6 — added with
 * HcnModifyEndpoint. HNS does the NAT, hairpin and localhost itself, so `snat` and the mark
 * options have nothing to act on; extra conditions and SCTP have no HCN equivalent and are
 * refused. Forwardings live on the endpoint and go with it, so GC has nothing of its own.
 */
import { PlatformError } from '../platform/errors.ts';
import { familyOf, firstAddressByFamily, planForwardings } from '../platform/port-forwarding.ts';
import type {
  AttachmentTarget,
  ForwardedPort,
  PortMappingOptions,
  PortMappingSpec,
  TransportProtocol,
} from '../platform/types.ts';
import type { HcnClient } from './client.ts';
import {
  dropPolicies,
  findAttachmentEndpoint,
  replacePolicies,
  requireAttachmentEndpoint,
} from './attachment-policies.ts';
import { endpointName } from './endpoint-spec.ts';
import { NAT_FLAGS, endpointPolicySettings, portMappingPolicy } from './schema/endpoint-policy.ts';
import { endpointAddresses } from './schema/endpoint.ts';

const PROTOCOL_NAME: Record<number, TransportProtocol> = { 6: 'tcp', 17: 'udp' };

export async function addPortMappings(
  client: HcnClient,
  target: AttachmentTarget,
  mappings: PortMappingSpec[],
  options: PortMappingOptions,
): Promise<void> {
  const name = endpointName(target.containerId, target.ifname);
  if (options.conditionsV4?.length || options.conditionsV6?.length) {
    throw new PlatformError(
      'unsupported',
      `port mappings of ${name}: HCN PortMapping policies take no extra match conditions: remove conditionsV4/conditionsV6`,
    );
  }
  const sctp = mappings.find((m) => m.protocol === 'sctp');
  if (sctp) {
    throw new PlatformError(
      'unsupported',
      `port mapping sctp/${sctp.hostPort} of ${name}: HCN PortMapping policies forward TCP and UDP only`,
    );
  }
  const endpoint = await requireAttachmentEndpoint(client, target);
  const addresses = endpoint.IpConfigurations?.length ? endpointAddresses(endpoint) : target.addresses;
  const policies = planForwardings(mappings, addresses).map((f) =>
    portMappingPolicy({
      protocol: f.protocol as 'tcp' | 'udp',
      internalPort: f.containerPort,
      externalPort: f.hostPort,
      vip: f.hostIp === '0.0.0.0' || f.hostIp === '::' ? undefined : f.hostIp,
      flags: f.family === 6 ? NAT_FLAGS.IPv6 : undefined,
    }),
  );
  await replacePolicies(client, endpoint, 'PortMapping', policies);
}

export async function removePortMappings(client: HcnClient, target: AttachmentTarget): Promise<void> {
  const endpoint = await findAttachmentEndpoint(client, target);
  if (endpoint) await dropPolicies(client, endpoint, 'PortMapping');
}

export async function inspectPortMappings(
  client: HcnClient,
  target: AttachmentTarget,
): Promise<ForwardedPort[]> {
  const endpoint = await findAttachmentEndpoint(client, target);
  if (!endpoint) return [];
  const first = firstAddressByFamily(endpoint.IpConfigurations?.length ? endpointAddresses(endpoint) : []);
  const out: ForwardedPort[] = [];
  for (const s of endpointPolicySettings(endpoint.Policies, 'PortMapping')) {
    const protocol = PROTOCOL_NAME[s.Protocol];
    const family = s.VIP ? familyOf(s.VIP) : (s.Flags ?? 0) & NAT_FLAGS.IPv6 ? 6 : 4;
    const containerIp = family ? first[family] : undefined;
    if (!protocol || !containerIp) continue;
    const forwarded: ForwardedPort = {
      protocol,
      hostPort: s.ExternalPort,
      containerPort: s.InternalPort,
      containerIp,
    };
    if (s.VIP) forwarded.hostIp = s.VIP;
    out.push(forwarded);
  }
  return out;
}
