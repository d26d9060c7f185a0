/**
 * Address allocation over one range set, in the reference's order (allocator.go): a
 * requested address is taken as asked; otherwise the search starts just after the range
 * set's last reserved address (round robin), walks every range of the set, wraps around, and
 * skips the gateways; the first address the store lets us reserve wins. Pure over a store
 * interface, so the order is testable without a disk.
 */
import { addToIp, formatIp, type IpAddress, ipEquals } from '../../platform/cidr.ts';
import type { AttachmentId } from '../../platform/contract.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import { type Range, type RangeSet, rangeContains, rangeFor, rangeSetText } from './range.ts';

export interface ReservationStore {
  reserve(ip: IpAddress, owner: AttachmentId, rangeSetIndex: number): boolean;
  lastReserved(rangeSetIndex: number): IpAddress | undefined;
}

export interface Allocation {
  ip: IpAddress;
  range: Range;
}

/** Candidate addresses in allocation order: after `last`, through every range, wrapping once. */
export function* candidates(set: RangeSet, last: IpAddress | undefined): Generator<Allocation> {
  let rangeIndex = 0;
  let cur: IpAddress | undefined;
  const startRange = last ? set.findIndex((r) => rangeContains(r, last)) : -1;
  if (startRange >= 0) {
    rangeIndex = startRange;
    cur = last;
  }
  let start: IpAddress | undefined;
  for (;;) {
    let range = set[rangeIndex]!;
    if (cur === undefined) {
      cur = range.rangeStart;
    } else if (ipEquals(cur, range.rangeEnd)) {
      rangeIndex = (rangeIndex + 1) % set.length;
      range = set[rangeIndex]!;
      cur = range.rangeStart;
    } else {
      cur = addToIp(cur, 1n);
    }
    if (start === undefined) start = cur;
    else if (ipEquals(cur, start)) return;
    if (ipEquals(cur, range.gateway)) continue;
    yield { ip: cur, range };
  }
}

export function allocate(
  store: ReservationStore,
  set: RangeSet,
  rangeSetIndex: number,
  owner: AttachmentId,
  requested?: IpAddress,
): Allocation {
  if (requested) {
    const range = rangeFor(set, requested);
    if (!range) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        `requested IP address ${formatIp(requested)} is not in range set ${rangeSetText(set)}`,
      );
    }
    if (ipEquals(requested, range.gateway)) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        `requested IP address ${formatIp(requested)} is the subnet's gateway`,
      );
    }
    if (!store.reserve(requested, owner, rangeSetIndex)) {
      throw new CniError(
        ErrorCode.IoFailure,
        `requested IP address ${formatIp(requested)} is not available in range set ${rangeSetText(set)}`,
        'another container holds it',
      );
    }
    return { ip: requested, range };
  }
  for (const candidate of candidates(set, store.lastReserved(rangeSetIndex))) {
    if (store.reserve(candidate.ip, owner, rangeSetIndex)) return candidate;
  }
  // The reference's wording, so logs and scripts match either suite, plus the word "full".
  throw new CniError(
    ErrorCode.IoFailure,
    `no IP addresses available in range set: ${rangeSetText(set)} (the range set is full)`,
    'release addresses of removed containers (CNI GC) or widen the range',
  );
}
