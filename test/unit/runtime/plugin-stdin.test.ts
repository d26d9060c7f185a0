import { describe, expect, it } from 'vitest';
import { parseNetworkList } from '../../../runtime/network-config.ts';
import { formatCniArgs, pluginEnvironment } from '../../../runtime/plugin-env.ts';
import { pluginStdin, runtimeConfigFor } from '../../../runtime/plugin-stdin.ts';

const list = parseNetworkList(
  Buffer.from(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'podnet',
      plugins: [
        { type: 'bridge', cniVersion: '0.3.1', name: 'ignored', bridge: 'cni0' },
        { type: 'portmap', capabilities: { portMappings: true, bandwidth: false }, snat: true },
        { type: 'tuning', capabilities: { mac: true, ips: true }, runtimeConfig: { mac: 'configured' } },
      ],
    }),
  ),
  'test.conflist',
);
const [bridge, portmap, tuning] = list.plugins as [
  (typeof list.plugins)[0],
  (typeof list.plugins)[0],
  (typeof list.plugins)[0],
];

const capabilityArgs = {
  portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  bandwidth: { ingressRate: 1000 },
  mac: '0a:58:0a:00:00:05',
  dns: { servers: ['10.0.0.10'] },
};

describe('building a plugin stdin', () => {
  it('injects the list name and version over the plugin own', () => {
    const doc = JSON.parse(pluginStdin(list, bridge));
    expect(doc).toEqual({ type: 'bridge', cniVersion: '1.0.0', name: 'podnet', bridge: 'cni0' });
  });

  it('writes keys sorted, as Go re-marshals a map', () => {
    expect(pluginStdin(list, bridge)).toBe(
      '{"bridge":"cni0","cniVersion":"1.0.0","name":"podnet","type":"bridge"}',
    );
  });

  it('gives each plugin only the capability arguments it declares true', () => {
    expect(runtimeConfigFor(bridge, capabilityArgs)).toBeUndefined();
    expect(runtimeConfigFor(portmap, capabilityArgs)).toEqual({ portMappings: capabilityArgs.portMappings });
    // ips is declared but not given: left out, not null.
    expect(runtimeConfigFor(tuning, capabilityArgs)).toEqual({ mac: capabilityArgs.mac });
  });

  it('adds runtimeConfig only when there is something to inject, replacing a configured one', () => {
    expect(JSON.parse(pluginStdin(list, bridge, { capabilityArgs }))).not.toHaveProperty('runtimeConfig');
    expect(JSON.parse(pluginStdin(list, tuning, {})).runtimeConfig).toEqual({ mac: 'configured' });
    expect(JSON.parse(pluginStdin(list, tuning, { capabilityArgs })).runtimeConfig).toEqual({
      mac: '0a:58:0a:00:00:05',
    });
  });

  it('carries the prevResult and, for GC, the valid attachments in the spec spelling', () => {
    const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/24' }] };
    const validAttachments = [{ containerId: 'c1', ifname: 'eth0' }];
    const doc = JSON.parse(pluginStdin(list, portmap, { prevResult, validAttachments }));
    expect(doc.prevResult).toEqual(prevResult);
    expect(doc['cni.dev/valid-attachments']).toEqual([{ containerID: 'c1', ifname: 'eth0' }]);
  });

  it('escapes like Go: <, > and & as \\u sequences', () => {
    const odd = parseNetworkList(
      Buffer.from(
        JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'x', note: '<a&b>' }] }),
      ),
      'x',
    );
    expect(pluginStdin(odd, odd.plugins[0]!)).toContain('"note":"\\u003ca\\u0026b\\u003e"');
  });
});

describe('the plugin environment', () => {
  it('keeps the host environment and sets all six CNI variables', () => {
    const env = pluginEnvironment(
      { PATH: '/usr/bin', HOME: '/root', CNI_IFNAME: 'stale', CNI_ARGS: 'STALE=1' },
      {
        command: 'ADD',
        pluginDirs: ['/opt/cni/bin', '/usr/lib/cni'],
        rt: {
          containerId: 'c1',
          netns: '/run/netns/x',
          ifname: 'eth1',
          args: [
            ['IgnoreUnknown', '1'],
            ['K8S_POD_NAME', 'web'],
          ],
        },
      },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/run/netns/x',
      CNI_IFNAME: 'eth1',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    });
  });

  it('sends empty attachment variables for GC and STATUS', () => {
    const env = pluginEnvironment({ CNI_CONTAINERID: 'leftover' }, { command: 'GC', pluginDirs: ['/b'] });
    expect(env).toMatchObject({
      CNI_COMMAND: 'GC',
      CNI_CONTAINERID: '',
      CNI_NETNS: '',
      CNI_IFNAME: '',
      CNI_ARGS: '',
    });
  });

  it('refuses CNI_ARGS pairs that would change meaning once joined', () => {
    expect(() => formatCniArgs([['A;B', '1']])).toThrow(/CNI_ARGS pair/);
    expect(() => formatCniArgs([['A', '1;B=2']])).toThrow(/CNI_ARGS pair/);
    expect(() => formatCniArgs([['', '1']])).toThrow(/CNI_ARGS pair/);
    expect(formatCniArgs([['IP', '10.0.0.5']])).toBe('IP=10.0.0.5');
  });
});
