/**
 * Translating the platform's EndpointSpec into the HCN endpoint document: addresses, routes, DNS,
 * MAC, and the policies HCN enforces on the endpoint (port mappings, outbound NAT with
 * exceptions, SDN routes, ACLs, loopback DSR, egress bandwidth), shaped as
 * windows-container-networking sends them. What HCN cannot do is refused here with
 * 'unsupported', before anything is created; what has no HCN knob and no observable effect on
 * Windows (hairpin, isolation, MAC spoof check, DAD) is left out. Creating the endpoint is
 * endpoint.ts's job.
 */
import { parseCidr, parseIp } from '../platform/cidr.ts';
import { PlatformError } from '../platform/errors.ts';
import { planForwardings } from '../platform/port-forwarding.ts';
import type { EndpointSpec } from '../platform/types.ts';
import {
  type EndpointPolicy,
  NAT_FLAGS,
  aclPolicy,
  outboundNatPolicy,
  portMappingPolicy,
  qosPolicy,
  sdnRoutePolicy,
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

/**
 * One PortMapping policy per forwarding: a mapping without a host IP applies to every family
 * the endpoint has (WCN's dual-stack adds the IPv6 twin with the IPv6 flag). LocalRoutedVip
 * (WCN's localRoutedPortMapping) when the options ask for host-originated traffic explicitly.
 */
function portMappingPolicies(spec: EndpointSpec): EndpointPolicy[] {
  const mappings = spec.portMappings ?? [];
  const sctp = mappings.find((m) => m.protocol === 'sctp');
  if (sctp) throw unsupported(spec, `SCTP port mapping ${sctp.hostPort}->${sctp.containerPort}`);
  const localRouted = spec.portMappingOptions?.snat === true ? NAT_FLAGS.LocalRoutedVip : 0;
  const addresses = spec.addresses.map((a) => a.cidr);
  return planForwardings(mappings, addresses).map((f) =>
    portMappingPolicy({
      protocol: f.protocol as 'tcp' | 'udp',
      internalPort: f.containerPort,
      externalPort: f.hostPort,
      vip: f.hostIp && f.hostIp !== '0.0.0.0' && f.hostIp !== '::' ? f.hostIp : undefined,
      flags: localRouted | (f.family === 6 ? NAT_FLAGS.IPv6 : 0),
    }),
  );
}

/** Outbound NAT exceptions, one policy per family when both are present (as WCN's dual-stack configs). */
function outboundNatPolicies(exceptions: string[]): EndpointPolicy[] {
  const family = (cidr: string) => (parseCidr(cidr)?.address ?? parseIp(cidr))?.family;
  const v4 = exceptions.filter((e) => family(e) === 4);
  const v6 = exceptions.filter((e) => family(e) === 6);
  if (!v4.length || !v6.length) return [outboundNatPolicy({ exceptions })];
  return [outboundNatPolicy({ exceptions: v4 }), outboundNatPolicy({ exceptions: v6 })];
}

export function endpointPolicies(spec: EndpointSpec): EndpointPolicy[] {
  if (spec.bandwidth?.ingressRate || spec.bandwidth?.ingressBurstBits)
    throw unsupported(spec, 'ingress bandwidth limiting');
  if (spec.vlan && (spec.vlan.id !== 0 || spec.vlan.trunk?.length))
    throw unsupported(spec, 'a per-endpoint VLAN');
  if (spec.containerInterfaceDown) throw unsupported(spec, 'leaving the container interface down');
  const policies: EndpointPolicy[] = portMappingPolicies(spec);
  if (spec.outboundNat) policies.push(...outboundNatPolicies(spec.outboundNat.exceptions));
  for (const route of spec.hostRoutes ?? []) {
    policies.push(
      sdnRoutePolicy({ destination: route.dst, nextHop: route.nextHop, needEncap: route.encapsulate }),
    );
  }
  for (const acl of spec.acls ?? []) {
    // Switch (VFP) rules apply on the vSwitch port, where CNI-managed endpoints are filtered.
    policies.push(aclPolicy({ ...acl, ruleType: 'Switch' }));
  }
  if (spec.loopbackThroughHost && spec.addresses.length) {
    // HNS's loopback DSR (WCN's loopbackDSR): NAT the endpoint's traffic to its own addresses.
    const own = spec.addresses.map((a) => a.cidr.slice(0, a.cidr.indexOf('/')));
    policies.push(outboundNatPolicy({ destinations: own }));
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
