/**
 * Translating the platform's EndpointSpec into the HCN endpoint document: addresses, routes, DNS,
 * MAC, and the policies HCN enforces on the endpoint (port mappings, outbound NAT with
 * exceptions, ACLs, egress bandwidth). What HCN cannot do is refused here with 'unsupported',
 * before anything is created; what has no HCN knob and no observable effect on Windows
 * (hairpin, isolation, MAC spoof check, DAD) is left out. Creating the endpoint is endpoint.ts's job.
 */
import { parseIp } from '../platform/cidr.ts';
import { PlatformError } from '../platform/errors.ts';
import type { EndpointSpec, PortMappingSpec } from '../platform/types.ts';
import {
  type EndpointPolicy,
  NAT_FLAGS,
  aclPolicy,
  outboundNatPolicy,
  portMappingPolicy,
  qosPolicy,
} from './schema/endpoint-policy.ts';
import { type HostComputeEndpoint, buildEndpoint } from './schema/endpoint.ts';

/**
 * Endpoints crosscni creates are named crosscni_<container id>_<ifname>: unique per attachment
 * on a network, and recognisable, so GC never touches endpoints another tool made on a shared
 * network (Docker's "nat").
 */
export const ENDPOINT_NAME_PREFIX = 'crosscni_';

export function endpointName(containerId: string, ifname: string): string {
  return `${ENDPOINT_NAME_PREFIX}${containerId}_${ifname}`;
}

function unsupported(spec: EndpointSpec, what: string): PlatformError {
  return new PlatformError(
    'unsupported',
    `endpoint ${spec.containerId}/${spec.ifname}: ${what} is not supported by HCN`,
  );
}

function portMapping(spec: EndpointSpec, m: PortMappingSpec): EndpointPolicy {
  if (m.protocol === 'sctp') throw unsupported(spec, `SCTP port mapping ${m.hostPort}->${m.containerPort}`);
  const hostIp = m.hostIp && m.hostIp !== '0.0.0.0' && m.hostIp !== '::' ? m.hostIp : undefined;
  const ipv6 = hostIp !== undefined && parseIp(hostIp)?.family === 6;
  return portMappingPolicy({
    protocol: m.protocol,
    internalPort: m.containerPort,
    externalPort: m.hostPort,
    vip: hostIp,
    flags: ipv6 ? NAT_FLAGS.IPv6 : undefined,
  });
}

export function endpointPolicies(spec: EndpointSpec): EndpointPolicy[] {
  if (spec.bandwidth?.ingressRate || spec.bandwidth?.ingressBurstBits)
    throw unsupported(spec, 'ingress bandwidth limiting');
  if (spec.vlan && (spec.vlan.id !== 0 || spec.vlan.trunk?.length))
    throw unsupported(spec, 'a per-endpoint VLAN');
  if (spec.containerInterfaceDown) throw unsupported(spec, 'leaving the container interface down');
  const policies: EndpointPolicy[] = (spec.portMappings ?? []).map((m) => portMapping(spec, m));
  if (spec.outboundNat) policies.push(outboundNatPolicy({ exceptions: spec.outboundNat.exceptions }));
  for (const acl of spec.acls ?? []) {
    // Switch (VFP) rules apply on the vSwitch port, where CNI-managed endpoints are filtered.
    policies.push(aclPolicy({ ...acl, ruleType: 'Switch' }));
  }
  if (spec.bandwidth?.egressRate) {
    policies.push(qosPolicy({ maximumOutgoingBytesPerSecond: Math.floor(spec.bandwidth.egressRate / 8) }));
  }
  return policies;
}

export function endpointDocument(networkId: string, spec: EndpointSpec): HostComputeEndpoint {
  return buildEndpoint({
    name: endpointName(spec.containerId, spec.ifname),
    networkId,
    addresses: spec.addresses.map((a) => a.cidr),
    routes: spec.routes.map((r) => ({ destination: r.dst, nextHop: r.gw, metric: r.priority })),
    dns: spec.dns,
    mac: spec.mac,
    policies: endpointPolicies(spec),
  });
}
