// Locating a plugin executable by its type in CNI_PATH.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { findPlugin } from '../../../plugins/sdk/find-plugin.ts';

let root: string;
let first: string;
let second: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'crosscni-sdk-find-'));
  first = join(root, 'first');
  second = join(root, 'second');
  mkdirSync(first);
  mkdirSync(second);
  const script = join(root, 'script');
  writeFileSync(script, '#!/bin/sh\nexit 0\n');
  for (const [dir, name, mode] of [
    [first, 'not-exec', 0o644],
    [second, 'not-exec', 0o644],
    [first, 'shadowed', 0o644],
    [second, 'shadowed', 0o755],
    [first, 'both', 0o755],
    [second, 'both', 0o755],
    [second, 'only-second', 0o700],
  ] as const) {
    copyFileSync(script, join(dir, name));
    chmodSync(join(dir, name), mode);
  }
  mkdirSync(join(first, 'a-directory'));
  chmodSync(join(first, 'a-directory'), 0o755);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function failure(type: string, dirs: string[]): CniError {
  try {
    findPlugin(type, dirs);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(7);
    return e as CniError;
  }
  throw new Error(`found ${type}`);
}

describe('findPlugin', () => {
  it('finds a plugin in a later directory', () => {
    expect(findPlugin('only-second', [first, second])).toBe(join(second, 'only-second'));
  });

  it('takes the first directory that has it', () => {
    expect(findPlugin('both', [first, second])).toBe(join(first, 'both'));
  });

  it('requires the executable bit: skips a non-executable file for an executable one further on', () => {
    expect(findPlugin('shadowed', [first, second])).toBe(join(second, 'shadowed'));
  });

  it('does not find a plugin that exists only without the executable bit', () => {
    expect(failure('not-exec', [first, second]).msg).toContain('failed to find plugin "not-exec"');
  });

  it('does not take a directory of that name', () => {
    failure('a-directory', [first]);
  });

  it('says where it looked: code 7 listing every directory', () => {
    const missing = join(root, 'missing');
    const error = failure('nat', [first, second, missing]);
    expect(error.msg).toBe(`failed to find plugin "nat" in path [${first} ${second} ${missing}]`);
    expect(error.details).toContain('CNI_PATH');
  });

  it('finds nothing in an empty path', () => {
    expect(failure('both', []).msg).toContain('[]');
  });

  it.each(['../x', 'a/b', `../${'first'}/both`, '..', '.', '', 'x\0y', '..\\x'])(
    'refuses the type %j as a path',
    (type) => {
      const error = failure(type, [first, second]);
      expect(error.msg).toContain('invalid plugin type');
    },
  );

  it('does not resolve a relative type against the directory', () => {
    // "first/../second/only-second" would exist on disk; it must never be looked up.
    failure('../second/only-second', [first]);
  });
});
