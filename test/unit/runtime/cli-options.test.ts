import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../../../plugins/sdk/errors.ts';
import {
  cnitoolContainerId,
  parseCommandLine,
  readRuntimeConf,
  readSettings,
  UsageError,
} from '../../../runtime/cli-options.ts';

describe('the crosscni command line', () => {
  it('derives the container id from the netns path as cnitool does', () => {
    // Reference values from `printf %s PATH | sha512sum | cut -c1-20`.
    expect(cnitoolContainerId('/run/netns/blue')).toBe('cnitool-df26705e2e4ffd095eb1');
    expect(cnitoolContainerId('/var/run/netns/testing')).toBe('cnitool-77383ca0a0715733ca6f');
  });

  it('reads flags anywhere on the line', () => {
    expect(parseCommandLine(['add', '-i', 'eth1', 'net', '/run/netns/x', '--cache-dir=/c'])).toEqual({
      command: 'add',
      operands: ['net', '/run/netns/x'],
      ifname: 'eth1',
      cacheDir: '/c',
      json: false,
    });
    expect(parseCommandLine(['gc', 'net', '--valid', 'c1:eth0', '--valid=c2:net1']).valid).toEqual([
      { containerId: 'c1', ifname: 'eth0' },
      { containerId: 'c2', ifname: 'net1' },
    ]);
    expect(parseCommandLine(['del', '--help']).command).toBe('help');
  });

  it.each([
    [[], 'no command given'],
    [['attach', 'net'], 'unknown command "attach"'],
    [['add', '--frobnicate'], 'unknown option --frobnicate'],
    [['add', 'net', 'ns', '-i'], '-i needs a value'],
    [['gc', 'net', '--valid', 'c1'], '--valid takes CONTAINERID:IFNAME, not "c1"'],
  ])('refuses %j', (argv, problem) => {
    expect(() => parseCommandLine(argv)).toThrow(new UsageError(problem));
  });

  it('builds the attachment from the environment, with cnitool defaults', () => {
    const line = parseCommandLine(['add', 'net', '/run/netns/blue']);
    expect(readRuntimeConf({}, line, '/run/netns/blue')).toEqual({
      containerId: 'cnitool-df26705e2e4ffd095eb1',
      netns: '/run/netns/blue',
      ifname: 'eth0',
    });
    const rt = readRuntimeConf(
      {
        CNI_CONTAINERID: 'abc',
        CNI_IFNAME: 'net1',
        CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
        CAP_ARGS: '{"portMappings":[{"hostPort":80,"containerPort":8080}]}',
      },
      line,
      '/run/netns/blue',
    );
    expect(rt).toEqual({
      containerId: 'abc',
      netns: '/run/netns/blue',
      ifname: 'net1',
      args: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'web'],
      ],
      capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080 }] },
    });
    // -i wins over CNI_IFNAME; a relative netns is made absolute before hashing (filepath.Abs).
    const relative = readRuntimeConf(
      { CNI_IFNAME: 'net1' },
      parseCommandLine(['add', '-i', 'x0', 'n', 'ns']),
      'ns',
    );
    expect(relative.ifname).toBe('x0');
    expect(relative.netns).toBe(`${process.cwd()}/ns`);
  });

  it('refuses bad CNI_ARGS and CAP_ARGS with CNI error codes', () => {
    const line = parseCommandLine(['add', 'n', '/ns']);
    expect(() => readRuntimeConf({ CNI_ARGS: 'novalue' }, line, '/ns')).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidEnvironment }),
    );
    try {
      readRuntimeConf({ CAP_ARGS: '{"portMappings": [' }, line, '/ns');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect(e).toMatchObject({ code: ErrorCode.DecodingFailure, msg: 'CAP_ARGS is not valid JSON' });
    }
  });

  it('reads directories from the environment, with defaults', () => {
    const line = parseCommandLine(['status', 'n']);
    expect(readSettings({}, line)).toEqual({
      netconfPath: '/etc/cni/net.d',
      pluginDirs: ['/opt/cni/bin'],
      cacheDir: '/var/lib/cni',
    });
    expect(readSettings({ NETCONFPATH: '/n', CNI_PATH: '/a::/b', CNI_CACHE_DIR: '/c' }, line)).toEqual({
      netconfPath: '/n',
      pluginDirs: ['/a', '/b'],
      cacheDir: '/c',
    });
  });
});
