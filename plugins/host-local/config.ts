/**
 * host-local's configuration, read as the reference does (allocator/config.go): range sets
 * from runtimeConfig `ipRanges`, then the legacy single range at the ipam level, then
 * `ranges` (one set per family for dual-stack), in that order; `routes`, `dataDir`,
 * `resolvConf`; and requested addresses from CNI_ARGS `IP=`, `args.cni.ips` and runtimeConfig
 * `ips`. Every problem is a code-7 error naming the key as the user wrote it (code 1 for
 * two addresses of one family at cniVersion 0.1.0/0.2.0, which results cannot carry).
 */
import { isAbsolute } from 'node:path';
import { formatCidr, formatIp, type IpAddress, parseCidr, parseIp } from '../../platform/cidr.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import { Fields } from '../sdk/fields.ts';
import type { JsonObject } from '../sdk/input.ts';
import type { ResultRoute } from '../sdk/result.ts';
import type { CommandContext } from '../sdk/skel.ts';
import { versionAtLeast } from '../sdk/version.ts';
import {
  canonicalizeRangeSet,
  type RangeInput,
  type RangeSet,
  rangeSetFamily,
  rangeSetsOverlap,
} from './range.ts';

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

/** Routes as the reference prints them: addresses canonical, host bits of dst kept. */
function parseRoutes(ipam: Fields): ResultRoute[] {
  return (ipam.objectArray('routes') ?? []).map((r) => {
    const dst = parseCidr(r.cidr('dst') ?? r.invalid('dst', 'is required'))!;
    const route: ResultRoute = { dst: formatCidr(dst) };
    const gw = r.ip('gw');
    if (gw) route.gw = formatIp(parseIp(gw)!);
    // The route fields of spec 1.1.0; older results drop them when converted.
    for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const value = r.int(key, 0, 2 ** 32 - 1);
      if (value !== undefined) route[key] = value;
    }
    return route;
  });
}

function requestedAddress(text: string, source: string): IpAddress {
  const ip = parseIp(text.trim()) ?? parseCidr(text.trim())?.address;
  if (!ip) throw new CniError(ErrorCode.InvalidConfig, `invalid IP "${text}" in ${source}`);
  return ip;
}

/**
 * Requested addresses in the order given, each once: the reference keys them by address, so
 * one address asked for twice (say in CNI_ARGS and in runtimeConfig) is one request.
 */
function requestedAddresses(ctx: CommandContext): IpAddress[] {
  const out = new Map<string, IpAddress>();
  const add = (text: string, source: string) => {
    const ip = requestedAddress(text, source);
    out.set(formatIp(ip), ip);
  };
  const fromEnv = ctx.args.get('IP');
  if (fromEnv) for (const item of fromEnv.split(',')) add(item, 'CNI_ARGS IP');
  const cniArgs = (ctx.config.args?.cni as { ips?: unknown } | undefined)?.ips;
  if (cniArgs !== undefined && cniArgs !== null) {
    if (!Array.isArray(cniArgs) || cniArgs.some((item) => typeof item !== 'string')) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        'invalid network config: "args.cni.ips" must be an array of strings',
      );
    }
    for (const item of cniArgs as string[]) add(item, 'args.cni.ips');
  }
  for (const item of ctx.config.runtimeConfig.ips ?? []) add(item, 'runtimeConfig.ips');
  return [...out.values()];
}

export function parseHostLocalConfig(ctx: CommandContext): HostLocalConfig {
  const ipam = ctx.config.ipam?.fields ?? ctx.config.fields.object('ipam');
  if (!ipam) throw new CniError(ErrorCode.InvalidConfig, 'invalid network config: "ipam" is required');
  // The reference prepends: runtimeConfig.ipRanges, then the legacy range, then "ranges".
  // Each set keeps the config path it came from, so a message names the key the user wrote.
  const inputs: RangeInput[][] = [];
  const setPaths: string[] = [];
  const rangePaths: Array<(index: number) => string> = [];
  (ctx.config.runtimeConfig.ipRanges ?? []).forEach((set, i) => {
    const where = `runtimeConfig.ipRanges[${i}]`;
    inputs.push(set.map((r, j) => rangeInput(new Fields(r, `${where}[${j}].`))));
    setPaths.push(where);
    rangePaths.push((j) => `${where}[${j}]`);
  });
  const legacy = rangeInput(ipam);
  if (legacy.subnet) {
    inputs.push([legacy]);
    setPaths.push(`${ipam.path}subnet`);
    // The legacy range's keys sit on the ipam object itself ("ipam.subnet", "ipam.gateway").
    rangePaths.push(() => ipam.path.replace(/\.$/, ''));
  }
  rangeSetsFrom(ipam.array('ranges') ?? [], 'ranges', ipam).forEach((set, i) => {
    const where = `${ipam.path}ranges[${i}]`;
    inputs.push(set);
    setPaths.push(where);
    rangePaths.push((j) => `${where}[${j}]`);
  });
  if (inputs.length === 0) ipam.invalid('ranges', 'is required (or the legacy "subnet")');
  const rangeSets = inputs.map((set, i) => canonicalizeRangeSet(set, setPaths[i]!, rangePaths[i]));
  rangeSets.forEach((set, i) => {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(set, rangeSets[j]!)) {
        throw new CniError(
          ErrorCode.InvalidConfig,
          `invalid network config: "${setPaths[j]}" overlaps range set ${i} (${setPaths[i]})`,
        );
      }
    }
  });
  // 0.1.0/0.2.0 results hold one address per family; a second one would be reserved but never
  // reported (and so never released by the runtime). The reference refuses such configs.
  const perFamily = { 4: 0, 6: 0 };
  for (const set of rangeSets) perFamily[rangeSetFamily(set)]++;
  if ((perFamily[4] > 1 || perFamily[6] > 1) && !versionAtLeast(ctx.config.cniVersion, '0.3.0')) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `CNI version ${ctx.config.cniVersion} does not support more than 1 address per family`,
      'use cniVersion 0.3.0 or later, or one range set per family',
    );
  }
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
