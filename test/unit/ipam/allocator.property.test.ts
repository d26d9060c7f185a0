// Property-based tests of host-local allocation: for random small range sets and random
// sequences of allocate / release / request, checked against a model of which addresses are
// free. Runs over the in-memory store and, with fewer runs, over the real DiskStore.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { addToIp, formatIp, type IpAddress, ipEquals } from '../../../platform/cidr.ts';
import type { AttachmentId } from '../../../platform/contract.ts';
import { allocate, type ReservationStore } from '../../../plugins/host-local/allocator.ts';
import {
  canonicalizeRangeSet,
  type RangeInput,
  type RangeSet,
  rangeContains,
} from '../../../plugins/host-local/range.ts';
import { DiskStore } from '../../../plugins/host-local/store.ts';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { MemoryStore, owner, TempDirs } from './ipam-fixture.ts';

/** One range: offsets inside its own block of 64 addresses (the block is the subnet). */
interface RangeShape {
  start: number;
  length: number;
  /** Offset of the gateway inside the block; undefined = the default (network + 1). */
  gateway: number | undefined;
}

interface SetShape {
  family: 4 | 6;
  ranges: RangeShape[];
}

const rangeShape: fc.Arbitrary<RangeShape> = fc
  .record({
    start: fc.integer({ min: 1, max: 60 }),
    length: fc.integer({ min: 1, max: 8 }),
    gateway: fc.option(fc.integer({ min: 1, max: 62 }), { nil: undefined }),
  })
  .map((r) => ({ ...r, length: Math.min(r.length, 63 - r.start) }));

const setShape: fc.Arbitrary<SetShape> = fc.record({
  family: fc.constantFrom(4 as const, 6 as const),
  ranges: fc.array(rangeShape, { minLength: 1, maxLength: 3 }),
});

function blockBase(family: 4 | 6, index: number): IpAddress {
  return family === 4
    ? { family, value: 0x0a400000n + BigInt(index * 64) }
    : { family, value: 0xfd000000000000000000000000000000n + BigInt(index * 64) };
}

function buildSet(shape: SetShape): RangeSet {
  const inputs: RangeInput[] = shape.ranges.map((r, i) => {
    const base = blockBase(shape.family, i);
    const input: RangeInput = {
      subnet: `${formatIp(base)}/${shape.family === 4 ? 26 : 122}`,
      rangeStart: formatIp(addToIp(base, BigInt(r.start))),
      rangeEnd: formatIp(addToIp(base, BigInt(r.start + r.length - 1))),
    };
    if (r.gateway !== undefined) input.gateway = formatIp(addToIp(base, BigInt(r.gateway)));
    return input;
  });
  return canonicalizeRangeSet(inputs, 'ranges[0]');
}

/** Every address allocation may hand out: the ranges' addresses without their gateways. */
function usable(set: RangeSet): string[] {
  const out: string[] = [];
  for (const range of set) {
    for (let v = range.rangeStart.value; v <= range.rangeEnd.value; v++) {
      const candidate = { family: range.rangeStart.family, value: v };
      if (!ipEquals(candidate, range.gateway)) out.push(formatIp(candidate));
    }
  }
  return out;
}

type Op =
  | { kind: 'allocate' }
  | { kind: 'release'; pick: number }
  | { kind: 'request'; range: number; delta: number; gateway: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      range: fc.nat({ max: 3 }),
      // Relative to the range's start: a little before it, inside it, a little past its end.
      delta: fc.integer({ min: -2, max: 10 }),
      gateway: fc.boolean(),
    }),
  },
);

/** What a test needs of a store beyond ReservationStore: releasing and listing. */
interface StoreUnderTest extends ReservationStore {
  releaseOwner(owner: AttachmentId, ip: IpAddress): void;
  heldAddresses(): string[];
}

function memoryStore(): StoreUnderTest {
  const store = new MemoryStore();
  return Object.assign(store, {
    releaseOwner: (_owner: AttachmentId, ip: IpAddress) => store.release(ip),
    heldAddresses: () => [...store.held.keys()],
  });
}

function diskStore(dataDir: string): StoreUnderTest {
  const store = new DiskStore(dataDir, 'propnet');
  store.ensureDirectory();
  return Object.assign(store, {
    releaseOwner: (o: AttachmentId) => void store.release(o),
    heldAddresses: () => store.all().map((a) => formatIp(a.ip)),
  });
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return e.code;
  }
}

/** Run `ops` against `store`, checking every step against the model. */
function checkSequence(shape: SetShape, ops: Op[], store: StoreUnderTest): void {
  const set = buildSet(shape);
  const all = usable(set);
  const held = new Map<string, { owner: AttachmentId; ip: IpAddress }>();
  let serial = 0;
  for (const step of ops) {
    if (step.kind === 'allocate') {
      const me = owner(`c${serial++}`);
      const free = all.filter((a) => !held.has(a));
      let got: IpAddress | undefined;
      let error: unknown;
      try {
        got = allocate(store, set, 0, me).ip;
      } catch (e) {
        error = e;
      }
      if (free.length === 0) {
        // Exhaustion only when every non-gateway address is held.
        expect(error).toBeInstanceOf(CniError);
        expect((error as CniError).code).toBe(5);
        expect((error as CniError).msg).toMatch(/full/);
      } else {
        expect(error, `allocation failed with ${free.length} free: ${String(error)}`).toBeUndefined();
        const text = formatIp(got!);
        expect(held.has(text), `${text} handed out twice`).toBe(false);
        expect(free).toContain(text);
        const range = set.find((r) => rangeContains(r, got!));
        expect(range, `${text} outside the set`).toBeDefined();
        expect(ipEquals(got!, range!.gateway), `${text} is the gateway`).toBe(false);
        held.set(text, { owner: me, ip: got! });
      }
    } else if (step.kind === 'release') {
      const entries = [...held.entries()];
      if (entries.length === 0) continue;
      const [text, entry] = entries[step.pick % entries.length]!;
      store.releaseOwner(entry.owner, entry.ip);
      held.delete(text);
      // A released address becomes reusable at once: asking for it by name succeeds.
      const again = owner(`r${serial++}`);
      expect(formatIp(allocate(store, set, 0, again, entry.ip).ip)).toBe(text);
      held.set(text, { owner: again, ip: entry.ip });
    } else {
      const target = set[step.range % set.length]!;
      const wanted = step.gateway ? target.gateway : addToIp(target.rangeStart, BigInt(step.delta));
      const text = formatIp(wanted);
      const me = owner(`q${serial++}`);
      const code = codeOf(() => allocate(store, set, 0, me, wanted));
      const range = set.find((r) => rangeContains(r, wanted));
      if (!range) expect(code).toBe(7);
      else if (ipEquals(wanted, range.gateway)) expect(code).toBe(7);
      else if (held.has(text)) expect(code).toBe(5);
      else {
        expect(code).toBeUndefined();
        held.set(text, { owner: me, ip: wanted });
      }
    }
    expect(new Set(store.heldAddresses())).toEqual(new Set(held.keys()));
  }
}

describe('host-local allocation properties', () => {
  const dirs = new TempDirs();
  afterEach(() => dirs.cleanup());

  it('over memory: no double hand-out, never outside the set or the gateway, full only when full', () => {
    fc.assert(
      fc.property(setShape, fc.array(op, { minLength: 1, maxLength: 60 }), (shape, ops) => {
        checkSequence(shape, ops, memoryStore());
      }),
      { numRuns: 300 },
    );
  });

  it('over the disk store: the same, with the files as the truth', () => {
    fc.assert(
      fc.property(setShape, fc.array(op, { minLength: 1, maxLength: 30 }), (shape, ops) => {
        checkSequence(shape, ops, diskStore(dirs.make()));
      }),
      { numRuns: 40 },
    );
  });

  it('after filling a set and releasing some, the next allocations return exactly the released ones', () => {
    fc.assert(
      fc.property(setShape, fc.array(fc.boolean(), { maxLength: 40 }), (shape, releaseMask) => {
        const set = buildSet(shape);
        const store = new MemoryStore();
        const all = usable(set);
        for (let i = 0; i < all.length; i++) allocate(store, set, 0, owner(`fill${i}`));
        expect(codeOf(() => allocate(store, set, 0, owner('over')))).toBe(5);
        const released = all.filter((_, i) => releaseMask[i % Math.max(releaseMask.length, 1)] === true);
        for (const text of released) store.release(addressOf(set, text));
        const again = released.map((_, i) => formatIp(allocate(store, set, 0, owner(`again${i}`)).ip));
        expect(new Set(again)).toEqual(new Set(released));
        expect(codeOf(() => allocate(store, set, 0, owner('over2')))).toBe(5);
      }),
      { numRuns: 200 },
    );
  });
});

function addressOf(set: RangeSet, text: string): IpAddress {
  for (const range of set) {
    for (let v = range.rangeStart.value; v <= range.rangeEnd.value; v++) {
      const candidate = { family: range.rangeStart.family, value: v };
      if (formatIp(candidate) === text) return candidate;
    }
  }
  throw new Error(`test bug: ${text} not in set`);
}
