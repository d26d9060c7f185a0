/**
 * The `AdditionalArgs` list of microsoft/windows-container-networking configs, parsed into the
 * platform's OS-neutral endpoint vocabulary. Entries are {Name, Value}; as in that project only
 * names containing "Policy" are read, "EndpointPolicy" values are HCN endpoint policies, and
 * keys match in any case (Go's JSON decoding). Both policy spellings in use are accepted:
 *
 *   v2 (HCN):    {"Type": "OutBoundNAT", "Settings": {"Exceptions": [...]}}
 *                {"Type": "SDNRoute",    "Settings": {"DestinationPrefix": "...", "NeedEncap": true}}
 *                {"Type": "ACL",         "Settings": {"Action": "Block", "Direction": "Out", ...}}
 *                {"Type": "PortMapping", "Settings": {"Protocol": 6, "InternalPort": 80, "ExternalPort": 8080}}
 *   v1 (HNS v1): {"Type": "OutBoundNAT", "ExceptionList": [...]}, {"Type": "ROUTE", "DestinationPrefix":
 *                "...", "NeedEncap": true}, {"Type": "ACL", "Protocol": 6, "LocalPort": 80, ...},
 *                {"Type": "NAT", "Protocol": "TCP", "InternalPort": 80, "ExternalPort": 8080}
 *
 * A policy crosscni cannot apply the same way on Linux and Windows is refused with code 7 naming
 * its key, never dropped: silently losing an ACL or a NAT rule is worse than failing ADD. Pure.
 */
import { parseCidr, parseIp } from '../../platform/cidr.ts';
import type { AclSpec, HostRouteSpec, PortMappingSpec, TransportProtocol } from '../../platform/types.ts';
import { Fields, isJsonObject } from '../sdk/fields.ts';
import { caselessFields, caselessValue } from './caseless.ts';

/** What AdditionalArgs asks of every endpoint, in the platform's terms. */
export interface EndpointPolicies {
  /** Union of every OutBoundNAT policy's exceptions; undefined when there is no OutBoundNAT policy. */
  outboundNatExceptions?: string[];
  hostRoutes: HostRouteSpec[];
  acls: AclSpec[];
  /** Static port mappings (PortMapping / NAT policies), added to runtimeConfig's. */
  portMappings: PortMappingSpec[];
}

const PROTOCOL_NAMES: Record<string, string> = {
  tcp: '6',
  udp: '17',
  icmpv4: '1',
  icmp: '1',
  icmpv6: '58',
  igmp: '2',
};
const PORT_PROTOCOLS = new Set(['6', '17']);

/** A protocol given as a number or a name ("6", 6, "TCP"), as its IANA number in text. */
function protocolNumber(f: Fields, key: string, value: unknown): string {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const byName = PROTOCOL_NAMES[text.toLowerCase()];
  if (byName) return byName;
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return String(Number(text));
  return f.invalid(
    key,
    `must be an IANA protocol number or tcp/udp/icmpv4/icmpv6, not ${JSON.stringify(value)}`,
  );
}

/** HCN writes lists as comma-separated strings; configs also use JSON arrays. */
function listOf(f: Fields, key: string): string[] {
  const v = f.obj[key];
  if (v === undefined || v === null || v === '') return [];
  if (typeof v === 'number') return [String(v)];
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))
    return v.map(String);
  return f.invalid(key, 'must be a comma-separated string or an array');
}

function addresses(f: Fields, key: string): string[] | undefined {
  const list = listOf(f, key);
  for (const a of list) {
    if (!parseCidr(a) && !parseIp(a)) f.invalid(key, `"${a}" is not an IP address or CIDR`);
  }
  return list.length ? list : undefined;
}

function ports(f: Fields, keys: readonly string[]): number[] | undefined {
  const list = keys.flatMap((key) =>
    listOf(f, key).map((p) => {
      if (/^\d+-\d+$/.test(p)) f.invalid(key, `port range "${p}" is not supported (list the ports)`);
      if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) f.invalid(key, `"${p}" is not a port`);
      return Number(p);
    }),
  );
  return list.length ? list : undefined;
}

function oneOf<T extends string>(f: Fields, key: string, allowed: readonly T[]): T {
  const v = f.requiredString(key);
  const found = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
  return found ?? f.invalid(key, `must be one of ${allowed.join(', ')}, not "${v}"`);
}

function acl(s: Fields): AclSpec {
  const f = caselessFields(s, [
    'Action',
    'Direction',
    'Protocols',
    'Protocol',
    'LocalAddresses',
    'RemoteAddresses',
    'LocalPorts',
    'LocalPort',
    'RemotePorts',
    'RemotePort',
    'RuleType',
    'Priority',
  ]);
  const spec: AclSpec = {
    action: oneOf(f, 'Action', ['Allow', 'Block'] as const) === 'Allow' ? 'allow' : 'block',
    direction: oneOf(f, 'Direction', ['In', 'Out'] as const) === 'In' ? 'in' : 'out',
    priority: f.int('Priority', 0, 65535) ?? 0,
  };
  if (f.has('RuleType')) oneOf(f, 'RuleType', ['Switch', 'Host'] as const);
  const protocols = [
    ...listOf(f, 'Protocols').map((p) => protocolNumber(f, 'Protocols', p)),
    ...listOf(f, 'Protocol').map((p) => protocolNumber(f, 'Protocol', p)),
  ];
  if (protocols.length) spec.protocols = [...new Set(protocols)];
  const local = addresses(f, 'LocalAddresses');
  const remote = addresses(f, 'RemoteAddresses');
  const localPorts = ports(f, ['LocalPorts', 'LocalPort']);
  const remotePorts = ports(f, ['RemotePorts', 'RemotePort']);
  if (local) spec.localAddresses = local;
  if (remote) spec.remoteAddresses = remote;
  if (localPorts) spec.localPorts = localPorts;
  if (remotePorts) spec.remotePorts = remotePorts;
  if ((localPorts || remotePorts) && !spec.protocols?.some((p) => PORT_PROTOCOLS.has(p))) {
    f.invalid(
      localPorts ? 'LocalPorts' : 'RemotePorts',
      'needs Protocols 6 (TCP) or 17 (UDP): ports only exist for them',
    );
  }
  return spec;
}

function outboundNatExceptions(s: Fields): string[] {
  const f = caselessFields(s, ['Exceptions', 'ExceptionList', 'VirtualIP', 'VIP', 'Destinations']);
  for (const key of ['VirtualIP', 'VIP', 'Destinations']) {
    const v = f.obj[key];
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)) {
      f.invalid(
        key,
        'is not supported by crosscni: only Exceptions can be applied alike on Linux and Windows',
      );
    }
  }
  const list = [...(f.stringArray('Exceptions') ?? []), ...(f.stringArray('ExceptionList') ?? [])];
  for (const [i, e] of list.entries()) {
    if (!parseCidr(e) && !parseIp(e)) f.invalid(`Exceptions[${i}]`, `"${e}" is not a CIDR`);
  }
  return list;
}

function hostRoute(s: Fields): HostRouteSpec {
  const f = caselessFields(s, ['DestinationPrefix', 'NextHop', 'NeedEncap']);
  const dst = f.cidr('DestinationPrefix') ?? f.invalid('DestinationPrefix', 'is required');
  const route: HostRouteSpec = { dst, encapsulate: f.bool('NeedEncap', false) };
  const nextHop = f.ip('NextHop');
  if (nextHop) {
    if (parseIp(nextHop)?.family !== parseCidr(dst)?.address.family)
      f.invalid('NextHop', `"${nextHop}" is not of the same address family as ${dst}`);
    route.nextHop = nextHop;
  }
  return route;
}

function staticPortMapping(s: Fields): PortMappingSpec {
  const f = caselessFields(s, ['Protocol', 'InternalPort', 'ExternalPort', 'VIP']);
  const protocol = protocolNumber(f, 'Protocol', f.obj.Protocol ?? 'tcp');
  if (!PORT_PROTOCOLS.has(protocol)) f.invalid('Protocol', 'must be TCP (6) or UDP (17) for a port mapping');
  const mapping: PortMappingSpec = {
    protocol: (protocol === '6' ? 'tcp' : 'udp') as TransportProtocol,
    containerPort: f.int('InternalPort', 1, 65535) ?? f.invalid('InternalPort', 'is required'),
    hostPort: f.int('ExternalPort', 1, 65535) ?? f.invalid('ExternalPort', 'is required'),
  };
  const vip = f.ip('VIP');
  if (vip) mapping.hostIp = vip;
  return mapping;
}

/** One EndpointPolicy value, added to `out`. */
function endpointPolicy(value: Fields, out: EndpointPolicies): void {
  const type = caselessFields(value, ['Type']).requiredString('Type');
  const rawSettings = caselessValue(value.obj, 'Settings');
  // v2 nests the settings; v1 writes them beside Type.
  const settings =
    rawSettings === undefined || rawSettings === null
      ? value
      : isJsonObject(rawSettings)
        ? new Fields(rawSettings, `${value.path}Settings.`)
        : value.invalid('Settings', 'must be an object');
  switch (type.toLowerCase()) {
    case 'outboundnat':
      out.outboundNatExceptions = [...(out.outboundNatExceptions ?? []), ...outboundNatExceptions(settings)];
      return;
    case 'sdnroute':
    case 'route':
      out.hostRoutes.push(hostRoute(settings));
      return;
    case 'acl':
      out.acls.push(acl(settings));
      return;
    case 'portmapping':
    case 'nat':
      out.portMappings.push(staticPortMapping(settings));
      return;
    default:
      value.invalid(
        'Type',
        `"${type}" is not supported by crosscni (supported: OutBoundNAT, SDNRoute/ROUTE, ACL, PortMapping/NAT)`,
      );
  }
}

/** The AdditionalArgs list of a config (found in any case), parsed. */
export function parseAdditionalArgs(config: Fields): EndpointPolicies {
  const out: EndpointPolicies = { hostRoutes: [], acls: [], portMappings: [] };
  const entries = caselessFields(config, ['AdditionalArgs']).objectArray('AdditionalArgs') ?? [];
  for (const entry of entries) {
    const e = caselessFields(entry, ['Name', 'Value']);
    const name = e.requiredString('Name');
    // As windows-container-networking: only names with "Policy" in them carry policies.
    if (!name.includes('Policy')) continue;
    if (name.toLowerCase() === 'networkpolicy') {
      e.invalid('Name', 'NetworkPolicy entries are not supported by crosscni (use EndpointPolicy)');
    }
    if (name.toLowerCase() !== 'endpointpolicy') continue;
    endpointPolicy(e.object('Value') ?? e.invalid('Value', 'is required'), out);
  }
  return out;
}
