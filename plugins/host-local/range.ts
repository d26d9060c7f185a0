/**
 * host-local address ranges: validation and defaults exactly as the reference allocator
 * (containernetworking/plugins plugins/ipam/host-local/backend/allocator/range.go) applies
 * them (the reference refuses rangeEnd before rangeStart as "not in network"; we say which),
 * plus one check it skips: a gateway outside the subnet, which no container could reach.
 * Pure address math on platform/cidr.ts values; no I/O.
 */
import {
  addToIp,
  compareIp,
  containsIp,
  familyBits,
  formatCidr,
  formatIp,
  type IpAddress,
  type IpPrefix,
  ipEquals,
  lastOf,
  networkOf,
  parseCidr,
  parseIp,
} from '../../platform/cidr.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';

export interface RangeInput {
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface Range {
  subnet: IpPrefix;
  rangeStart: IpAddress;
  rangeEnd: IpAddress;
  gateway: IpAddress;
}

export type RangeSet = Range[];

function invalid(where: string, problem: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid network config: "${where}" ${problem}`);
}

function parseAddress(value: string | undefined, where: string): IpAddress | undefined {
  if (value === undefined || value === '') return undefined;
  const ip = parseIp(value);
  if (!ip) throw invalid(where, `must be an IP address, not "${value}"`);
  return ip;
}

export function rangeText(range: Range): string {
  return `${formatIp(range.rangeStart)}-${formatIp(range.rangeEnd)}`;
}

export function rangeSetText(set: RangeSet): string {
  return set.map(rangeText).join(',');
}

/** Validate one range and fill in the reference's defaults. `where` is its config path. */
export function canonicalizeRange(input: RangeInput, where: string): Range {
  if (!input.subnet) throw invalid(`${where}.subnet`, 'is required');
  const subnet = parseCidr(input.subnet);
  if (!subnet) throw invalid(`${where}.subnet`, `must be a network in CIDR notation, not "${input.subnet}"`);
  const bits = familyBits(subnet.address.family);
  if (subnet.prefixLength > bits - 2) {
    throw invalid(`${where}.subnet`, `${input.subnet} is too small to allocate from (at most /${bits - 2})`);
  }
  const network = networkOf(subnet);
  if (!ipEquals(network, subnet.address)) {
    throw invalid(
      `${where}.subnet`,
      `${input.subnet} has host bits set; for a /${subnet.prefixLength} the network address is ${formatIp(network)}`,
    );
  }
  const inSubnet = (ip: IpAddress, key: string): IpAddress => {
    if (!containsIp(subnet, ip))
      throw invalid(`${where}.${key}`, `${formatIp(ip)} is not in network ${input.subnet}`);
    return ip;
  };
  const gatewayInput = parseAddress(input.gateway, `${where}.gateway`);
  const gateway = gatewayInput ? inSubnet(gatewayInput, 'gateway') : addToIp(network, 1n);
  const startInput = parseAddress(input.rangeStart, `${where}.rangeStart`);
  const rangeStart = startInput ? inSubnet(startInput, 'rangeStart') : addToIp(network, 1n);
  const endInput = parseAddress(input.rangeEnd, `${where}.rangeEnd`);
  // The reference's lastIP: the broadcast address minus one for IPv4, the last address for IPv6.
  const last = lastOf(subnet);
  const rangeEnd = endInput
    ? inSubnet(endInput, 'rangeEnd')
    : subnet.address.family === 4
      ? addToIp(last, -1n)
      : last;
  if (compareIp(rangeStart, rangeEnd) > 0) {
    throw invalid(`${where}.rangeStart`, `${formatIp(rangeStart)} is after rangeEnd ${formatIp(rangeEnd)}`);
  }
  return { subnet: { address: network, prefixLength: subnet.prefixLength }, rangeStart, rangeEnd, gateway };
}

export function rangeContains(range: Range, ip: IpAddress): boolean {
  return (
    ip.family === range.rangeStart.family &&
    compareIp(ip, range.rangeStart) >= 0 &&
    compareIp(ip, range.rangeEnd) <= 0
  );
}

export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return compareIp(a.rangeStart, b.rangeEnd) <= 0 && compareIp(b.rangeStart, a.rangeEnd) <= 0;
}

/**
 * Validate a range set: one family, no overlaps (range_set.go's Canonicalize). `rangeWhere`
 * gives each range's config path for messages (the legacy single range lives at "ipam").
 */
export function canonicalizeRangeSet(
  inputs: RangeInput[],
  where: string,
  rangeWhere: (index: number) => string = (i) => `${where}[${i}]`,
): RangeSet {
  if (inputs.length === 0) throw invalid(where, 'is an empty range set');
  const set = inputs.map((input, i) => canonicalizeRange(input, rangeWhere(i)));
  const family = set[0]!.subnet.address.family;
  set.forEach((range, i) => {
    if (range.subnet.address.family !== family) {
      throw invalid(rangeWhere(i), 'mixes IPv4 and IPv6 in one range set; use one range set per family');
    }
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(range, set[j]!)) {
        throw invalid(
          rangeWhere(j),
          `overlaps ${rangeWhere(i)} (${rangeText(range)} and ${rangeText(set[j]!)})`,
        );
      }
    }
  });
  return set;
}

export function rangeSetFamily(set: RangeSet): 4 | 6 {
  return set[0]!.subnet.address.family;
}

export function rangeFor(set: RangeSet, ip: IpAddress): Range | undefined {
  return set.find((range) => rangeContains(range, ip));
}

/** How many addresses the set can hand out: every address of its ranges but the gateways. */
export function usableCount(set: RangeSet): bigint {
  let count = 0n;
  for (const range of set) {
    count += range.rangeEnd.value - range.rangeStart.value + 1n;
    if (rangeContains(range, range.gateway)) count -= 1n;
  }
  return count;
}

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((ra) => b.some((rb) => rangesOverlap(ra, rb)));
}

export function subnetCidr(range: Range, ip: IpAddress): string {
  return formatCidr({ address: ip, prefixLength: range.subnet.prefixLength });
}
