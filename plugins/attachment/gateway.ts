/**
 * Gateway and route decisions shared by the attachment plugins (bridge, nat, sdnbridge):
 * which gateway each address uses, which addresses the host holds on the switch, and which
 * default routes isDefaultGateway adds. Same rules as the reference bridge plugin.
 */
import {
  addToIp,
  defaultRouteCidr,
  formatIp,
  networkCidr,
  networkOf,
  parseCidr,
  parseIp,
} from '../../platform/cidr.ts';
import type { IpFamily } from '../../platform/types.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { ResultIp, ResultRoute } from '../sdk/result.ts';

export function familyOfCidr(cidr: string): IpFamily {
  return parseCidr(cidr)?.address.family ?? 4;
}

/** The first address of the subnet, the reference's calcGatewayIP. */
export function defaultGateway(cidr: string): string {
  const prefix = parseCidr(cidr);
  if (!prefix) throw new CniError(ErrorCode.InvalidConfig, `IPAM returned an invalid address "${cidr}"`);
  return formatIp(addToIp(networkOf(prefix), 1n));
}

/** Fill in missing gateways (gateway mode) and return the IPs unchanged otherwise. */
export function withGateways(ips: ResultIp[], isGateway: boolean): ResultIp[] {
  return ips.map((ip) => (ip.gateway || !isGateway ? ip : { ...ip, gateway: defaultGateway(ip.address) }));
}

/** The host's addresses on the switch in gateway mode: each distinct gateway, with its subnet's prefix. */
export function hostGatewayAddresses(ips: ResultIp[]): string[] {
  const addresses = new Set<string>();
  for (const ip of ips) {
    if (!ip.gateway) continue;
    const prefix = parseCidr(ip.address)!;
    addresses.add(`${formatIp(parseIp(ip.gateway)!)}/${prefix.prefixLength}`);
  }
  return [...addresses];
}

/**
 * Default routes through each family's gateway (isDefaultGateway). Refuses, as the reference
 * does, when the IPAM already routes the default elsewhere.
 */
export function defaultRoutes(ips: ResultIp[], existing: ResultRoute[]): ResultRoute[] {
  const added: ResultRoute[] = [];
  const seen = new Set<IpFamily>();
  for (const ip of ips) {
    const family = familyOfCidr(ip.address);
    if (!ip.gateway || seen.has(family)) continue;
    seen.add(family);
    const dst = defaultRouteCidr(family);
    const clash = existing.find((r) => networkCidr(parseCidr(r.dst)!) === dst);
    if (clash) {
      if (clash.gw && parseIp(clash.gw)?.value !== parseIp(ip.gateway)?.value) {
        throw new CniError(
          ErrorCode.InvalidConfig,
          `isDefaultGateway ineffective because IPAM sets default route via ${clash.gw}`,
        );
      }
      continue;
    }
    added.push({ dst, gw: ip.gateway });
  }
  return added;
}

/** Subnets of the addresses, as network CIDRs, without duplicates. */
export function subnetsOf(ips: ResultIp[]): string[] {
  return [...new Set(ips.map((ip) => networkCidr(parseCidr(ip.address)!)))];
}
