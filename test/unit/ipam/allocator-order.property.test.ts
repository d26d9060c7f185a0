// The order host-local tries addresses in, against a model written from the reference's
// RangeIter (allocator.go: GetIter and Next, including the gateway skip by recursion and the
// stop on returning to the first address tried), for random range sets, gateways (inside a
// range, outside it, at its edges) and last reserved addresses (inside the set, outside it,
// absent). Equal sequences mean a node hands out addresses in the same order with either suite.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addToIp, formatIp, type IpAddress } from '../../../platform/cidr.ts';
import { candidates } from '../../../plugins/host-local/allocator.ts';
import { canonicalizeRangeSet, type RangeInput, type RangeSet } from '../../../plugins/host-local/range.ts';

interface Span {
  start: number;
  end: number;
  gateway: number;
}

/** allocator.go's RangeIter over plain numbers: the model. */
function referenceOrder(spans: Span[], last: number | undefined): number[] {
  const contains = (s: Span, v: number) => v >= s.start && v <= s.end;
  let rangeIdx = 0;
  let cur: number | undefined;
  let startIP: number | undefined;
  const lastRange = last === undefined ? -1 : spans.findIndex((s) => contains(s, last));
  if (lastRange >= 0) {
    rangeIdx = lastRange;
    cur = last;
  } else {
    startIP = spans[0]!.start;
  }
  const next = (): number | undefined => {
    let r = spans[rangeIdx]!;
    if (cur === undefined) {
      cur = r.start;
      startIP = cur;
      if (cur === r.gateway) return next();
      return cur;
    }
    if (cur === r.end) {
      rangeIdx = (rangeIdx + 1) % spans.length;
      r = spans[rangeIdx]!;
      cur = r.start;
    } else {
      cur += 1;
    }
    if (startIP === undefined) startIP = cur;
    else if (cur === startIP) return undefined;
    if (cur === r.gateway) return next();
    return cur;
  };
  const out: number[] = [];
  for (let v = next(); v !== undefined; v = next()) out.push(v);
  return out;
}

/** Ranges in consecutive blocks of 64 addresses; offsets relative to the first block. */
const spans: fc.Arbitrary<Span[]> = fc
  .array(
    fc.record({
      start: fc.integer({ min: 0, max: 63 }),
      length: fc.integer({ min: 1, max: 10 }),
      gateway: fc.integer({ min: 1, max: 62 }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((list) =>
    list.map((r, i) => {
      const start = i * 64 + r.start;
      return { start, end: Math.min(start + r.length - 1, i * 64 + 63), gateway: i * 64 + r.gateway };
    }),
  );

function rangeSetOf(family: 4 | 6, list: Span[]): { set: RangeSet; at: (offset: number) => IpAddress } {
  const base: IpAddress =
    family === 4 ? { family, value: 0x0a500000n } : { family, value: 0xfd000000000000000000000000500000n };
  const at = (offset: number) => addToIp(base, BigInt(offset));
  const inputs: RangeInput[] = list.map((s, i) => ({
    subnet: `${formatIp(at(i * 64))}/${family === 4 ? 26 : 122}`,
    rangeStart: formatIp(at(s.start)),
    rangeEnd: formatIp(at(s.end)),
    gateway: formatIp(at(s.gateway)),
  }));
  return { set: canonicalizeRangeSet(inputs, 'ranges[0]'), at };
}

describe('allocation order equals the reference iterator', () => {
  it('for random range sets, gateways and last reserved addresses', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 6 as const),
        spans,
        fc.option(fc.integer({ min: 0, max: 4 * 64 }), { nil: undefined }),
        (family, list, last) => {
          const { set, at } = rangeSetOf(family, list);
          const ours = [...candidates(set, last === undefined ? undefined : at(last))].map((c) =>
            formatIp(c.ip),
          );
          expect(ours).toEqual(referenceOrder(list, last).map((offset) => formatIp(at(offset))));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
