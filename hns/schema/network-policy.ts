/**
 * Network and subnet policies of HCN schema v2 (hcn.md; field sets as hcsshim's
 * hcn/hcnpolicy.go): NetAdapterName, AutomaticDNS, RemoteSubnetRoute, VSwitchExtension,
 * DrMacAddress, ProviderAddress, SourceMacAddress, HostRoute on networks; VLAN and VSID on
 * subnets. Builders write HNS's spelling, parsers read it back. Choosing policies for a network
 * is the platform's job, not this module's.
 */
import { type JsonObject, optBoolean, optInteger, optString } from './json-reader.ts';
import {
  type OtherPolicy,
  type PolicyOf,
  type SettingsParsers,
  parsePolicy,
  settingsOfType,
} from './policy.ts';

export interface NetworkPolicySettings {
  NetAdapterName: { NetworkAdapterName: string };
  AutomaticDNS: { Enable: boolean };
  RemoteSubnetRoute: {
    DestinationPrefix: string;
    IsolationId: number;
    ProviderAddress: string;
    DistributedRouterMacAddress: string;
  };
  VSwitchExtension: { ExtensionID: string; Enable: boolean };
  DrMacAddress: { Address: string };
  ProviderAddress: { ProviderAddress: string };
  SourceMacAddress: { SourceMacAddress: string };
  /** HostRoute carries no settings. */
  HostRoute: Record<string, never>;
}

export type NetworkPolicyType = keyof NetworkPolicySettings;
export type KnownNetworkPolicy = PolicyOf<NetworkPolicySettings>;
export type NetworkPolicy = KnownNetworkPolicy | OtherPolicy;

export interface SubnetPolicySettings {
  VLAN: { IsolationId: number };
  VSID: { IsolationId: number };
}

export type KnownSubnetPolicy = PolicyOf<SubnetPolicySettings>;
export type SubnetPolicy = KnownSubnetPolicy | OtherPolicy;

// ---- builders ----------------------------------------------------------------------------------

/** Binds the network's vSwitch to the host adapter with this name (L2Bridge, Transparent). */
export function netAdapterNamePolicy(adapterName: string): KnownNetworkPolicy {
  return { Type: 'NetAdapterName', Settings: { NetworkAdapterName: adapterName } };
}

export function automaticDnsPolicy(enable: boolean): KnownNetworkPolicy {
  return { Type: 'AutomaticDNS', Settings: { Enable: enable } };
}

export interface RemoteSubnetRouteInput {
  destinationPrefix: string;
  isolationId: number;
  providerAddress: string;
  distributedRouterMac: string;
}

export function remoteSubnetRoutePolicy(input: RemoteSubnetRouteInput): KnownNetworkPolicy {
  return {
    Type: 'RemoteSubnetRoute',
    Settings: {
      DestinationPrefix: input.destinationPrefix,
      IsolationId: input.isolationId,
      ProviderAddress: input.providerAddress,
      DistributedRouterMacAddress: input.distributedRouterMac,
    },
  };
}

export function vSwitchExtensionPolicy(extensionId: string, enable: boolean): KnownNetworkPolicy {
  return { Type: 'VSwitchExtension', Settings: { ExtensionID: extensionId, Enable: enable } };
}

export function drMacAddressPolicy(mac: string): KnownNetworkPolicy {
  return { Type: 'DrMacAddress', Settings: { Address: mac } };
}

export function providerAddressNetworkPolicy(address: string): KnownNetworkPolicy {
  return { Type: 'ProviderAddress', Settings: { ProviderAddress: address } };
}

export function sourceMacAddressPolicy(mac: string): KnownNetworkPolicy {
  return { Type: 'SourceMacAddress', Settings: { SourceMacAddress: mac } };
}

export function hostRoutePolicy(): KnownNetworkPolicy {
  return { Type: 'HostRoute', Settings: {} };
}

export function vlanSubnetPolicy(vlanId: number): KnownSubnetPolicy {
  return { Type: 'VLAN', Settings: { IsolationId: vlanId } };
}

export function vsidSubnetPolicy(vsid: number): KnownSubnetPolicy {
  return { Type: 'VSID', Settings: { IsolationId: vsid } };
}

// ---- parsers -----------------------------------------------------------------------------------

// Absent strings, numbers and booleans read as the schema's zero values: HCN's writers omit them.
const str = (s: JsonObject, key: string, p: string) => optString(s, key, p) ?? '';
const flag = (s: JsonObject, key: string, p: string) => optBoolean(s, key, p) ?? false;
const isolationId = (s: JsonObject, p: string) => ({
  IsolationId: optInteger(s, 'IsolationId', p, { min: 0 }) ?? 0,
});

const NETWORK_PARSERS: SettingsParsers<NetworkPolicySettings> = {
  NetAdapterName: (s, p) => ({ NetworkAdapterName: str(s, 'NetworkAdapterName', p) }),
  AutomaticDNS: (s, p) => ({ Enable: flag(s, 'Enable', p) }),
  RemoteSubnetRoute: (s, p) => ({
    DestinationPrefix: str(s, 'DestinationPrefix', p),
    IsolationId: optInteger(s, 'IsolationId', p, { min: 0 }) ?? 0,
    ProviderAddress: str(s, 'ProviderAddress', p),
    DistributedRouterMacAddress: str(s, 'DistributedRouterMacAddress', p),
  }),
  VSwitchExtension: (s, p) => ({ ExtensionID: str(s, 'ExtensionID', p), Enable: flag(s, 'Enable', p) }),
  DrMacAddress: (s, p) => ({ Address: str(s, 'Address', p) }),
  ProviderAddress: (s, p) => ({ ProviderAddress: str(s, 'ProviderAddress', p) }),
  SourceMacAddress: (s, p) => ({ SourceMacAddress: str(s, 'SourceMacAddress', p) }),
  HostRoute: () => ({}),
};

const SUBNET_PARSERS: SettingsParsers<SubnetPolicySettings> = {
  VLAN: isolationId,
  VSID: isolationId,
};

export function parseNetworkPolicy(value: unknown, path: string): NetworkPolicy {
  return parsePolicy(value, path, NETWORK_PARSERS);
}

export function parseSubnetPolicy(value: unknown, path: string): SubnetPolicy {
  return parsePolicy(value, path, SUBNET_PARSERS);
}

export function networkPolicySettings<K extends NetworkPolicyType>(
  policies: readonly NetworkPolicy[] | undefined,
  type: K,
): NetworkPolicySettings[K][] {
  return settingsOfType<NetworkPolicySettings, K>(policies, type);
}
