/**
 * The `runtimeConfig` capability arguments of CONVENTIONS.md, parsed into typed values.
 * Port mappings arrive with lowerCamel keys from podman/libcni and with capitalised keys from
 * containerd (Go's JSON decoding is case-insensitive, so the Go plugins accept both); this
 * module accepts both spellings, and any other casing, key by key.
 */
import type { PortMappingSpec, TransportProtocol } from '../../platform/types.ts';
import { Fields, isJsonObject } from './fields.ts';
import type { JsonObject } from './input.ts';

export interface RuntimeBandwidth {
  /** Bits per second. */
  ingressRate?: number;
  /** Bits. */
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface RuntimeDns {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface RuntimeConfig {
  portMappings?: PortMappingSpec[];
  bandwidth?: RuntimeBandwidth;
  /** Requested addresses, CIDR or plain IP. */
  ips?: string[];
  mac?: string;
  dns?: RuntimeDns;
  /** host-local range sets: [[{subnet, rangeStart, rangeEnd, gateway}]] as raw objects. */
  ipRanges?: JsonObject[][];
  aliases?: string[];
  deviceID?: string;
  cgroupPath?: string;
}

/** Look a key up ignoring case, as Go's encoding/json does. */
function caseless(obj: JsonObject, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function caselessFields(obj: JsonObject, keys: readonly string[], path: string): Fields {
  const normalised: JsonObject = {};
  for (const key of keys) {
    const v = caseless(obj, key);
    if (v !== undefined) normalised[key] = v;
  }
  return new Fields(normalised, path);
}

const PROTOCOLS: readonly TransportProtocol[] = ['tcp', 'udp', 'sctp'];

function parsePortMapping(item: unknown, index: number): PortMappingSpec {
  const path = `runtimeConfig.portMappings[${index}].`;
  if (!isJsonObject(item))
    new Fields({}, 'runtimeConfig.').invalid(`portMappings[${index}]`, 'must be an object');
  const f = caselessFields(item as JsonObject, ['hostPort', 'containerPort', 'protocol', 'hostIP'], path);
  const hostPort = f.int('hostPort', 1, 65535) ?? f.invalid('hostPort', 'is required');
  const containerPort = f.int('containerPort', 1, 65535) ?? f.invalid('containerPort', 'is required');
  const protocol = (f.string('protocol') ?? 'tcp').toLowerCase();
  if (!PROTOCOLS.includes(protocol as TransportProtocol)) {
    f.invalid('protocol', `must be one of ${PROTOCOLS.join(', ')}, not "${protocol}"`);
  }
  const mapping: PortMappingSpec = { hostPort, containerPort, protocol: protocol as TransportProtocol };
  const hostIp = f.ip('hostIP');
  if (hostIp) mapping.hostIp = hostIp;
  return mapping;
}

export function parseRuntimeConfig(value: unknown): RuntimeConfig {
  const config: RuntimeConfig = {};
  if (value === undefined || value === null) return config;
  const f = new Fields(isJsonObject(value) ? value : {}, 'runtimeConfig.');
  if (!isJsonObject(value)) new Fields({}, '').invalid('runtimeConfig', 'must be an object');
  const mappings = f.array('portMappings');
  if (mappings) config.portMappings = mappings.map(parsePortMapping);
  const bandwidth = f.object('bandwidth');
  if (bandwidth) {
    const b = caselessFields(
      bandwidth.obj,
      ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'],
      'runtimeConfig.bandwidth.',
    );
    config.bandwidth = {};
    for (const key of ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const) {
      const n = b.int(key, 0, Number.MAX_SAFE_INTEGER);
      if (n !== undefined) config.bandwidth[key] = n;
    }
  }
  const ips = f.stringArray('ips');
  if (ips) config.ips = ips;
  const mac = f.string('mac');
  if (mac) config.mac = mac;
  const dns = f.object('dns');
  if (dns) {
    config.dns = {};
    for (const key of ['servers', 'searches', 'options'] as const) {
      const list = dns.stringArray(key);
      if (list) config.dns[key] = list;
    }
  }
  const ranges = f.array('ipRanges');
  if (ranges) {
    config.ipRanges = ranges.map((set, i) => {
      if (!Array.isArray(set) || !set.every(isJsonObject)) {
        f.invalid(`ipRanges[${i}]`, 'must be an array of range objects');
      }
      return set as JsonObject[];
    });
  }
  const aliases = f.stringArray('aliases');
  if (aliases) config.aliases = aliases;
  const deviceID = f.string('deviceID');
  if (deviceID) config.deviceID = deviceID;
  const cgroupPath = f.string('cgroupPath');
  if (cgroupPath) config.cgroupPath = cgroupPath;
  return config;
}
