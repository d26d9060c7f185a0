// Every error code path of invokePlugin, and a table of malformed inputs: each asserts the exact
// code, a non-zero exit, and exactly one JSON error document on stdout.
import { describe, expect, it } from 'vitest';
import { PlatformError } from '../../../platform/errors.ts';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { MAX_INPUT_BYTES, MAX_JSON_DEPTH } from '../../../plugins/sdk/limits.ts';
import {
  bytes,
  call,
  configFor,
  type Env,
  envFor,
  expectAddResult,
  expectEmptySuccess,
  expectError,
  recordingPlugin,
} from './cni-call.ts';

const throwing = (error: unknown) => async (): Promise<never> => {
  throw error;
};

describe('code 1: incompatible version', () => {
  it.each(['0.0.1', '0.5.0', '1.2.0', '2.0.0', '1.1', 'v1.0.0', '1.0.0-rc1'])(
    'refuses config cniVersion %s for ADD and DEL without loading the plugin',
    async (version) => {
      for (const command of ['ADD', 'DEL']) {
        const { output, loads } = await call(recordingPlugin().plugin, envFor(command), configFor(version));
        const doc = expectError(output, 1, '1.1.0');
        expect(doc.msg).toContain(version);
        expect(loads).toBe(0);
      }
    },
  );

  it('reads a config without cniVersion as 0.1.0 (and so refuses CHECK)', async () => {
    const noVersion = { name: 'testnet', type: 'testplugin' };
    const add = await call(recordingPlugin().plugin, envFor('ADD'), noVersion);
    expectAddResult(add.output, '0.1.0');
    expectError((await call(recordingPlugin().plugin, envFor('CHECK'), noVersion)).output, 1);
  });

  it.each(['0.1.0', '0.2.0'])('refuses to print an ADD result without any IP at %s', async (version) => {
    const rec = recordingPlugin({
      add: async () => ({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] }),
    });
    const doc = expectError((await call(rec.plugin, envFor('ADD'), configFor(version))).output, 1, version);
    expect(doc.msg).toContain('no IP address');
  });

  it('refuses a prevResult of a version the plugin cannot read', async () => {
    const config = configFor('1.0.0', { prevResult: { cniVersion: '7.0.0', ips: [] } });
    expectError((await call(recordingPlugin().plugin, envFor('DEL'), config)).output, 1, '1.0.0');
  });
});

describe('codes a plugin raises', () => {
  it.each([
    [
      '2 from PlatformError unsupported',
      new PlatformError('unsupported', 'VLAN trunks need Windows 2022'),
      2,
    ],
    [
      '3 from PlatformError namespace-missing',
      new PlatformError('namespace-missing', 'netns /run/netns/x gone'),
      3,
    ],
    ['3 from CniError(3)', new CniError(3, 'container c0ffee does not exist'), 3],
    ['5 from PlatformError io', new PlatformError('io', 'netlink: EPERM', 'EPERM'), 5],
    ['5 from PlatformError conflict', new PlatformError('conflict', 'address 10.1.0.5 in use'), 5],
    ['5 from an untyped Error', new Error('boom'), 5],
    ['5 from a thrown string', 'boom', 5],
    ['7 from PlatformError invalid', new PlatformError('invalid', 'bridge name too long'), 7],
    ['11 from CniError(11)', new CniError(11, 'IPAM store is locked', 'try again'), 11],
    ['100 plugin-specific', new CniError(100, 'plugin specific'), 100],
    [
      '142 plugin-specific with details',
      new CniError(142, 'quota exceeded', 'tenant blue has 0 addresses'),
      142,
    ],
  ])('ADD: %s', async (_what, error, code) => {
    const rec = recordingPlugin({ add: throwing(error) });
    const doc = expectError(
      (await call(rec.plugin, envFor('ADD'), configFor('1.0.0'))).output,
      code,
      '1.0.0',
    );
    if (error instanceof Error)
      expect(doc.msg).toContain(error instanceof CniError ? error.msg : error.message);
    if (error instanceof CniError && error.details) expect(doc.details).toBe(error.details);
  });

  it('keeps a PlatformError detail as the error details', async () => {
    const rec = recordingPlugin({ del: throwing(new PlatformError('io', 'delete veth1: failed', 'EBUSY')) });
    const doc = expectError((await call(rec.plugin, envFor('DEL'), configFor('0.3.1'))).output, 5, '0.3.1');
    expect(doc).toEqual({ cniVersion: '0.3.1', code: 5, msg: 'delete veth1: failed', details: 'EBUSY' });
  });

  it.each([50, 51])('STATUS: passes %i from the plugin through', async (code) => {
    const rec = recordingPlugin({ status: throwing(new CniError(code, 'IPAM has no free addresses')) });
    const env = envFor('STATUS', { CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_IFNAME: undefined });
    const doc = expectError((await call(rec.plugin, env, configFor('1.1.0'))).output, code, '1.1.0');
    expect(doc.msg).toBe('IPAM has no free addresses');
  });

  it('5 when the plugin module cannot be loaded', async () => {
    const { invokePlugin } = await import('../../../plugins/sdk/skel.ts');
    const output = await invokePlugin(
      async () => {
        throw new Error('Cannot find module ./plugin.ts');
      },
      envFor('ADD'),
      bytes(configFor('1.0.0')),
    );
    expectError(output, 5, '1.0.0');
  });

  it('3: CHECK on a namespace that is gone', async () => {
    const rec = recordingPlugin({ check: throwing(new PlatformError('namespace-missing', 'no netns')) });
    expectError((await call(rec.plugin, envFor('CHECK'), configFor('0.4.0'))).output, 3, '0.4.0');
  });
});

describe('code 4: environment', () => {
  it.each([
    ['CNI_COMMAND missing', envFor('ADD', { CNI_COMMAND: undefined }), 'CNI_COMMAND'],
    ['CNI_COMMAND empty', envFor('ADD', { CNI_COMMAND: '' }), 'CNI_COMMAND'],
    ['CNI_COMMAND lower case', envFor('add'), 'add'],
    ['CNI_COMMAND unknown', envFor('GET'), 'GET'],
    ['ADD without CNI_CONTAINERID', envFor('ADD', { CNI_CONTAINERID: undefined }), 'CNI_CONTAINERID'],
    ['ADD with empty CNI_CONTAINERID', envFor('ADD', { CNI_CONTAINERID: '' }), 'CNI_CONTAINERID'],
    ['ADD without CNI_NETNS', envFor('ADD', { CNI_NETNS: undefined }), 'CNI_NETNS'],
    ['ADD without CNI_IFNAME', envFor('ADD', { CNI_IFNAME: undefined }), 'CNI_IFNAME'],
    ['ADD without CNI_PATH', envFor('ADD', { CNI_PATH: undefined }), 'CNI_PATH'],
    ['CHECK without CNI_NETNS', envFor('CHECK', { CNI_NETNS: '' }), 'CNI_NETNS'],
    ['DEL without CNI_CONTAINERID', envFor('DEL', { CNI_CONTAINERID: undefined }), 'CNI_CONTAINERID'],
    ['DEL without CNI_IFNAME', envFor('DEL', { CNI_IFNAME: undefined }), 'CNI_IFNAME'],
    ['DEL without CNI_PATH', envFor('DEL', { CNI_PATH: undefined }), 'CNI_PATH'],
    ['CNI_ARGS pair without "="', envFor('ADD', { CNI_ARGS: 'IgnoreUnknown=1;garbage' }), 'garbage'],
    ['CNI_ARGS pair without a key', envFor('ADD', { CNI_ARGS: '=value' }), '=value'],
    ['CNI_ARGS unknown key', envFor('ADD', { CNI_ARGS: 'FOO=bar' }), 'FOO'],
    [
      'CNI_ARGS unknown key with IgnoreUnknown=0',
      envFor('DEL', { CNI_ARGS: 'IgnoreUnknown=0;FOO=bar' }),
      'FOO',
    ],
  ])('%s', async (_what, env, named) => {
    const rec = recordingPlugin();
    const doc = expectError((await call(rec.plugin, env, configFor('1.0.0'))).output, 4);
    expect(`${doc.msg} ${doc.details ?? ''}`).toContain(named);
    expect(rec.calls).toEqual([]);
  });

  it('lists every missing variable at once', async () => {
    const env: Env = { CNI_COMMAND: 'ADD' };
    const doc = expectError(
      (await call(recordingPlugin().plugin, env, configFor('1.0.0'))).output,
      4,
      '1.0.0',
    );
    for (const name of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'])
      expect(doc.msg).toContain(name);
  });

  it.each([
    ['IgnoreUnknown=1', 'IgnoreUnknown=1;FOO=bar'],
    ['IgnoreUnknown=true', 'FOO=bar;IgnoreUnknown=true'],
    [
      'the Kubernetes pod keys',
      'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u',
    ],
    ['a key the plugin declares', 'IP=10.1.0.9'],
    ['an empty CNI_ARGS', ''],
  ])('accepts CNI_ARGS with %s', async (_what, args) => {
    const rec = recordingPlugin({ knownArgs: ['IP'] });
    expectAddResult(
      (await call(rec.plugin, envFor('ADD', { CNI_ARGS: args }), configFor('1.0.0'))).output,
      '1.0.0',
    );
  });
});

describe('codes 6 and 7: stdin', () => {
  it('accepts a config of exactly 1 MiB', async () => {
    const base = JSON.stringify(configFor('1.0.0', { pad: '' }));
    const padded = base.replace('"pad":""', `"pad":"${'x'.repeat(MAX_INPUT_BYTES - base.length)}"`);
    expect(Buffer.byteLength(padded)).toBe(MAX_INPUT_BYTES);
    expectEmptySuccess((await call(recordingPlugin().plugin, envFor('DEL'), padded)).output);
  });

  it(`accepts nesting of ${MAX_JSON_DEPTH} levels`, async () => {
    const nested = `${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}`;
    const config = `{"cniVersion":"1.0.0","name":"n","type":"t","deep":${nested}}`;
    expectEmptySuccess((await call(recordingPlugin().plugin, envFor('DEL'), config)).output);
  });

  it('does not count brackets inside strings as nesting', async () => {
    const config = configFor('1.0.0', { text: `${'{['.repeat(200)}\\"` });
    expectEmptySuccess((await call(recordingPlugin().plugin, envFor('DEL'), config)).output);
  });

  it("lets a plugin's own Fields getters fail with code 7 naming the key", async () => {
    const rec = recordingPlugin({
      add: async (ctx) => {
        ctx.config.fields.object('bridge')?.int('mtu', 68, 65535);
        throw new Error('unreachable');
      },
    });
    const config = configFor('1.0.0', { bridge: { mtu: '1500' } });
    const doc = expectError((await call(rec.plugin, envFor('ADD'), config)).output, 7, '1.0.0');
    expect(doc.msg).toBe('invalid network config: "bridge.mtu" must be an integer, not "1500"');
  });
});

/** A config body with `key` replaced by `value` (undefined removes it). */
function configWith(key: string, value: unknown, version = '1.0.0'): string {
  const config: Record<string, unknown> = configFor(version);
  if (value === undefined) delete config[key];
  else config[key] = value;
  return JSON.stringify(config);
}

const GOOD = configWith('mtu', 1500);

interface Malformed {
  what: string;
  env: Env;
  stdin: string | Uint8Array;
  code: number;
}

const MALFORMED: Malformed[] = [
  { what: 'bad JSON', env: envFor('ADD'), stdin: '{"cniVersion":"1.0.0",', code: 6 },
  { what: 'trailing garbage after the object', env: envFor('ADD'), stdin: `${GOOD} {}`, code: 6 },
  { what: 'two documents', env: envFor('DEL'), stdin: `${GOOD}\n${GOOD}`, code: 6 },
  { what: 'empty stdin', env: envFor('ADD'), stdin: '', code: 6 },
  { what: 'white space only', env: envFor('DEL'), stdin: ' \n\t', code: 6 },
  { what: 'a JSON array', env: envFor('ADD'), stdin: '[]', code: 6 },
  { what: 'a JSON string', env: envFor('ADD'), stdin: '"config"', code: 6 },
  { what: 'a JSON number', env: envFor('ADD'), stdin: '42', code: 6 },
  { what: 'JSON null', env: envFor('ADD'), stdin: 'null', code: 6 },
  {
    what: 'non-UTF-8 bytes',
    env: envFor('ADD'),
    stdin: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    code: 6,
  },
  {
    what: 'nested deeper than the limit',
    env: envFor('ADD'),
    stdin: `{"a":${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}}`,
    code: 6,
  },
  { what: 'nested 100000 levels', env: envFor('DEL'), stdin: `{"a":${'['.repeat(100_000)}`, code: 6 },
  {
    what: 'oversized stdin (1 MiB + 1)',
    env: envFor('ADD'),
    stdin: `{"pad":"${'x'.repeat(MAX_INPUT_BYTES)}"}`,
    code: 6,
  },
  { what: 'cniVersion of the wrong type', env: envFor('ADD'), stdin: configWith('cniVersion', 1), code: 6 },
  {
    what: 'prevResult not an object',
    env: envFor('DEL'),
    stdin: configWith('prevResult', 'cached'),
    code: 6,
  },
  {
    what: 'prevResult with a bad CIDR',
    env: envFor('CHECK'),
    stdin: configWith('prevResult', { ips: [{ address: '10.1.0.5' }] }),
    code: 6,
  },
  {
    what: 'prevResult ips not an array',
    env: envFor('DEL'),
    stdin: configWith('prevResult', { ips: {} }),
    code: 6,
  },
  { what: 'unknown cniVersion', env: envFor('ADD'), stdin: configWith('cniVersion', '0.9.9'), code: 1 },
  { what: 'missing network name', env: envFor('ADD'), stdin: configWith('name', undefined), code: 7 },
  { what: 'empty network name', env: envFor('DEL'), stdin: configWith('name', ''), code: 7 },
  { what: 'network name ../../etc', env: envFor('ADD'), stdin: configWith('name', '../../etc'), code: 7 },
  { what: 'network name with a slash', env: envFor('DEL'), stdin: configWith('name', 'a/b'), code: 7 },
  { what: 'network name with a newline', env: envFor('ADD'), stdin: configWith('name', 'net\n'), code: 7 },
  { what: 'network name of the wrong type', env: envFor('ADD'), stdin: configWith('name', 42), code: 7 },
  { what: 'missing type', env: envFor('ADD'), stdin: configWith('type', undefined), code: 7 },
  { what: 'type of the wrong type', env: envFor('ADD'), stdin: configWith('type', true), code: 7 },
  { what: 'type ../x', env: envFor('ADD'), stdin: configWith('type', '../x'), code: 7 },
  { what: 'type a/b', env: envFor('DEL'), stdin: configWith('type', 'a/b'), code: 7 },
  { what: 'ipam.type ../x', env: envFor('ADD'), stdin: configWith('ipam', { type: '../x' }), code: 7 },
  { what: 'ipam not an object', env: envFor('ADD'), stdin: configWith('ipam', 'host-local'), code: 7 },
  { what: 'dns not an object', env: envFor('ADD'), stdin: configWith('dns', ['10.1.0.1']), code: 7 },
  { what: 'args not an object', env: envFor('ADD'), stdin: configWith('args', 'x'), code: 7 },
  {
    what: 'runtimeConfig not an object',
    env: envFor('ADD'),
    stdin: configWith('runtimeConfig', []),
    code: 7,
  },
  {
    what: 'hostPort out of range',
    env: envFor('ADD'),
    stdin: configWith('runtimeConfig', { portMappings: [{ hostPort: 0, containerPort: 80 }] }),
    code: 7,
  },
  { what: 'container id ../x', env: envFor('ADD', { CNI_CONTAINERID: '../x' }), stdin: GOOD, code: 4 },
  { what: 'container id with "/"', env: envFor('DEL', { CNI_CONTAINERID: 'abc/def' }), stdin: GOOD, code: 4 },
  {
    what: 'container id with a space',
    env: envFor('ADD', { CNI_CONTAINERID: 'abc def' }),
    stdin: GOOD,
    code: 4,
  },
  { what: 'ifname ../x', env: envFor('ADD', { CNI_IFNAME: '../x' }), stdin: GOOD, code: 4 },
  { what: 'ifname a/b', env: envFor('ADD', { CNI_IFNAME: 'a/b' }), stdin: GOOD, code: 4 },
  {
    what: 'ifname of 16 bytes',
    env: envFor('ADD', { CNI_IFNAME: 'eth0123456789abc' }),
    stdin: GOOD,
    code: 4,
  },
  { what: 'ifname with ":"', env: envFor('DEL', { CNI_IFNAME: 'eth0:1' }), stdin: GOOD, code: 4 },
  { what: 'ifname with a space', env: envFor('CHECK', { CNI_IFNAME: 'eth 0' }), stdin: GOOD, code: 4 },
  { what: 'ifname ".."', env: envFor('ADD', { CNI_IFNAME: '..' }), stdin: GOOD, code: 4 },
  { what: 'missing CNI_COMMAND', env: envFor('ADD', { CNI_COMMAND: undefined }), stdin: GOOD, code: 4 },
  { what: 'unknown CNI_COMMAND', env: envFor('DESTROY'), stdin: GOOD, code: 4 },
];

describe('malformed inputs', () => {
  it('has at least 15 cases', () => expect(MALFORMED.length).toBeGreaterThanOrEqual(15));

  it.each(MALFORMED)('$what → code $code', async ({ env, stdin, code }) => {
    const rec = recordingPlugin();
    const { output } = await call(rec.plugin, env, stdin);
    expectError(output, code);
    expect(rec.calls).toEqual([]);
  });

  it.each([
    { env: envFor('ADD', { CNI_IFNAME: 'eth0123456789abc' }), stdin: GOOD, code: 4, named: 'CNI_IFNAME' },
    { env: envFor('ADD', { CNI_CONTAINERID: 'abc/def' }), stdin: GOOD, code: 4, named: 'CNI_CONTAINERID' },
    { env: envFor('ADD'), stdin: configWith('name', '../../etc'), code: 7, named: '"name"' },
    { env: envFor('ADD'), stdin: configWith('type', '../x'), code: 7, named: '"type"' },
    { env: envFor('ADD'), stdin: configWith('ipam', { type: 'a/b' }), code: 7, named: '"ipam.type"' },
    { env: envFor('ADD'), stdin: `{"pad":"${'x'.repeat(MAX_INPUT_BYTES)}"}`, code: 6, named: '1 MiB' },
    {
      env: envFor('ADD'),
      stdin: configWith('runtimeConfig', { portMappings: [{ hostPort: 0, containerPort: 80 }] }),
      code: 7,
      named: '"runtimeConfig.portMappings[0].hostPort"',
    },
  ])('names $named in the message', async ({ env, stdin, code, named }) => {
    const doc = expectError((await call(recordingPlugin().plugin, env, stdin)).output, code);
    expect(`${doc.msg} ${doc.details ?? ''}`).toContain(named);
  });

  it('treats an ipam object without type as no IPAM', async () => {
    const rec = recordingPlugin();
    const { output } = await call(rec.plugin, envFor('ADD'), configWith('ipam', { subnet: '10.1.0.0/24' }));
    expectAddResult(output, '1.0.0');
    expect(rec.last?.config.ipam).toBeUndefined();
  });
});

describe('the cniVersion of error results', () => {
  it('is the config version when the config names a supported one', async () => {
    expectError(
      (await call(recordingPlugin().plugin, envFor('ADD'), configWith('name', '', '0.3.0'))).output,
      7,
      '0.3.0',
    );
  });

  it('is the top-level cniVersion even when a prevResult comes first in the document', async () => {
    const stdin = `{"prevResult":{"cniVersion":"0.3.0","ips":[]},"cniVersion":"1.0.0","name":"../x","type":"t"}`;
    expectError((await call(recordingPlugin().plugin, envFor('DEL'), stdin)).output, 7, '1.0.0');
  });

  it('is 1.1.0 when the config version is unsupported or unreadable', async () => {
    expectError(
      (await call(recordingPlugin().plugin, envFor('ADD'), configWith('cniVersion', '3.0.0'))).output,
      1,
      '1.1.0',
    );
    expectError((await call(recordingPlugin().plugin, envFor('ADD'), '{')).output, 6, '1.1.0');
  });
});
