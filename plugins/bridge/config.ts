/**
 * The bridge plugin's configuration: every key of the reference bridge plugin
 * (containernetworking/plugins plugins/main/bridge), parsed and validated once. Defaults
 * follow the reference: bridge "cni0", preserveDefaultVlan true, DAD off, everything else off.
 */
import { interfaceNameProblem } from '../sdk/names.ts';
import type { NetConf } from '../sdk/config.ts';
import type { Fields } from '../sdk/fields.ts';

export interface VlanRange {
  minId: number;
  maxId: number;
}

export interface BridgeConfig {
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  /** Which netfilter front end masquerades: the platform's choice when absent. */
  ipMasqBackend?: 'iptables' | 'nftables';
  mtu?: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  vlan: number;
  vlanTrunk: VlanRange[];
  preserveDefaultVlan: boolean;
  enableDad: boolean;
  macSpoofCheck: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** Layer 3 when an IPAM is configured; otherwise the plugin only plugs the container in. */
  hasIpam: boolean;
}

const MAX_VLAN = 4094;

function parseTrunk(fields: Fields): VlanRange[] {
  const entries = fields.objectArray('vlanTrunk') ?? [];
  return entries.map((entry) => {
    const id = entry.int('id', 1, MAX_VLAN);
    const minId = entry.int('minID', 1, MAX_VLAN);
    const maxId = entry.int('maxID', 1, MAX_VLAN);
    if (id !== undefined) {
      if (minId !== undefined || maxId !== undefined)
        entry.invalid('id', 'cannot be combined with minID/maxID');
      return { minId: id, maxId: id };
    }
    const min = minId ?? entry.invalid('minID', 'and maxID are required without id');
    const max = maxId ?? entry.invalid('maxID', 'and minID are required without id');
    if (min > max) entry.invalid('minID', `(${min}) must not be greater than maxID (${max})`);
    return { minId: min, maxId: max };
  });
}

export function parseBridgeConfig(conf: NetConf): BridgeConfig {
  const f = conf.fields;
  const bridge = f.string('bridge') || 'cni0';
  const nameProblem = interfaceNameProblem(bridge);
  if (nameProblem) f.invalid('bridge', `${nameProblem}: "${bridge}" cannot be a device name`);
  const isDefaultGateway = f.bool('isDefaultGateway', false);
  const backend = f.string('ipMasqBackend');
  if (backend !== undefined && backend !== 'iptables' && backend !== 'nftables') {
    f.invalid('ipMasqBackend', `must be "iptables" or "nftables", not "${backend}"`);
  }
  const config: BridgeConfig = {
    bridge,
    // A default gateway is a gateway: the reference turns isGateway on for it.
    isGateway: f.bool('isGateway', false) || isDefaultGateway,
    isDefaultGateway,
    forceAddress: f.bool('forceAddress', false),
    ipMasq: f.bool('ipMasq', false),
    mtu: f.int('mtu', 68, 65535),
    hairpinMode: f.bool('hairpinMode', false),
    promiscMode: f.bool('promiscMode', false),
    vlan: f.int('vlan', 0, MAX_VLAN) ?? 0,
    vlanTrunk: parseTrunk(f),
    preserveDefaultVlan: f.bool('preserveDefaultVlan', true),
    enableDad: f.bool('enabledad', false),
    macSpoofCheck: f.bool('macspoofchk', false),
    disableContainerInterface: f.bool('disableContainerInterface', false),
    portIsolation: f.bool('portIsolation', false),
    hasIpam: conf.ipam !== undefined && conf.ipam.type !== '',
  };
  if (backend === 'iptables' || backend === 'nftables') config.ipMasqBackend = backend;
  if (config.hairpinMode && config.promiscMode) {
    f.invalid('hairpinMode', 'cannot be combined with promiscMode (the reference refuses both at once)');
  }
  if (config.vlan !== 0 && config.vlanTrunk.length > 0) {
    f.invalid('vlan', 'cannot be combined with vlanTrunk');
  }
  return config;
}
