// Typed reading of config objects: each getter checks one key and fails with code 7 naming the
// key's full path.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { Fields } from '../../../plugins/sdk/fields.ts';

function failure(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(7);
    return e as CniError;
  }
  throw new Error('expected a code 7 error');
}

const f = new Fields({
  s: 'text',
  empty: '',
  n: 1500,
  frac: 1.5,
  b: false,
  nul: null,
  ip: '10.1.0.1',
  ip6: 'fd00::1',
  cidr: '10.1.0.0/16',
  obj: { inner: { mtu: 'big' }, list: [{ port: 1 }, 'x'] },
  arr: ['a', 'b'],
  mixed: ['a', 2],
});

describe('Fields getters', () => {
  it('return values of the right type, and undefined or the fallback when absent or null', () => {
    expect(f.string('s')).toBe('text');
    expect(f.string('missing')).toBeUndefined();
    expect(f.string('nul')).toBeUndefined();
    expect(f.requiredString('s')).toBe('text');
    expect(f.bool('b', true)).toBe(false);
    expect(f.bool('missing', true)).toBe(true);
    expect(f.bool('nul', true)).toBe(true);
    expect(f.int('n', 68, 65535)).toBe(1500);
    expect(f.int('missing', 0, 1)).toBeUndefined();
    expect(f.ip('ip')).toBe('10.1.0.1');
    expect(f.ip('ip6')).toBe('fd00::1');
    expect(f.ip('empty')).toBeUndefined();
    expect(f.cidr('cidr')).toBe('10.1.0.0/16');
    expect(f.stringArray('arr')).toEqual(['a', 'b']);
    expect(f.array('mixed')).toEqual(['a', 2]);
    expect(f.object('obj')?.path).toBe('obj.');
    expect(f.has('s')).toBe(true);
    expect(f.has('nul')).toBe(false);
    expect(f.has('missing')).toBe(false);
  });

  it.each([
    ['string of a number', () => f.string('n'), '"n" must be a string, not number 1500'],
    ['requiredString of ""', () => f.requiredString('empty'), '"empty" is required'],
    ['requiredString of a missing key', () => f.requiredString('missing'), '"missing" is required'],
    ['bool of a string', () => f.bool('s', false), '"s" must be true or false, not "text"'],
    ['int of a fraction', () => f.int('frac', 0, 10), '"frac" must be an integer, not number 1.5'],
    ['int of a string', () => f.int('s', 0, 10), '"s" must be an integer, not "text"'],
    ['int out of range', () => f.int('n', 68, 1400), '"n" must be between 68 and 1400, not 1500'],
    ['ip of a CIDR', () => f.ip('cidr'), '"cidr" must be an IP address, not "10.1.0.0/16"'],
    ['cidr of an address', () => f.cidr('ip'), '"ip" must be an address in CIDR notation'],
    ['object of an array', () => f.object('arr'), '"arr" must be an object, not an array'],
    ['array of an object', () => f.array('obj'), '"obj" must be an array, not an object'],
    ['stringArray with a number', () => f.stringArray('mixed'), '"mixed[1]" must be a string, not number 2'],
    [
      'nested int',
      () => f.object('obj')?.object('inner')?.int('mtu', 68, 65535),
      '"obj.inner.mtu" must be an integer',
    ],
    [
      'objectArray item',
      () => f.object('obj')?.objectArray('list'),
      '"obj.list[1]" must be an object, not "x"',
    ],
    [
      'invalid',
      () => f.object('obj')?.invalid('inner', 'conflicts with "mtu"'),
      '"obj.inner" conflicts with "mtu"',
    ],
  ])('%s fails with code 7 naming the key', (_what, fn, message) => {
    const error = failure(fn);
    expect(error.msg).toContain('invalid network config: ');
    expect(error.msg).toContain(message);
  });

  it('objectArray gives each item its own path', () => {
    const items = new Fields({ list: [{ port: 'x' }] }, 'ipam.').objectArray('list')!;
    expect(failure(() => items[0]!.int('port', 1, 2)).msg).toContain('"ipam.list[0].port"');
  });

  it('shortens long string values in messages', () => {
    const error = failure(() => new Fields({ k: 'x'.repeat(500) }).int('k', 0, 1));
    expect(error.msg.length).toBeLessThan(120);
  });
});
