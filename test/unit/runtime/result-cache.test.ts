import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../../../plugins/sdk/errors.ts';
import { CniRuntime } from '../../../runtime/cni-runtime.ts';
import { loadNetworkListFile } from '../../../runtime/load-config.ts';
import { encodeCacheDocument, ResultCache } from '../../../runtime/result-cache.ts';
import { Scratch } from './scratch.ts';

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

const fixtures = resolve(__dirname, '..', '..', 'fixtures', 'runtime', 'libcni-cache');
const PODMAN_ID = '3f2a9c0e5b7d4e1f8a6c2b9d0e4f7a1c3b5d8e2f6a9c1b4d7e0f3a6c9b2d5e8f';
const PODMAN_NETNS = '/run/netns/netns-5e0b2f6c-1d3a-4c8e-9f7b-2a4d6e8c0b1f';

describe('the result cache file format (libcni cachedInfo)', () => {
  it('writes exactly the keys of libcni, in struct order, with config as base64', async () => {
    const cache = new ResultCache(scratch.dir());
    const config = Buffer.from('{"cniVersion":"1.0.0","name":"net","plugins":[{"type":"x"}]}');
    const file = await cache.write({
      containerId: 'c0ffee',
      ifname: 'eth0',
      network: 'net',
      netns: '/run/netns/a',
      cniArgs: [['IgnoreUnknown', '1']],
      capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
      config,
      result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/24' }] },
    });
    expect(file).toBe(join(cache.cacheDir, 'results', 'net-c0ffee-eth0'));
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(
      `{"kind":"cniCacheV1","containerId":"c0ffee","config":"${config.toString('base64')}","ifName":"eth0",` +
        '"networkName":"net","netns":"/run/netns/a","cniArgs":[["IgnoreUnknown","1"]],' +
        '"capabilityArgs":{"portMappings":[{"containerPort":8080,"hostPort":80,"protocol":"tcp"}]},' +
        '"result":{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.5/24"}]}}',
    );
    expect(Object.keys(JSON.parse(text))).toEqual([
      'kind',
      'containerId',
      'config',
      'ifName',
      'networkName',
      'netns',
      'cniArgs',
      'capabilityArgs',
      'result',
    ]);
  });

  it('leaves out empty members, as Go omitempty does', () => {
    const text = encodeCacheDocument({
      containerId: 'c',
      ifname: 'eth0',
      network: 'n',
      netns: '',
      cniArgs: [],
      capabilityArgs: {},
      config: Buffer.from('{}'),
    });
    expect(Object.keys(JSON.parse(text))).toEqual(['kind', 'containerId', 'config', 'ifName', 'networkName']);
  });

  it('writes 0600 files in a 0700 directory and leaves no temporary files', async () => {
    const cache = new ResultCache(join(scratch.dir(), 'fresh'));
    const entry = { containerId: 'c1', ifname: 'eth0', network: 'n', config: Buffer.from('{}') };
    await cache.write(entry);
    await cache.write({ ...entry, result: { cniVersion: '1.0.0' } });
    expect(statSync(cache.resultsDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(cache.resultsDir, 'n-c1-eth0')).mode & 0o777).toBe(0o600);
    expect(readdirSync(cache.resultsDir)).toEqual(['n-c1-eth0']);
  });

  it.each([
    ['../../etc', 'eth0', 'n', ErrorCode.InvalidEnvironment, 'CNI_CONTAINERID has characters'],
    ['c1', 'a/b', 'n', ErrorCode.InvalidEnvironment, 'CNI_IFNAME contains "/"'],
    ['c1', 'eth0', '../n', ErrorCode.InvalidConfig, '"name" may only hold'],
    ['', 'eth0', 'n', ErrorCode.UnknownContainer, 'CNI_CONTAINERID is empty'],
  ])(
    'refuses container %j ifname %j network %j before touching the disk',
    async (id, ifname, network, code, msg) => {
      const root = join(scratch.dir(), 'untouched');
      const cache = new ResultCache(root);
      const attempt = cache.write({ containerId: id, ifname, network, config: Buffer.from('{}') });
      await expect(attempt).rejects.toBeInstanceOf(CniError);
      await expect(attempt).rejects.toMatchObject({ code });
      await expect(attempt).rejects.toThrow(msg);
      expect(existsSync(root)).toBe(false);
    },
  );

  it('reads back an entry written by a libcni runtime (podman), with its config and result', async () => {
    const cacheDir = scratch.dir();
    cpSync(fixtures, cacheDir, { recursive: true });
    const cache = new ResultCache(cacheDir);
    const entry = await cache.read('podnet', PODMAN_ID, 'eth0');
    expect(entry?.kind).toBe('v1');
    if (entry?.kind !== 'v1') return;
    expect(entry.attachment).toMatchObject({
      containerId: PODMAN_ID,
      ifname: 'eth0',
      network: 'podnet',
      netns: PODMAN_NETNS,
      cniArgs: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'web'],
      ],
      capabilityArgs: { portMappings: [{ containerPort: 80, hostPort: 18080, protocol: 'tcp' }] },
    });
    expect(Buffer.from(entry.attachment.config).toString()).toBe(
      readFileSync(join(fixtures, 'podnet.conflist'), 'utf8'),
    );
    // Re-encoding what was read gives back libcni's bytes exactly.
    const file = join(cacheDir, 'results', `podnet-${PODMAN_ID}-eth0`);
    expect(encodeCacheDocument(entry.attachment)).toBe(readFileSync(file, 'utf8'));

    const runtime = new CniRuntime({ pluginDirs: [], cacheDir });
    const list = loadNetworkListFile(join(fixtures, 'podnet.conflist'));
    const result = await runtime.getCachedResult(list, { containerId: PODMAN_ID, netns: '', ifname: 'eth0' });
    expect(result).toMatchObject({
      cniVersion: '1.0.0',
      ips: [{ address: '10.88.0.7/16', gateway: '10.88.0.1', interface: 2 }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
    expect(result?.interfaces?.[2]).toEqual({
      name: 'eth0',
      mac: 'be:61:0f:3d:22:9e',
      sandbox: PODMAN_NETNS,
    });
  });

  it('reads a bare result written before cniCacheV1 as the cached result', async () => {
    const runtime = new CniRuntime({ pluginDirs: [], cacheDir: fixtures });
    const list = loadNetworkListFile(join(fixtures, 'podnet.conflist'));
    const result = await runtime.getCachedResult(list, {
      containerId: 'legacy0001',
      netns: '',
      ifname: 'eth0',
    });
    expect(result?.ips).toEqual([{ address: '10.88.0.9/16', gateway: '10.88.0.1', interface: 0 }]);
  });

  it('lists cniCacheV1 entries (libcni GetCachedAttachments), skipping others', async () => {
    const cacheDir = scratch.dir();
    cpSync(fixtures, cacheDir, { recursive: true });
    const cache = new ResultCache(cacheDir);
    await cache.write({ containerId: 'c2', ifname: 'eth1', network: 'other', config: Buffer.from('{}') });
    const all = await cache.list();
    expect(all.map((a) => `${a.network}/${a.containerId}/${a.ifname}`)).toEqual([
      'other/c2/eth1',
      `podnet/${PODMAN_ID}/eth0`,
    ]);
    expect((await cache.list('other')).map((a) => a.containerId)).toEqual(['c2']);
    await cache.remove('other', 'c2', 'eth1');
    await cache.remove('other', 'c2', 'eth1');
    expect(await cache.list('other')).toEqual([]);
  });
});
