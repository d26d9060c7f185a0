/**
 * Endpoint policies of HCN schema v2 (hcn.md; field sets as hcsshim's hcn/hcnpolicy.go):
 * PortMapping, OutBoundNAT, SDNRoute, ACL, QOS, L4Proxy, PortName, EncapOverhead,
 * ProviderAddress. Builders take typed inputs in the platform's terms (protocols by name, ports
 * as numbers) and write HNS's spelling (protocol numbers, comma-joined ACL lists); parsers read
 * HNS answers back. Deciding which policies an endpoint needs is the platform's job, not this
 * module's.
 */
import { HcnResponseError } from '../errors.ts';
import {
  type JsonObject,
  optArray,
  optBoolean,
  optInteger,
  optString,
  readStringItem,
} from './json-reader.ts';
import {
  type OtherPolicy,
  type PolicyOf,
  type SettingsParsers,
  parsePolicy,
  settingsOfType,
} from './policy.ts';

/** IANA protocol numbers HCN uses for PortMapping.Protocol and ACL.Protocols. */
export const PROTOCOL_NUMBER = { tcp: 6, udp: 17, icmpv4: 1, icmpv6: 58 } as const;

/** PortMapping.Flags bits (hcsshim NatFlags). */
export const NAT_FLAGS = { None: 0, LocalRoutedVip: 1, IPv6: 2 } as const;

export interface PortMappingSettings {
  Protocol: number;
  InternalPort: number;
  ExternalPort: number;
  VIP?: string;
  Flags?: number;
}

export interface OutboundNatSettings {
  VirtualIP?: string;
  /** Destination CIDRs that keep the endpoint's own source address. */
  Exceptions?: string[];
  /** Only traffic to these destinations is NATed (loopback DSR names the endpoint's own IPs). */
  Destinations?: string[];
}

export interface SdnRouteSettings {
  DestinationPrefix?: string;
  NextHop?: string;
  NeedEncap?: boolean;
}

export type AclActionName = 'Allow' | 'Block';
export type AclDirectionName = 'In' | 'Out';
/** Host rules are WFP (Windows Firewall), Switch rules are VFP (the vSwitch). */
export type AclRuleType = 'Host' | 'Switch';

/** ACL lists are comma-separated strings in HCN's schema, not JSON arrays. */
export interface AclSettings {
  Protocols?: string;
  Action: AclActionName;
  Direction: AclDirectionName;
  LocalAddresses?: string;
  RemoteAddresses?: string;
  LocalPorts?: string;
  RemotePorts?: string;
  RuleType?: AclRuleType;
  Priority?: number;
}

export interface QosSettings {
  MaximumOutgoingBandwidthInBytes: number;
}

/** As hcsshim's L4ProxyPolicySetting (Port is a string there). */
export interface L4ProxySettings {
  IP?: string;
  Port?: string;
  Protocol?: number;
  Exceptions?: string[];
  Destination?: string;
  OutboundNAT?: boolean;
}

export interface PortNameSettings {
  Name: string;
}

export interface EncapOverheadSettings {
  Overhead: number;
}

export interface ProviderAddressSettings {
  ProviderAddress: string;
}

export interface EndpointPolicySettings {
  PortMapping: PortMappingSettings;
  OutBoundNAT: OutboundNatSettings;
  SDNRoute: SdnRouteSettings;
  ACL: AclSettings;
  QOS: QosSettings;
  L4Proxy: L4ProxySettings;
  PortName: PortNameSettings;
  EncapOverhead: EncapOverheadSettings;
  ProviderAddress: ProviderAddressSettings;
}

export type EndpointPolicyType = keyof EndpointPolicySettings;
export type KnownEndpointPolicy = PolicyOf<EndpointPolicySettings>;
export type EndpointPolicy = KnownEndpointPolicy | OtherPolicy;

// ---- builders ----------------------------------------------------------------------------------

export interface PortMappingInput {
  protocol: 'tcp' | 'udp';
  /** Port inside the container. */
  internalPort: number;
  /** Port on the host. */
  externalPort: number;
  /** Only traffic to this host address is forwarded. */
  vip?: string;
  flags?: number;
}

export function portMappingPolicy(input: PortMappingInput): KnownEndpointPolicy {
  return {
    Type: 'PortMapping',
    Settings: {
      Protocol: PROTOCOL_NUMBER[input.protocol],
      InternalPort: input.internalPort,
      ExternalPort: input.externalPort,
      VIP: input.vip || undefined,
      Flags: input.flags || undefined,
    },
  };
}

export function outboundNatPolicy(input: {
  exceptions?: string[];
  virtualIp?: string;
  destinations?: string[];
}): KnownEndpointPolicy {
  const exceptions = input.exceptions?.length ? [...input.exceptions] : undefined;
  const destinations = input.destinations?.length ? [...input.destinations] : undefined;
  return {
    Type: 'OutBoundNAT',
    Settings: { VirtualIP: input.virtualIp, Exceptions: exceptions, Destinations: destinations },
  };
}

export function sdnRoutePolicy(input: {
  destination: string;
  nextHop?: string;
  needEncap?: boolean;
}): KnownEndpointPolicy {
  return {
    Type: 'SDNRoute',
    Settings: { DestinationPrefix: input.destination, NextHop: input.nextHop, NeedEncap: input.needEncap },
  };
}

export interface AclInput {
  action: 'allow' | 'block';
  direction: 'in' | 'out';
  /** IANA protocol numbers as strings; empty or absent means any. */
  protocols?: string[];
  localAddresses?: string[];
  remoteAddresses?: string[];
  localPorts?: number[];
  remotePorts?: number[];
  ruleType?: AclRuleType;
  priority?: number;
}

export function aclPolicy(input: AclInput): KnownEndpointPolicy {
  const list = (items: ReadonlyArray<string | number> | undefined) =>
    items?.length ? items.join(',') : undefined;
  return {
    Type: 'ACL',
    Settings: {
      Protocols: list(input.protocols),
      Action: input.action === 'allow' ? 'Allow' : 'Block',
      Direction: input.direction === 'in' ? 'In' : 'Out',
      LocalAddresses: list(input.localAddresses),
      RemoteAddresses: list(input.remoteAddresses),
      LocalPorts: list(input.localPorts),
      RemotePorts: list(input.remotePorts),
      RuleType: input.ruleType,
      Priority: input.priority,
    },
  };
}

/** HCN caps egress in bytes per second; the platform speaks bits per second. */
export function qosPolicy(input: { maximumOutgoingBytesPerSecond: number }): KnownEndpointPolicy {
  return { Type: 'QOS', Settings: { MaximumOutgoingBandwidthInBytes: input.maximumOutgoingBytesPerSecond } };
}

export function l4ProxyPolicy(settings: L4ProxySettings): KnownEndpointPolicy {
  return { Type: 'L4Proxy', Settings: { ...settings } };
}

export function portNamePolicy(name: string): KnownEndpointPolicy {
  return { Type: 'PortName', Settings: { Name: name } };
}

export function encapOverheadPolicy(overheadBytes: number): KnownEndpointPolicy {
  return { Type: 'EncapOverhead', Settings: { Overhead: overheadBytes } };
}

export function providerAddressEndpointPolicy(address: string): KnownEndpointPolicy {
  return { Type: 'ProviderAddress', Settings: { ProviderAddress: address } };
}

// ---- parsers -----------------------------------------------------------------------------------

const PORT = { min: 0, max: 65535 };

// Numeric settings HCN leaves out are zero: the schema's writers omit zero values (omitempty).

function oneOf<T extends string>(obj: JsonObject, key: string, path: string, allowed: readonly T[]): T {
  const v = optString(obj, key, path);
  const found = allowed.find((a) => a.toLowerCase() === v?.toLowerCase());
  if (found === undefined) {
    throw new HcnResponseError(`${path}.${key}`, `expected one of ${allowed.join(', ')}, got ${String(v)}`);
  }
  return found;
}

const PARSERS: SettingsParsers<EndpointPolicySettings> = {
  PortMapping: (s, p) => ({
    Protocol: optInteger(s, 'Protocol', p, { min: 0, max: 255 }) ?? 0,
    InternalPort: optInteger(s, 'InternalPort', p, PORT) ?? 0,
    ExternalPort: optInteger(s, 'ExternalPort', p, PORT) ?? 0,
    VIP: optString(s, 'VIP', p),
    Flags: optInteger(s, 'Flags', p, { min: 0 }),
  }),
  OutBoundNAT: (s, p) => ({
    VirtualIP: optString(s, 'VirtualIP', p),
    Exceptions: optArray(s, 'Exceptions', p, readStringItem),
    Destinations: optArray(s, 'Destinations', p, readStringItem),
  }),
  SDNRoute: (s, p) => ({
    DestinationPrefix: optString(s, 'DestinationPrefix', p),
    NextHop: optString(s, 'NextHop', p),
    NeedEncap: optBoolean(s, 'NeedEncap', p),
  }),
  ACL: (s, p) => ({
    Protocols: optString(s, 'Protocols', p),
    Action: oneOf(s, 'Action', p, ['Allow', 'Block'] as const),
    Direction: oneOf(s, 'Direction', p, ['In', 'Out'] as const),
    LocalAddresses: optString(s, 'LocalAddresses', p),
    RemoteAddresses: optString(s, 'RemoteAddresses', p),
    LocalPorts: optString(s, 'LocalPorts', p),
    RemotePorts: optString(s, 'RemotePorts', p),
    RuleType: s.RuleType === undefined ? undefined : oneOf(s, 'RuleType', p, ['Host', 'Switch'] as const),
    Priority: optInteger(s, 'Priority', p, { min: 0, max: 65535 }),
  }),
  QOS: (s, p) => ({
    MaximumOutgoingBandwidthInBytes: optInteger(s, 'MaximumOutgoingBandwidthInBytes', p, { min: 0 }) ?? 0,
  }),
  L4Proxy: (s, p) => ({
    IP: optString(s, 'IP', p),
    Port: optString(s, 'Port', p),
    Protocol: optInteger(s, 'Protocol', p, { min: 0, max: 255 }),
    Exceptions: optArray(s, 'Exceptions', p, readStringItem),
    Destination: optString(s, 'Destination', p),
    OutboundNAT: optBoolean(s, 'OutboundNAT', p),
  }),
  PortName: (s, p) => ({ Name: optString(s, 'Name', p) ?? '' }),
  EncapOverhead: (s, p) => ({ Overhead: optInteger(s, 'Overhead', p, { min: 0 }) ?? 0 }),
  ProviderAddress: (s, p) => ({ ProviderAddress: optString(s, 'ProviderAddress', p) ?? '' }),
};

export function parseEndpointPolicy(value: unknown, path: string): EndpointPolicy {
  return parsePolicy(value, path, PARSERS);
}

/** The settings of every `type` policy on an endpoint, typed. */
export function endpointPolicySettings<K extends EndpointPolicyType>(
  policies: readonly EndpointPolicy[] | undefined,
  type: K,
): EndpointPolicySettings[K][] {
  return settingsOfType<EndpointPolicySettings, K>(policies, type);
}
