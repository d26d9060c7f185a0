// Conformance of invokePlugin for every command at every supported spec version: what a
// runtime sees on stdout and in the exit code, and what the plugin is (not) asked to do.
import { describe, expect, it } from 'vitest';
import { PlatformError } from '../../../platform/errors.ts';
import { versionAtLeast } from '../../../plugins/sdk/version.ts';
import {
  bytes,
  call,
  configFor,
  DUAL_STACK_RESULT,
  envFor,
  expectAddResult,
  expectEmptySuccess,
  expectError,
  parseOneDocument,
  recordingPlugin,
  VERSIONS,
} from './cni-call.ts';
import { PREV_MODELS, PREV_RESULTS } from './result-samples.ts';

/** STATUS and GC get no container variables from a runtime. */
const NETWORK_ENV = { CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_IFNAME: undefined };

describe('ADD at every version', () => {
  it.each(VERSIONS)('%s: prints the result in the config version and exits 0', async (version) => {
    const rec = recordingPlugin();
    const { output, loads } = await call(rec.plugin, envFor('ADD'), configFor(version));
    const doc = expectAddResult(output, version);
    expect(rec.calls).toEqual(['add']);
    expect(loads).toBe(1);
    expect(rec.last?.config.cniVersion).toBe(version);
    if (version === '0.1.0' || version === '0.2.0') {
      expect(doc).toEqual({
        cniVersion: version,
        ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
        ip6: { ip: 'fd00::5/64', gateway: 'fd00::1' },
        dns: { nameservers: ['10.1.0.1'] },
      });
    } else {
      const withVersion = !versionAtLeast(version, '1.0.0');
      expect(doc).toEqual({
        cniVersion: version,
        interfaces: DUAL_STACK_RESULT.interfaces,
        ips: [
          {
            ...(withVersion ? { version: '4' } : {}),
            address: '10.1.0.5/24',
            gateway: '10.1.0.1',
            interface: 0,
          },
          {
            ...(withVersion ? { version: '6' } : {}),
            address: 'fd00::5/64',
            gateway: 'fd00::1',
            interface: 0,
          },
        ],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
        dns: { nameservers: ['10.1.0.1'] },
      });
    }
  });

  it('hands the plugin the invocation: env values, parsed config, CNI_ARGS and the stdin bytes', async () => {
    const rec = recordingPlugin({ knownArgs: ['IP'] });
    const config = configFor('1.0.0', {
      mtu: 1400,
      ipam: { type: 'host-local', subnet: '10.1.0.0/24' },
      dns: { nameservers: ['10.1.0.1'], search: ['example.org'] },
      args: { cni: { ips: ['10.1.0.9'] } },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    });
    const stdin = bytes(config);
    const env = envFor('ADD', {
      CNI_ARGS: 'IP=10.1.0.9;K8S_POD_NAME=web',
      CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    });
    const { output } = await call(rec.plugin, env, stdin);
    expectAddResult(output, '1.0.0');
    const ctx = rec.last!;
    expect(ctx).toMatchObject({
      command: 'ADD',
      containerId: 'c0ffee',
      netns: '/run/netns/cni-test',
      ifname: 'eth0',
      path: ['/opt/cni/bin', '/usr/lib/cni'],
    });
    expect([...ctx.args]).toEqual([
      ['IP', '10.1.0.9'],
      ['K8S_POD_NAME', 'web'],
    ]);
    expect(Buffer.from(ctx.stdin).equals(Buffer.from(stdin))).toBe(true);
    expect(ctx.config).toMatchObject({
      cniVersion: '1.0.0',
      name: 'testnet',
      type: 'testplugin',
      dns: { nameservers: ['10.1.0.1'], search: ['example.org'] },
      args: { cni: { ips: ['10.1.0.9'] } },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    });
    expect(ctx.config.ipam?.type).toBe('host-local');
    expect(ctx.config.ipam?.fields.cidr('subnet')).toBe('10.1.0.0/24');
    expect(ctx.config.fields.int('mtu', 68, 65535)).toBe(1400);
  });

  it('drops 1.1.0-only fields a plugin returns when the config is 1.0.0', async () => {
    const rec = recordingPlugin({
      add: async () => ({
        cniVersion: '1.1.0',
        interfaces: [{ name: 'eth0', mtu: 9000, socketPath: '/run/sock', pciID: '0000:00:1f.6' }],
        ips: [{ address: '10.1.0.5/24', interface: 0 }],
        routes: [
          { dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, advmss: 1360, priority: 5, table: 100, scope: 0 },
        ],
      }),
    });
    const doc = expectAddResult((await call(rec.plugin, envFor('ADD'), configFor('1.0.0'))).output, '1.0.0');
    expect(doc).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0' }],
      ips: [{ address: '10.1.0.5/24', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    });
  });
});

describe('DEL at every version', () => {
  it.each(VERSIONS)('%s: prints nothing and exits 0', async (version) => {
    const rec = recordingPlugin();
    const { output } = await call(rec.plugin, envFor('DEL'), configFor(version));
    expectEmptySuccess(output);
    expect(rec.calls).toEqual(['del']);
  });

  it.each([
    ['empty', ''],
    ['unset', undefined],
  ])('works with CNI_NETNS %s (containerd RemovePodSandbox)', async (_what, netns) => {
    const rec = recordingPlugin();
    const { output } = await call(rec.plugin, envFor('DEL', { CNI_NETNS: netns }), configFor('1.0.0'));
    expectEmptySuccess(output);
    expect(rec.last?.netns).toBe('');
  });

  it('gets the cached result as prevResult in the newest model', async () => {
    const rec = recordingPlugin();
    const prevResult = {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [{ version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
      dns: {},
    };
    expectEmptySuccess((await call(rec.plugin, envFor('DEL'), configFor('0.4.0', { prevResult }))).output);
    expect(rec.last?.config.prevResult).toEqual({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
      dns: {},
    });
  });
});

describe('prevResult of every version', () => {
  it.each(VERSIONS)(
    'a %s prevResult reaches DEL (and CHECK from 0.4.0) in the newest model',
    async (version) => {
      const config = configFor(version, { prevResult: PREV_RESULTS[version] });
      const commands = versionAtLeast(version, '0.4.0') ? ['DEL', 'CHECK'] : ['DEL'];
      for (const command of commands) {
        const rec = recordingPlugin();
        expectEmptySuccess((await call(rec.plugin, envFor(command), config)).output);
        expect(rec.last?.config.prevResult).toEqual(PREV_MODELS[version]);
      }
    },
  );

  it('a prevResult without cniVersion is read in the config version', async () => {
    const { cniVersion: _dropped, ...body } = PREV_RESULTS['0.2.0'];
    const rec = recordingPlugin();
    expectEmptySuccess(
      (await call(rec.plugin, envFor('DEL'), configFor('0.2.0', { prevResult: body }))).output,
    );
    expect(rec.last?.config.prevResult).toEqual(PREV_MODELS['0.2.0']);
  });
});

describe('CHECK at every version', () => {
  it.each(VERSIONS)('%s: allowed from 0.4.0, refused with code 1 below', async (version) => {
    const rec = recordingPlugin();
    const { output, loads } = await call(rec.plugin, envFor('CHECK'), configFor(version));
    if (versionAtLeast(version, '0.4.0')) {
      expectEmptySuccess(output);
      expect(rec.calls).toEqual(['check']);
    } else {
      const doc = expectError(output, 1, version);
      expect(doc.msg).toContain('CHECK');
      expect(rec.calls).toEqual([]);
      expect(loads).toBe(0);
    }
  });

  it('a failed check is the plugin error, exit non-zero', async () => {
    const rec = recordingPlugin({
      check: async () => {
        throw new PlatformError('not-found', 'endpoint eth0 in /run/netns/x does not exist');
      },
    });
    const doc = expectError((await call(rec.plugin, envFor('CHECK'), configFor('1.0.0'))).output, 5, '1.0.0');
    expect(doc.msg).toContain('eth0');
  });
});

describe.each(['STATUS', 'GC'] as const)('%s at every version', (command) => {
  it.each(VERSIONS)(
    `%s: allowed only from 1.1.0 (code 1 below), without container variables`,
    async (version) => {
      const rec = recordingPlugin();
      const { output, loads } = await call(rec.plugin, envFor(command, NETWORK_ENV), configFor(version));
      if (version === '1.1.0') {
        expectEmptySuccess(output);
        expect(rec.calls).toEqual([command.toLowerCase()]);
        expect(rec.last).toMatchObject({ command, containerId: '', netns: '', ifname: '' });
      } else {
        const doc = expectError(output, 1, version);
        expect(`${doc.msg} ${doc.details}`).toContain(command);
        expect(loads).toBe(0);
      }
    },
  );

  it('succeeds when the plugin does not implement it', async () => {
    const { add, del, check } = recordingPlugin().plugin;
    const { output } = await call({ add, del, check }, envFor(command, NETWORK_ENV), configFor('1.1.0'));
    expectEmptySuccess(output);
  });

  it('requires CNI_PATH (code 4)', async () => {
    const env = envFor(command, { ...NETWORK_ENV, CNI_PATH: undefined });
    const doc = expectError(
      (await call(recordingPlugin().plugin, env, configFor('1.1.0'))).output,
      4,
      '1.1.0',
    );
    expect(doc.msg).toContain('CNI_PATH');
  });
});

describe('GC', () => {
  it('passes cni.dev/valid-attachments to the plugin', async () => {
    const rec = recordingPlugin();
    const config = configFor('1.1.0', {
      'cni.dev/valid-attachments': [
        { containerID: 'a1', ifname: 'eth0' },
        { containerID: 'b2', ifname: 'net1' },
      ],
    });
    expectEmptySuccess((await call(rec.plugin, envFor('GC', NETWORK_ENV), config)).output);
    expect(rec.last?.config.validAttachments).toEqual([
      { containerId: 'a1', ifname: 'eth0' },
      { containerId: 'b2', ifname: 'net1' },
    ]);
  });

  it('refuses an attachment without containerID (code 7)', async () => {
    const config = configFor('1.1.0', { 'cni.dev/valid-attachments': [{ ifname: 'eth0' }] });
    const doc = expectError(
      (await call(recordingPlugin().plugin, envFor('GC', NETWORK_ENV), config)).output,
      7,
    );
    expect(doc.msg).toContain('cni.dev/valid-attachments[0].containerID');
  });
});

describe('VERSION', () => {
  const versionEnv = { CNI_COMMAND: 'VERSION' };

  it.each(VERSIONS)('echoes a supported requested version %s and lists all seven', async (version) => {
    const rec = recordingPlugin();
    const { output, loads } = await call(rec.plugin, versionEnv, { cniVersion: version });
    expect(output.exitCode).toBe(0);
    expect(parseOneDocument(output.stdout)).toEqual({
      cniVersion: version,
      supportedVersions: [...VERSIONS],
    });
    expect(loads).toBe(0);
    expect(rec.calls).toEqual([]);
  });

  it.each([
    ['an unsupported version', '{"cniVersion":"9.9.9"}'],
    ['empty stdin', ''],
    ['no cniVersion', '{}'],
    ['garbage', '{not json'],
    ['a JSON null', 'null'],
    ['a non-string version', '{"cniVersion":1}'],
  ])('answers with 1.1.0 for %s, without loading the plugin', async (_what, stdin) => {
    const { output, loads } = await call(recordingPlugin().plugin, versionEnv, stdin);
    expect(output.exitCode).toBe(0);
    expect(parseOneDocument(output.stdout)).toEqual({
      cniVersion: '1.1.0',
      supportedVersions: [...VERSIONS],
    });
    expect(loads).toBe(0);
  });

  it('needs no other variable and ignores bad ones', async () => {
    const env = { CNI_COMMAND: 'VERSION', CNI_ARGS: 'garbage', CNI_IFNAME: 'a/b', CNI_CONTAINERID: '../x' };
    const { output, loads } = await call(recordingPlugin().plugin, env, '{"cniVersion":"0.4.0"}');
    expect(parseOneDocument(output.stdout)).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: [...VERSIONS],
    });
    expect(loads).toBe(0);
  });
});

describe('one invocation is one pure call', () => {
  it('serves interleaved invocations of different versions in one process', async () => {
    const rec = recordingPlugin({
      add: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return DUAL_STACK_RESULT;
      },
    });
    const outputs = await Promise.all(
      VERSIONS.map((version) => call(rec.plugin, envFor('ADD'), configFor(version)).then((c) => c.output)),
    );
    for (const [i, output] of outputs.entries()) expectAddResult(output, VERSIONS[i]!);
    const again = await call(rec.plugin, envFor('ADD'), configFor('0.2.0'));
    expect(again.output).toEqual(outputs[1]);
  });
});
