// Allocation order of host-local over an in-memory store: where a fresh network starts, round
// robin after the last reservation, wrap-around across the ranges of a set, exhaustion, and
// requested addresses. The order is the reference allocator's (allocator.go), so a node can
// switch suites without addresses being handed out in a different sequence.
import { describe, expect, it } from 'vitest';
import { formatIp } from '../../../platform/cidr.ts';
import { allocate, candidates } from '../../../plugins/host-local/allocator.ts';
import { canonicalizeRangeSet, type RangeInput, type RangeSet } from '../../../plugins/host-local/range.ts';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { ip, MemoryStore, owner } from './ipam-fixture.ts';

function rangeSet(...ranges: RangeInput[]): RangeSet {
  return canonicalizeRangeSet(ranges, 'ranges[0]');
}

/** Allocate `count` addresses for fresh containers; returns them as text. */
function allocateMany(store: MemoryStore, set: RangeSet, count: number, prefix = 'c'): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(formatIp(allocate(store, set, 0, owner(`${prefix}${i}`)).ip));
  return out;
}

function thrown(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error('expected an error');
}

describe('candidates: the order addresses are tried in', () => {
  it('starts a fresh set at rangeStart and skips the gateway', () => {
    const set = rangeSet({ subnet: '10.0.0.0/29' });
    expect([...candidates(set, undefined)].map((c) => formatIp(c.ip))).toEqual([
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
    ]);
  });

  it('skips a gateway in the middle of the range', () => {
    const set = rangeSet({ subnet: '10.0.0.0/29', gateway: '10.0.0.4' });
    expect([...candidates(set, undefined)].map((c) => formatIp(c.ip))).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.5',
      '10.0.0.6',
    ]);
  });

  it('after a last reservation, starts just after it, wraps, and ends with it', () => {
    const set = rangeSet({ subnet: '10.0.0.0/29' });
    expect([...candidates(set, ip('10.0.0.4'))].map((c) => formatIp(c.ip))).toEqual([
      '10.0.0.5',
      '10.0.0.6',
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.4',
    ]);
  });

  it('walks every range of a set in order and wraps to the first', () => {
    const set = rangeSet(
      { subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.11' },
      { subnet: '10.0.1.0/24', rangeStart: '10.0.1.20', rangeEnd: '10.0.1.21' },
      { subnet: '10.0.2.0/24', rangeStart: '10.0.2.30', rangeEnd: '10.0.2.30' },
    );
    expect([...candidates(set, ip('10.0.1.20'))].map((c) => formatIp(c.ip))).toEqual([
      '10.0.1.21',
      '10.0.2.30',
      '10.0.0.10',
      '10.0.0.11',
      '10.0.1.20',
    ]);
  });

  it('ignores a last reservation outside the set (the ranges changed) and starts afresh', () => {
    const set = rangeSet({ subnet: '10.0.0.0/29' });
    expect(formatIp([...candidates(set, ip('10.9.9.9'))][0]!.ip)).toBe('10.0.0.2');
    expect(formatIp([...candidates(set, ip('fd00::1'))][0]!.ip)).toBe('10.0.0.2');
  });

  it('yields nothing, and ends, for a range holding only the gateway', () => {
    const set = rangeSet({ subnet: '10.0.0.0/30', rangeStart: '10.0.0.1', rangeEnd: '10.0.0.1' });
    expect([...candidates(set, undefined)]).toEqual([]);
    expect([...candidates(set, ip('10.0.0.1'))]).toEqual([]);
  });

  it('reports the range each candidate belongs to (for its prefix length and gateway)', () => {
    const set = rangeSet({ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30', gateway: '10.0.1.2' });
    expect(
      [...candidates(set, undefined)].map((c) => `${formatIp(c.ip)} gw ${formatIp(c.range.gateway)}`),
    ).toEqual(['10.0.0.2 gw 10.0.0.1', '10.0.1.1 gw 10.0.1.2']);
  });
});

describe('allocate over a store', () => {
  it('hands out rangeStart first (skipping the gateway), then round robin after the last', () => {
    const store = new MemoryStore();
    const set = rangeSet({ subnet: '10.0.0.0/28' });
    expect(allocateMany(store, set, 3)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    // Releasing an earlier address does not make it next: allocation continues after the last.
    store.release(ip('10.0.0.2'));
    expect(formatIp(allocate(store, set, 0, owner('next')).ip)).toBe('10.0.0.5');
  });

  it('round robin wraps around to the start of the set once the end is reached', () => {
    const store = new MemoryStore();
    const set = rangeSet({ subnet: '10.0.0.0/29' });
    expect(allocateMany(store, set, 5)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    store.release(ip('10.0.0.3'));
    store.release(ip('10.0.0.5'));
    expect(allocateMany(store, set, 2, 'again')).toEqual(['10.0.0.3', '10.0.0.5']);
  });

  it('wraps across several ranges of a set', () => {
    const store = new MemoryStore();
    const set = rangeSet(
      { subnet: '10.0.0.0/24', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.101' },
      { subnet: '192.168.5.0/24', rangeStart: '192.168.5.1', rangeEnd: '192.168.5.3' },
    );
    // 192.168.5.1 is that range's gateway (network + 1) and is skipped.
    expect(allocateMany(store, set, 4)).toEqual(['10.0.0.100', '10.0.0.101', '192.168.5.2', '192.168.5.3']);
    store.release(ip('10.0.0.100'));
    expect(formatIp(allocate(store, set, 0, owner('wrap')).ip)).toBe('10.0.0.100');
  });

  it('keeps a separate round robin position per range set', () => {
    const store = new MemoryStore();
    const v4 = rangeSet({ subnet: '10.0.0.0/28' });
    const v6 = canonicalizeRangeSet([{ subnet: 'fd00::/124' }], 'ranges[1]');
    allocate(store, v4, 0, owner('a'));
    allocate(store, v4, 0, owner('b'));
    expect(formatIp(allocate(store, v6, 1, owner('a')).ip)).toBe('fd00::2');
    expect(formatIp(store.lastReserved(0)!)).toBe('10.0.0.3');
    expect(formatIp(store.lastReserved(1)!)).toBe('fd00::2');
  });

  it('returns the range the address came from', () => {
    const store = new MemoryStore();
    const set = rangeSet({ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/24', gateway: '10.0.1.254' });
    allocate(store, set, 0, owner('a'));
    const second = allocate(store, set, 0, owner('b'));
    expect(formatIp(second.ip)).toBe('10.0.1.1');
    expect(formatIp(second.range.gateway)).toBe('10.0.1.254');
    expect(second.range.subnet.prefixLength).toBe(24);
  });

  it('when every address is held, fails naming the range set and saying it is full', () => {
    const store = new MemoryStore();
    const set = rangeSet(
      { subnet: '10.0.0.0/29', rangeStart: '10.0.0.2', rangeEnd: '10.0.0.3' },
      { subnet: '10.0.1.0/29', rangeStart: '10.0.1.5', rangeEnd: '10.0.1.5' },
    );
    expect(allocateMany(store, set, 3)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.1.5']);
    const error = thrown(() => allocate(store, set, 0, owner('late')));
    expect(error.code).toBe(5);
    expect(error.msg).toContain('10.0.0.2-10.0.0.3,10.0.1.5-10.0.1.5');
    expect(error.msg).toMatch(/full/);
    expect(store.held.size).toBe(3);
  });

  it('a set whose only address is the gateway is full from the start', () => {
    const set = rangeSet({ subnet: '10.0.0.0/30', rangeStart: '10.0.0.1', rangeEnd: '10.0.0.1' });
    expect(thrown(() => allocate(new MemoryStore(), set, 0, owner('a'))).msg).toMatch(
      /10\.0\.0\.1-10\.0\.0\.1.*full/,
    );
  });
});

describe('allocate: requested addresses', () => {
  const set = rangeSet(
    { subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' },
    { subnet: '10.0.5.0/24' },
  );

  it('takes a requested address inside a range, whatever the round robin position', () => {
    const store = new MemoryStore();
    const got = allocate(store, set, 0, owner('a'), ip('10.0.5.77'));
    expect(formatIp(got.ip)).toBe('10.0.5.77');
    expect(formatIp(got.range.gateway)).toBe('10.0.5.1');
    expect(store.held.get('10.0.5.77')).toEqual(owner('a'));
    // The next unrequested allocation continues after it (it is the last reserved).
    expect(formatIp(allocate(store, set, 0, owner('b')).ip)).toBe('10.0.5.78');
  });

  it('refuses the gateway (code 7)', () => {
    const error = thrown(() => allocate(new MemoryStore(), set, 0, owner('a'), ip('10.0.5.1')));
    expect(error.code).toBe(7);
    expect(error.msg).toContain('10.0.5.1');
    expect(error.msg).toMatch(/gateway/);
  });

  it('refuses an address another container holds (code 5), leaving it to its holder', () => {
    const store = new MemoryStore();
    allocate(store, set, 0, owner('first'), ip('10.0.0.15'));
    const error = thrown(() => allocate(store, set, 0, owner('second'), ip('10.0.0.15')));
    expect(error.code).toBe(5);
    expect(error.msg).toMatch(/10\.0\.0\.15 is not available/);
    expect(store.held.get('10.0.0.15')).toEqual(owner('first'));
  });

  it('refuses an address outside every range of the set (code 7), even inside the subnet', () => {
    for (const outside of ['10.0.0.9', '10.0.0.21', '10.0.6.1', 'fd00::5']) {
      const error = thrown(() => allocate(new MemoryStore(), set, 0, owner('a'), ip(outside)));
      expect(error.code).toBe(7);
      expect(error.msg).toContain(outside);
      expect(error.msg).toMatch(/not in range set/);
    }
  });
});
