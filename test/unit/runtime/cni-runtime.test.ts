/**
 * CniRuntime's version rules and edge cases (libcni behaviour), driving the recorder test plugins
 * as real processes.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../../../plugins/sdk/errors.ts';
import { CniRuntime } from '../../../runtime/cni-runtime.ts';
import { GarbageCollectionError, PluginFailedError } from '../../../runtime/errors.ts';
import { type NetworkConfigList, parseNetworkList } from '../../../runtime/network-config.ts';
import type { RuntimeConf } from '../../../runtime/plugin-env.ts';
import { buildExecutables } from './executables.ts';
import { Scratch } from './scratch.ts';

const builds = new Scratch();
const scratch = new Scratch();
let binDir = '';

beforeAll(async () => {
  binDir = builds.dir('crosscni-rt-bin-');
  await buildExecutables(binDir);
  // A plugin from before the VERSION command, and one that prints nothing on ADD.
  writeFileSync(
    join(binDir, 'ancient'),
    '#!/bin/sh\necho \'{"code":4,"msg":"unknown CNI_COMMAND: VERSION"}\'\nexit 1\n',
  );
  writeFileSync(join(binDir, 'silent'), '#!/bin/sh\ncat >/dev/null\nexit 0\n');
  chmodSync(join(binDir, 'ancient'), 0o755);
  chmodSync(join(binDir, 'silent'), 0o755);
});
afterAll(() => builds.cleanup());
afterEach(() => scratch.cleanup());

interface Recorded {
  plugin: string;
  command: string;
  stdin: Record<string, unknown>;
}

function fixture(cniVersion: string, extra: Record<string, unknown> = {}, plugins?: unknown[]) {
  const dir = scratch.dir();
  const recordFile = join(dir, 'calls.jsonl');
  const list: NetworkConfigList = parseNetworkList(
    Buffer.from(
      JSON.stringify({
        cniVersion,
        name: 'net',
        plugins: plugins ?? [
          { type: 'recorder-a', recordFile },
          { type: 'recorder-b', recordFile },
        ],
        ...extra,
      }),
    ),
    'test.conflist',
  );
  const runtime = new CniRuntime({ pluginDirs: [binDir], cacheDir: join(dir, 'cache') });
  const recorded = (): Recorded[] =>
    existsSync(recordFile)
      ? readFileSync(recordFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Recorded)
      : [];
  return { list, runtime, recorded, dir, cacheDir: join(dir, 'cache') };
}

const rt: RuntimeConf = { containerId: 'ctr1', netns: '/run/netns/ctr1', ifname: 'eth0' };

describe('running a network list', () => {
  it('converts each result to the list version (0.3.1 here) before passing it on', async () => {
    const { list, runtime, recorded } = fixture('0.3.1');
    const result = await runtime.addNetworkList(list, rt);
    expect(result.cniVersion).toBe('0.3.1');
    expect(recorded()[1]!.stdin.prevResult).toMatchObject({
      cniVersion: '0.3.1',
      ips: [{ version: '4', address: '10.1.0.5/24' }],
    });
  });

  it('gives no prevResult on DEL before 0.4.0, and refuses CHECK there', async () => {
    const { list, runtime, recorded } = fixture('0.3.1');
    await runtime.addNetworkList(list, rt);
    await runtime.delNetworkList(list, rt);
    for (const call of recorded().slice(2)) expect(call.stdin).not.toHaveProperty('prevResult');
    await expect(runtime.checkNetworkList(list, rt)).rejects.toMatchObject({
      code: ErrorCode.IncompatibleVersion,
      msg: 'network "net" has cniVersion 0.3.1, which does not support the CHECK command',
    });
  });

  it('skips CHECK with disableCheck and GC with disableGC', async () => {
    const { list, runtime, recorded } = fixture('1.1.0', { disableCheck: true, disableGC: true });
    await runtime.checkNetworkList(list, rt);
    await runtime.gcNetworkList(list, { validAttachments: [] });
    expect(recorded()).toEqual([]);
  });

  it('asks for STATUS and GC only from 1.1.0 (a no-op before, as in libcni)', async () => {
    const { list, runtime, recorded } = fixture('1.0.0');
    await runtime.getStatusNetworkList(list);
    await runtime.gcNetworkList(list, { validAttachments: [] });
    expect(recorded()).toEqual([]);
  });

  it('drops an unreadable cache entry on DEL and deletes without a prevResult', async () => {
    const { list, runtime, recorded, cacheDir } = fixture('1.0.0');
    mkdirSync(join(cacheDir, 'results'), { recursive: true });
    const file = join(cacheDir, 'results', 'net-ctr1-eth0');
    writeFileSync(file, '{"kind":"cniCacheV1","result":{"cniVersion":"1.0.0","ips":[{"address":"nope"}]}}');
    await expect(runtime.getCachedResult(list, rt)).rejects.toMatchObject({
      code: ErrorCode.DecodingFailure,
      message: expect.stringContaining(
        `result cache ${file}: unusable result: invalid result: ips[0].address`,
      ),
    });
    await runtime.delNetworkList(list, rt);
    expect(recorded().map((c) => `${c.command} ${c.plugin}`)).toEqual(['DEL recorder-b', 'DEL recorder-a']);
    for (const call of recorded()) expect(call.stdin).not.toHaveProperty('prevResult');
    expect(existsSync(file)).toBe(false);
  });

  it('keeps the cache entry when a DEL fails, so the DEL can be retried', async () => {
    const { runtime, dir } = fixture('1.0.0');
    const failing = parseNetworkList(
      Buffer.from(
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'net',
          plugins: [{ type: 'recorder-a' }, { type: 'recorder-b', failOn: 'DEL', failCode: 11 }],
        }),
      ),
      'x',
    );
    await runtime.addNetworkList(failing, rt);
    const attempt = runtime.delNetworkList(failing, rt);
    await expect(attempt).rejects.toBeInstanceOf(PluginFailedError);
    await expect(attempt).rejects.toMatchObject({ code: 11, pluginType: 'recorder-b', command: 'DEL' });
    expect(existsSync(join(dir, 'cache', 'results', 'net-ctr1-eth0'))).toBe(true);
  });

  it('reports every GC failure and keeps going', async () => {
    const { runtime } = fixture('1.1.0');
    const list = parseNetworkList(
      Buffer.from(
        JSON.stringify({
          cniVersion: '1.1.0',
          name: 'net',
          plugins: [
            { type: 'recorder-a', failOn: 'GC', failCode: 5 },
            { type: 'recorder-b', failOn: 'GC', failCode: 11 },
          ],
        }),
      ),
      'x',
    );
    const attempt = runtime.gcNetworkList(list, { validAttachments: [] });
    await expect(attempt).rejects.toBeInstanceOf(GarbageCollectionError);
    await expect(attempt).rejects.toMatchObject({ code: 5, failures: [{ code: 5 }, { code: 11 }] });
  });

  it('refuses an ADD result that is missing, naming the plugin', async () => {
    const { runtime } = fixture('1.0.0');
    const list = parseNetworkList(
      Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'silent' }] })),
      'x',
    );
    await expect(runtime.addNetworkList(list, rt)).rejects.toMatchObject({
      code: ErrorCode.DecodingFailure,
      message: 'network "net": plugin type="silent" failed (ADD): printed no result for ADD',
    });
  });

  it('refuses unsafe attachment names before running anything', async () => {
    const { list, runtime, recorded } = fixture('1.0.0');
    for (const bad of [
      { ...rt, containerId: '../etc' },
      { ...rt, ifname: 'eth0/x' },
      { ...rt, containerId: '' },
    ]) {
      await expect(runtime.addNetworkList(list, bad)).rejects.toBeInstanceOf(CniError);
      await expect(runtime.delNetworkList(list, bad)).rejects.toBeInstanceOf(CniError);
    }
    expect(recorded()).toEqual([]);
  });

  it('reads VERSION answers, with libcni rule for plugins older than VERSION', async () => {
    const { runtime } = fixture('1.0.0');
    expect(await runtime.getVersionInfo('recorder-a')).toEqual({
      cniVersion: '1.1.0',
      supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    expect(await runtime.getVersionInfo('ancient')).toEqual({
      cniVersion: '0.1.0',
      supportedVersions: ['0.1.0'],
    });
    await expect(runtime.getVersionInfo('missing')).rejects.toThrow(
      'plugin type="missing" failed (VERSION): failed to find plugin "missing"',
    );
  });
});
