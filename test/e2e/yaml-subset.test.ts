/**
 * The YAML subset parser deploy/ is checked with (support/yaml-subset.ts): what it reads, and
 * that everything outside the subset is an error rather than a silent misreading.
 */
import { describe, expect, it } from 'vitest';
import { parseYamlSubset, YamlSubsetError } from './support/yaml-subset.ts';

describe('the YAML subset parser', () => {
  it('reads the constructs deploy/ uses', () => {
    const [doc] = parseYamlSubset(
      [
        'a: 1 # comment',
        'b: "x\\\\y"',
        "c: 'it''s'",
        'd:',
        '- e: true',
        '  f: [1, "two"]',
        '- plain text',
        'g: |',
        '  line one',
        '    indented',
        '',
        '  # not a comment',
        'h: |-',
        '  stripped',
        'i: {}',
      ].join('\n'),
    );
    expect(doc).toEqual({
      a: 1,
      b: 'x\\y',
      c: "it's",
      d: [{ e: true, f: [1, 'two'] }, 'plain text'],
      g: 'line one\n  indented\n\n# not a comment\n',
      h: 'stripped',
      i: {},
    });
    expect(parseYamlSubset('a: 1\n---\n# only a comment\n---\nb: 2\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it.each([
    ['anchors', 'a: &x 1'],
    ['YAML 1.1 booleans', 'a: yes'],
    ['YAML 1.1 octals', 'mode: 0644'],
    ['duplicate keys', 'a: 1\na: 2'],
    ['folded scalars', 'a: >\n  text'],
    ['tabs', 'a:\n\tb: 1'],
    ['non-JSON flow collections', 'a: [x, y]'],
    ['bad indentation', 'a: 1\n  b: 2'],
  ])('rejects %s with the line', (_what, text) => {
    expect(() => parseYamlSubset(text)).toThrow(YamlSubsetError);
  });
});
