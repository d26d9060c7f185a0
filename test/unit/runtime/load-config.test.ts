import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../../../plugins/sdk/errors.ts';
import { ConfigFileError, NetworkNotFoundError } from '../../../runtime/errors.ts';
import { loadNetworkList } from '../../../runtime/load-config.ts';
import { parseNetworkList, parseSingleConfig } from '../../../runtime/network-config.ts';
import { Scratch, writeFiles } from './scratch.ts';

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

function expectCniError(fn: () => unknown, code: number, message: RegExp | string): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    const error = e as CniError;
    expect({ code: error.code, message: error.message }).toMatchObject({ code });
    if (typeof message === 'string') expect(error.message).toContain(message);
    else expect(error.message).toMatch(message);
    return error;
  }
  throw new Error('expected a CniError');
}

const list = (name: string, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name,
  plugins: [{ type: 'bridge' }],
  ...extra,
});

describe('loading a network from a configuration directory', () => {
  it('reads .conflist files first, in lexical order, and the first with the name wins', () => {
    const dir = writeFiles(scratch.dir(), {
      '20-net.conflist': list('net', { plugins: [{ type: 'second' }] }),
      '10-net.conflist': list('net', { plugins: [{ type: 'first' }] }),
      '05-net.conf': { cniVersion: '1.0.0', name: 'net', type: 'single' },
    });
    const loaded = loadNetworkList(dir, 'net');
    expect(loaded.plugins.map((p) => p.type)).toEqual(['first']);
    expect(loaded.file).toBe(join(dir, '10-net.conflist'));
  });

  it('falls back to .conf and .json files in lexical order, lifted to a one-plugin list', () => {
    const dir = writeFiles(scratch.dir(), {
      '30-other.conflist': list('other'),
      '20-net.json': { cniVersion: '0.4.0', name: 'net', type: 'from-json' },
      '10-net.conf': { cniVersion: '0.3.1', name: 'net', type: 'from-conf', bridge: 'br9' },
    });
    const loaded = loadNetworkList(dir, 'net');
    expect(loaded).toMatchObject({ name: 'net', cniVersion: '0.3.1', disableCheck: false, disableGC: false });
    expect(loaded.plugins).toHaveLength(1);
    expect(loaded.plugins[0]).toMatchObject({ type: 'from-conf', raw: { bridge: 'br9' } });
    // libcni's ConfListFromConf: {"cniVersion","name","plugins":[conf]} re-marshalled with sorted keys.
    expect(Buffer.from(loaded.bytes).toString()).toBe(
      '{"cniVersion":"0.3.1","name":"net","plugins":[{"bridge":"br9","cniVersion":"0.3.1","name":"net","type":"from-conf"}]}',
    );
  });

  it('keeps a .conflist file bytes exactly as cached config', () => {
    const text = '{ "cniVersion": "1.1.0", "name": "net", "plugins": [ { "type": "x" } ] }\n';
    const dir = writeFiles(scratch.dir(), { 'a.conflist': text });
    expect(Buffer.from(loadNetworkList(dir, 'net').bytes).toString()).toBe(text);
  });

  it('ignores other extensions and sub-directories', () => {
    const dir = writeFiles(scratch.dir(), {
      'net.conflist.bak': list('net', { plugins: [{ type: 'backup' }] }),
      'README.md': 'not a config',
      'z.conflist': list('net', { plugins: [{ type: 'real' }] }),
    });
    mkdirSync(join(dir, 'a.conflist'));
    expect(loadNetworkList(dir, 'net').plugins[0]?.type).toBe('real');
  });

  it('appends plugins from <dir>/<network>/*.conf unless loadOnlyInlinedPlugins', () => {
    const dir = writeFiles(scratch.dir(), {
      'net.conflist': { cniVersion: '1.1.0', name: 'net', plugins: [{ type: 'inline' }] },
      'only.conflist': {
        cniVersion: '1.1.0',
        name: 'only',
        loadOnlyInlinedPlugins: true,
        plugins: [{ type: 'inline' }],
      },
      'dironly.conflist': { cniVersion: '1.1.0', name: 'dironly' },
    });
    for (const net of ['net', 'only', 'dironly']) {
      mkdirSync(join(dir, net));
      writeFiles(join(dir, net), {
        '20-b.conf': { type: 'from-dir-b' },
        '10-a.conf': { type: 'from-dir-a' },
      });
    }
    expect(loadNetworkList(dir, 'net').plugins.map((p) => p.type)).toEqual([
      'inline',
      'from-dir-a',
      'from-dir-b',
    ]);
    expect(loadNetworkList(dir, 'only').plugins.map((p) => p.type)).toEqual(['inline']);
    expect(loadNetworkList(dir, 'dironly').plugins.map((p) => p.type)).toEqual(['from-dir-a', 'from-dir-b']);
  });

  it('says which networks exist when the name is not found', () => {
    const dir = writeFiles(scratch.dir(), {
      'a.conflist': list('alpha'),
      'b.conf': { name: 'beta', type: 'x' },
    });
    const error = expectCniError(
      () => loadNetworkList(dir, 'gamma'),
      ErrorCode.InvalidConfig,
      `no network configuration named "gamma" in ${dir}`,
    );
    expect(error).toBeInstanceOf(NetworkNotFoundError);
    expect(error.details).toBe('networks found: alpha (a.conflist), beta (b.conf)');
  });

  it('reports an empty or missing directory', () => {
    const missing = join(scratch.dir(), 'nope');
    const error = expectCniError(() => loadNetworkList(missing, 'net'), ErrorCode.InvalidConfig, missing);
    expect(error.details).toMatch(/no \.conflist, \.conf or \.json files/);
  });

  it('stops at a broken file before the match and names it (libcni does the same)', () => {
    const dir = writeFiles(scratch.dir(), {
      '10-broken.conflist': '{"name": "x", ',
      '20-net.conflist': list('net'),
    });
    const error = expectCniError(
      () => loadNetworkList(dir, 'net'),
      ErrorCode.DecodingFailure,
      `${join(dir, '10-broken.conflist')}: network configuration list is not valid JSON`,
    );
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as ConfigFileError).file).toBe(join(dir, '10-broken.conflist'));
  });
});

describe('validating a network list', () => {
  const parse = (doc: unknown) => () =>
    parseNetworkList(Buffer.from(JSON.stringify(doc)), '/etc/cni/net.d/x.conflist');

  it.each([
    [
      { cniVersion: '1.0.0', plugins: [{ type: 'a' }] },
      ErrorCode.InvalidConfig,
      'x.conflist: "name" is missing',
    ],
    [list('bad/name'), ErrorCode.InvalidConfig, 'x.conflist: invalid network config: "name" may only hold'],
    [{ ...list('n'), name: 7 }, ErrorCode.InvalidConfig, 'x.conflist: "name" must be a string'],
    [list('n', { plugins: [] }), ErrorCode.InvalidConfig, 'x.conflist: "plugins" is empty'],
    [list('n', { plugins: {} }), ErrorCode.InvalidConfig, '"plugins" must be an array'],
    [list('n', { plugins: [{}] }), ErrorCode.InvalidConfig, 'x.conflist plugins[0]: "type" is missing'],
    [
      list('n', { plugins: [{ type: 'a' }, { type: '../../bin/sh' }] }),
      ErrorCode.InvalidConfig,
      'plugins[1]: "type" contains a path separator',
    ],
    [list('n', { plugins: [{ type: '..' }] }), ErrorCode.InvalidConfig, '"type" contains ".."'],
    [
      list('n', { plugins: [{ type: 'a', capabilities: { mac: 'yes' } }] }),
      ErrorCode.InvalidConfig,
      '"capabilities.mac" must be true or false',
    ],
    [
      list('n', { plugins: ['bridge'] }),
      ErrorCode.InvalidConfig,
      'plugins[0]: a plugin configuration must be a JSON object',
    ],
    [
      list('n', { cniVersion: '9.9.9' }),
      ErrorCode.IncompatibleVersion,
      'cniVersion "9.9.9" is not supported',
    ],
    [list('n', { cniVersion: 3 }), ErrorCode.InvalidConfig, '"cniVersion" must be a string'],
    [
      list('n', { cniVersions: ['1.0.0', 'one'] }),
      ErrorCode.InvalidConfig,
      '"cniVersions[1]" is not a version',
    ],
    [list('n', { disableCheck: 'maybe' }), ErrorCode.InvalidConfig, '"disableCheck" must be true or false'],
    [
      { cniVersion: '1.1.0', name: 'n', loadOnlyInlinedPlugins: true },
      ErrorCode.InvalidConfig,
      'no "plugins" list',
    ],
  ])('refuses %j', (doc, code, message) => {
    expectCniError(parse(doc), code, message);
  });

  it('refuses bytes that are not a JSON object', () => {
    expectCniError(
      () => parseNetworkList(Buffer.from('[1]'), '/n.conflist'),
      ErrorCode.DecodingFailure,
      '/n.conflist: network configuration list must be a JSON object, not an array',
    );
  });

  it('picks the highest supported of cniVersion and cniVersions', () => {
    const pick = (extra: Record<string, unknown>) => parse(list('n', extra))().cniVersion;
    expect(pick({ cniVersion: '0.4.0', cniVersions: ['1.0.0', '0.3.1'] })).toBe('1.0.0');
    expect(pick({ cniVersion: '1.1.0', cniVersions: ['1.0.0'] })).toBe('1.1.0');
    // Versions this runtime does not speak (newer, or unknown) are skipped, as libcni skips newer ones.
    expect(pick({ cniVersion: undefined, cniVersions: ['1.0.0', '1.2.0', '2.0.0'] })).toBe('1.0.0');
    expect(pick({ cniVersion: undefined })).toBe('0.1.0');
    expectCniError(
      parse(list('n', { cniVersion: undefined, cniVersions: ['1.2.0', '2.0.0'] })),
      1,
      'none of the versions',
    );
  });

  it('reads disableCheck and disableGC as booleans or "true"/"false" strings', () => {
    const parsed = parse(list('n', { disableCheck: 'True', disableGC: true }))();
    expect(parsed).toMatchObject({ disableCheck: true, disableGC: true, loadOnlyInlinedPlugins: false });
  });

  it('collects only the capabilities declared true', () => {
    const parsed = parse(
      list('n', { plugins: [{ type: 'a', capabilities: { portMappings: true, mac: false } }] }),
    )();
    expect(parsed.plugins[0]?.capabilities).toEqual(['portMappings']);
  });
});

describe('validating a single .conf', () => {
  const parse = (doc: unknown) => () => parseSingleConfig(Buffer.from(JSON.stringify(doc)), '/d/10-x.conf');

  it.each([
    [{ cniVersion: '1.0.0', name: 'n' }, ErrorCode.InvalidConfig, '/d/10-x.conf: "type" is missing'],
    [{ cniVersion: '1.0.0', type: 'a' }, ErrorCode.InvalidConfig, '/d/10-x.conf: "name" is missing'],
    [
      list('n'),
      ErrorCode.InvalidConfig,
      'holds a network list ("plugins"), which libcni reads only from .conflist files',
    ],
    [
      { cniVersion: '0.9.0', name: 'n', type: 'a' },
      ErrorCode.IncompatibleVersion,
      'cniVersion "0.9.0" is not supported',
    ],
    [{ name: 'n', type: 'a/b' }, ErrorCode.InvalidConfig, '"type" contains a path separator'],
  ])('refuses %j', (doc, code, message) => {
    expectCniError(parse(doc), code, message);
  });

  it('lifts a conf without cniVersion as libcni does ("" in the list, 0.1.0 to speak)', () => {
    const lifted = parse({ name: 'n', type: 'a' })();
    expect(lifted.cniVersion).toBe('0.1.0');
    expect(Buffer.from(lifted.bytes).toString()).toBe(
      '{"cniVersion":"","name":"n","plugins":[{"name":"n","type":"a"}]}',
    );
  });
});
