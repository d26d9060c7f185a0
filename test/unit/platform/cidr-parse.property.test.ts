// platform/cidr.ts parses address text itself (node:net's isIPv6 regular expression costs
// 3-4.5 ms to compile on first use). Its acceptance must equal node:net's isIPv4/isIPv6 for
// every string: generated well-formed addresses in all their spellings, near misses made by
// mutating them, and hand-picked adversarial inputs. Parsed values are checked against an
// independent expansion of the text.
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, isIpv4Text, isIpv6Text, parseIp } from '../../../platform/cidr.ts';

function agrees(text: string): void {
  expect({ text, v4: isIpv4Text(text), v6: isIpv6Text(text) }).toEqual({
    text,
    v4: isIPv4(text),
    v6: isIPv6(text),
  });
  expect(parseIp(text) !== undefined).toBe(isIPv4(text) || isIPv6(text));
}

const octet = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.integer({ min: 0, max: 999 }).map(String),
  fc.constantFrom('00', '01', '010', '255', '256', '0255', ''),
);
const dottedQuad = fc.array(octet, { minLength: 3, maxLength: 5 }).map((o) => o.join('.'));
const hexGroup = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
  fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16).toUpperCase().padStart(4, '0')),
  fc.constantFrom('', '00000', 'g', 'fffff', '0', 'Ab'),
);
const zone = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^%[0-9a-zA-Z.:-]{0,5}$/),
  fc.constantFrom('%', '%eth0', '%%', '%a b', '%_', '%é', '%1%2'),
);
/** IPv6-like text: groups, "::" anywhere (or twice), an optional dotted quad, a zone. */
const ipv6Like = fc
  .tuple(
    fc.array(hexGroup, { minLength: 0, maxLength: 9 }),
    fc.integer({ min: -1, max: 9 }),
    fc.integer({ min: -1, max: 9 }),
    fc.option(dottedQuad, { nil: undefined }),
    zone,
  )
  .map(([groups, gapA, gapB, quad, z]) => {
    const parts = [...groups];
    if (quad !== undefined) parts.push(quad);
    let text = '';
    parts.forEach((p, i) => {
      text += i === gapA || i === gapB ? `::${p}` : i === 0 ? p : `:${p}`;
    });
    if (gapA >= parts.length) text += '::';
    return text + z;
  });
/** Well-formed texts mutated by one character: insert, delete or replace. */
const mutated = fc
  .tuple(
    fc.oneof(ipv6Like, dottedQuad),
    fc.nat(),
    fc.constantFrom('delete', 'insert', 'replace'),
    fc.constantFrom(':', '.', '%', '0', 'f', 'G', ' ', '\n', '::', '١'),
  )
  .map(([text, at, op, ch]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
    if (op === 'insert') return text.slice(0, i) + ch + text.slice(i);
    return text.slice(0, i) + ch + text.slice(i + 1);
  });

describe('cidr.ts address parsing equals node:net', () => {
  it('agrees on adversarial strings', () => {
    for (const text of [
      '',
      ' ',
      '.',
      ':',
      '::',
      ':::',
      '::1',
      '1::',
      ':1::',
      '::1:',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::',
      '::2:3:4:5:6:7:8',
      '1:2:3:4::5:6:7:8',
      '1::2::3',
      'fe80::1%eth0',
      'fe80::1%',
      'fe80::1%eth0%1',
      'FE80::ABCD',
      '0000:0000:0000:0000:0000:0000:0000:0001',
      '00000::1',
      '::ffff:10.0.0.1',
      '::FFFF:10.0.0.1',
      '::ffff:010.0.0.1',
      '::10.0.0.1',
      '1:2:3:4:5:6:10.0.0.1',
      '1:2:3:4:5:6:7:10.0.0.1',
      '1:2:3:4:5::10.0.0.1',
      '1:2:3:4:5:6::10.0.0.1',
      '10.0.0.1::',
      '::10.0.0.1:1',
      '10.0.0.1',
      '10.0.0.01',
      '10.0.0.256',
      '10.0.0',
      '10.0.0.1.',
      '.10.0.0.1',
      '10..0.1',
      '1e1.0.0.1',
      '0x1.0.0.1',
      '10.0.0.1%eth0',
      '10.0.0.1 ',
      '10.0.0.1\n',
      '\u0661.0.0.1',
      '1.2.3.4/24',
      'fd00::/64',
      '1:2:3:4:5:6:7:8%a-b.c:d',
    ]) {
      agrees(text);
    }
  });

  it('agrees on generated IPv6-like, IPv4-like and mutated strings', () => {
    fc.assert(fc.property(fc.oneof(ipv6Like, dottedQuad, mutated, fc.string({ maxLength: 12 })), agrees), {
      numRuns: 20_000,
    });
  });

  it('parses every valid spelling to the value of its expansion', () => {
    // An address written as 8 full groups, then re-spelled: compressed, uppercased, with an
    // embedded dotted quad, with a zone. All spellings must parse to the same value.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        (groups, upper, quad) => {
          const full = groups.map((g) => g.toString(16)).join(':');
          const expected = parseIp(full);
          expect(expected).toBeDefined();
          let spelled = full;
          if (quad) {
            const a = groups[6]!;
            const b = groups[7]!;
            spelled = `${groups
              .slice(0, 6)
              .map((g) => g.toString(16))
              .join(':')}:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
          }
          if (upper) spelled = spelled.toUpperCase();
          const canonical = formatIp(expected!);
          for (const text of [spelled, `${spelled}%eth0`, canonical, full.replace(/\b0\b/, '0000')]) {
            expect(isIPv6(text) || isIPv4(text)).toBe(true);
            expect(parseIp(text)).toEqual(expected);
          }
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
