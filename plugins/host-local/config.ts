/**
 * host-local's configuration, read as the reference does (config.go): `ranges` (range sets;
 * one per family for dual-stack), the legacy single range at the ipam level (placed first),
 * runtimeConfig `ipRanges` replacing both, `routes`, `dataDir`, `resolvConf`, and requested
 * addresses from CNI_ARGS `IP=`, `args.cni.ips` and runtimeConfig `ips`.
 */
import { isAbsolute } from 'node:path';
import { formatIp, type IpAddress, parseCidr, parseIp } from '../../platform/cidr.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import { Fields } from '../sdk/fields.ts';
import type { JsonObject } from '../sdk/input.ts';
import type { ResultRoute } from '../sdk/result.ts';
import type { CommandContext } from '../sdk/skel.ts';
import { canonicalizeRangeSet, type RangeInput, type RangeSet, rangeSetsOverlap } from './range.ts';

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface HostLocalConfig {
  network: string;
  rangeSets: RangeSet[];
  routes: ResultRoute[];
  dataDir: string;
  resolvConf?: string;
  /** Addresses the runtime asked for, in the order given. */
  requested: IpAddress[];
}

function rangeInput(f: Fields): RangeInput {
  const input: RangeInput = {};
  for (const key of ['subnet', 'rangeStart', 'rangeEnd', 'gateway'] as const) {
    const v = f.string(key);
    if (v) input[key] = v;
  }
  return input;
}

function rangeSetsFrom(sets: unknown[], where: string, ipam: Fields): RangeInput[][] {
  return sets.map((set, i) => {
    if (!Array.isArray(set)) ipam.invalid(`${where}[${i}]`, 'must be an array of ranges');
    return (set as unknown[]).map((r, j) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) {
        ipam.invalid(`${where}[${i}][${j}]`, 'must be an object');
      }
      return rangeInput(new Fields(r as JsonObject, `${ipam.path}${where}[${i}][${j}].`));
    });
  });
}

function parseRoutes(ipam: Fields): ResultRoute[] {
  return (ipam.objectArray('routes') ?? []).map((r) => {
    const dst = r.cidr('dst') ?? r.invalid('dst', 'is required');
    const route: ResultRoute = { dst };
    const gw = r.ip('gw');
    if (gw) route.gw = gw;
    return route;
  });
}

function requestedAddress(text: string, source: string): IpAddress {
  const ip = parseIp(text.trim()) ?? parseCidr(text.trim())?.address;
  if (!ip) throw new CniError(ErrorCode.InvalidConfig, `invalid IP "${text}" in ${source}`);
  return ip;
}

function requestedAddresses(ctx: CommandContext): IpAddress[] {
  const out: IpAddress[] = [];
  const fromEnv = ctx.args.get('IP');
  if (fromEnv) for (const item of fromEnv.split(',')) out.push(requestedAddress(item, 'CNI_ARGS IP'));
  const cniArgs = (ctx.config.args?.cni as { ips?: unknown } | undefined)?.ips;
  if (Array.isArray(cniArgs)) {
    for (const item of cniArgs) {
      if (typeof item !== 'string')
        throw new CniError(ErrorCode.InvalidConfig, 'args.cni.ips must hold strings');
      out.push(requestedAddress(item, 'args.cni.ips'));
    }
  }
  for (const item of ctx.config.runtimeConfig.ips ?? [])
    out.push(requestedAddress(item, 'runtimeConfig.ips'));
  return out;
}

export function parseHostLocalConfig(ctx: CommandContext): HostLocalConfig {
  const ipam = ctx.config.ipam?.fields ?? ctx.config.fields.object('ipam');
  if (!ipam) throw new CniError(ErrorCode.InvalidConfig, 'invalid network config: "ipam" is required');
  let inputs: RangeInput[][];
  let where = 'ranges';
  const runtimeRanges = ctx.config.runtimeConfig.ipRanges;
  if (runtimeRanges?.length) {
    inputs = runtimeRanges.map((set) => set.map((r) => rangeInput(new Fields(r, 'runtimeConfig.ipRanges.'))));
    where = 'runtimeConfig.ipRanges';
  } else {
    inputs = rangeSetsFrom(ipam.array('ranges') ?? [], 'ranges', ipam);
    const legacy = rangeInput(ipam);
    if (legacy.subnet) inputs.unshift([legacy]);
  }
  if (inputs.length === 0) ipam.invalid('ranges', 'is required (or the legacy "subnet")');
  const rangeSets = inputs.map((set, i) => canonicalizeRangeSet(set, `${ipam.path}${where}[${i}]`));
  rangeSets.forEach((set, i) => {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(set, rangeSets[j]!)) ipam.invalid(`${where}[${j}]`, `overlaps range set ${i}`);
    }
  });
  const dataDir = ipam.string('dataDir') || DEFAULT_DATA_DIR;
  if (!isAbsolute(dataDir) || dataDir.split(/[\\/]/).includes('..')) {
    ipam.invalid('dataDir', `must be an absolute path without "..", not "${dataDir}"`);
  }
  const config: HostLocalConfig = {
    network: ctx.config.name,
    rangeSets,
    routes: parseRoutes(ipam),
    dataDir,
    requested: requestedAddresses(ctx),
  };
  const resolvConf = ipam.string('resolvConf');
  if (resolvConf) config.resolvConf = resolvConf;
  return config;
}

export function describeRequested(ips: IpAddress[]): string {
  return ips.map(formatIp).join(' ');
}
