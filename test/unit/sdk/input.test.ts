// Decoding untrusted bytes into one JSON object with limits (size, UTF-8, depth, object-ness).
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { decodeJsonObject } from '../../../plugins/sdk/input.ts';
import { MAX_INPUT_BYTES, MAX_INPUT_BYTES_PLUS_ONE, MAX_JSON_DEPTH } from '../../../plugins/sdk/limits.ts';

const decode = (text: string | Uint8Array) =>
  decodeJsonObject(typeof text === 'string' ? Buffer.from(text) : text, 'network configuration');

function failure(input: string | Uint8Array): CniError {
  try {
    decode(input);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(6);
    expect((e as CniError).msg).toContain('network configuration');
    return e as CniError;
  }
  throw new Error('expected a decoding failure');
}

describe('decodeJsonObject', () => {
  it('limits are 1 MiB and 64 levels', () => {
    expect(MAX_INPUT_BYTES).toBe(1_048_576);
    expect(MAX_INPUT_BYTES_PLUS_ONE).toBe(MAX_INPUT_BYTES + 1);
    expect(MAX_JSON_DEPTH).toBe(64);
  });

  it('decodes an object, with surrounding white space and multi-byte text', () => {
    expect(decode(' \n{"name":"réseau","n":[1,{"a":null}]}\n')).toEqual({
      name: 'réseau',
      n: [1, { a: null }],
    });
  });

  it('accepts exactly the size limit and refuses one byte more', () => {
    const at = (size: number) => `{"p":"${'x'.repeat(size - 8)}"}`;
    expect(Buffer.byteLength(at(MAX_INPUT_BYTES))).toBe(MAX_INPUT_BYTES);
    expect(decode(at(MAX_INPUT_BYTES)).p).toHaveLength(MAX_INPUT_BYTES - 8);
    expect(failure(at(MAX_INPUT_BYTES_PLUS_ONE)).msg).toContain(`${MAX_INPUT_BYTES_PLUS_ONE} bytes`);
  });

  it('counts bytes, not characters', () => {
    const text = `{"p":"${'é'.repeat(MAX_INPUT_BYTES / 2)}"}`;
    expect(text.length).toBeLessThan(MAX_INPUT_BYTES);
    failure(text);
  });

  it('accepts exactly the depth limit and refuses one level more', () => {
    const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
    expect(() => decode(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(failure(nested(MAX_JSON_DEPTH + 1)).msg).toContain(`${MAX_JSON_DEPTH} levels`);
  });

  it('ignores brackets and escaped quotes inside strings when measuring depth', () => {
    expect(decode(`{"s":"${'[{'.repeat(500)}\\"${'[{'.repeat(500)}"}`).s).toHaveLength(2001);
  });

  it.each([
    ['empty', '', 'empty'],
    ['white space', ' \r\n', 'empty'],
    ['bad JSON', '{"a":', 'not valid JSON'],
    ['a trailing comma', '{"a":1,}', 'not valid JSON'],
    ['two documents', '{}{}', 'not valid JSON'],
    ['an array', '[{}]', 'not an array'],
    ['null', 'null', 'not null'],
    ['a string', '"x"', 'not a string'],
    ['a number', '1', 'not a number'],
    ['a boolean', 'true', 'not a boolean'],
  ])('refuses %s', (_what, text, message) => {
    expect(failure(text).msg).toContain(message);
  });

  it.each([
    ['an invalid byte', [0x7b, 0xff, 0x7d]],
    ['a truncated sequence', [0x7b, 0x22, 0xc3, 0x22, 0x7d]],
    ['an encoded surrogate', [0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]],
    ['an overlong encoding', [0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x7d]],
  ])('refuses non-UTF-8 input: %s', (_what, raw) => {
    expect(failure(Uint8Array.from(raw)).msg).toContain('UTF-8');
  });
});
