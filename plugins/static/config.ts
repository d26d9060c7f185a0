/**
 * static IPAM configuration as the reference reads it (plugins/ipam/static): `ipam.addresses`
 * [{address CIDR, gateway}], `routes`, `dns`; CNI_ARGS `IP=` (CIDRs, comma separated) adds
 * addresses and `GATEWAY=` sets the gateway of the addresses that contain it; `args.cni.ips`
 * and then runtimeConfig `ips` (the "ips" capability) replace the list.
 */
import { containsIp, formatCidr, formatIp, parseCidr, parseIp } from '../../platform/cidr.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import { Fields } from '../sdk/fields.ts';
import { parseDns, type ResultDns, type ResultRoute } from '../sdk/result.ts';
import type { CommandContext } from '../sdk/skel.ts';
import { versionAtLeast } from '../sdk/version.ts';

export interface StaticAddress {
  /** CIDR with the host address, e.g. 10.10.0.5/24. */
  address: string;
  gateway?: string;
}

export interface StaticConfig {
  addresses: StaticAddress[];
  routes: ResultRoute[];
  dns?: ResultDns;
}

/** The reference prints addresses canonically ("fd10::5/64"), keeping the host bits. */
function canonicalCidr(text: string): string {
  return formatCidr(parseCidr(text)!);
}

function canonicalAddress(text: string): string {
  return formatIp(parseIp(text)!);
}

function cidrOf(text: string, source: string): string {
  const trimmed = text.trim();
  if (!parseCidr(trimmed)) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `invalid CIDR "${text}" in ${source}`,
      'expected e.g. 10.10.0.5/24',
    );
  }
  return canonicalCidr(trimmed);
}

export function parseStaticConfig(ctx: CommandContext): StaticConfig {
  const ipam = ctx.config.ipam?.fields ?? new Fields({}, 'ipam.');
  let addresses: StaticAddress[] = (ipam.objectArray('addresses') ?? []).map((a) => {
    const address = canonicalCidr(a.cidr('address') ?? a.invalid('address', 'is required'));
    const gateway = a.ip('gateway');
    return gateway ? { address, gateway: canonicalAddress(gateway) } : { address };
  });
  const fromEnv = ctx.args.get('IP');
  if (fromEnv)
    for (const item of fromEnv.split(',')) addresses.push({ address: cidrOf(item, 'CNI_ARGS IP') });
  const gateways = ctx.args.get('GATEWAY');
  if (gateways) {
    for (const item of gateways.split(',')) {
      const gw = parseIp(item.trim());
      if (!gw)
        throw new CniError(ErrorCode.InvalidConfig, `invalid gateway address "${item}" in CNI_ARGS GATEWAY`);
      for (const a of addresses) if (containsIp(parseCidr(a.address)!, gw)) a.gateway = formatIp(gw);
    }
  }
  const fromArgs = (ctx.config.args?.cni as { ips?: unknown } | undefined)?.ips;
  if (Array.isArray(fromArgs) && fromArgs.length) {
    addresses = fromArgs.map((item) => {
      if (typeof item !== 'string') {
        throw new CniError(
          ErrorCode.InvalidConfig,
          'invalid network config: "args.cni.ips" must hold strings',
        );
      }
      return { address: cidrOf(item, 'args.cni.ips') };
    });
  }
  const fromRuntime = ctx.config.runtimeConfig.ips;
  if (fromRuntime?.length)
    addresses = fromRuntime.map((item) => ({ address: cidrOf(item, 'runtimeConfig.ips') }));
  if (addresses.length === 0) {
    ipam.invalid('addresses', 'is required: static IPAM needs at least one address (or IP= in CNI_ARGS)');
  }
  const perFamily = { 4: 0, 6: 0 };
  for (const a of addresses) perFamily[parseCidr(a.address)!.address.family]++;
  if ((perFamily[4] > 1 || perFamily[6] > 1) && !versionAtLeast(ctx.config.cniVersion, '0.3.0')) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `CNI version ${ctx.config.cniVersion} does not support more than 1 address per family`,
    );
  }
  const routes = (ipam.objectArray('routes') ?? []).map((r) => {
    const route: ResultRoute = { dst: canonicalCidr(r.cidr('dst') ?? r.invalid('dst', 'is required')) };
    const gw = r.ip('gw');
    if (gw) route.gw = canonicalAddress(gw);
    // The route fields of spec 1.1.0; older results drop them when converted.
    for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const value = r.int(key, 0, 2 ** 32 - 1);
      if (value !== undefined) route[key] = value;
    }
    return route;
  });
  const config: StaticConfig = { addresses, routes };
  const dnsValue = ipam.obj.dns;
  if (dnsValue !== undefined) {
    try {
      const dns = parseDns(dnsValue, 'ipam.dns');
      if (dns) config.dns = dns;
    } catch (e) {
      throw new CniError(ErrorCode.InvalidConfig, `invalid network config: ${(e as CniError).msg}`);
    }
  }
  return config;
}
