/**
 * The crosscni CLI as a user runs it: a real process, a conf dir, a plugin dir holding two
 * recording test plugins, and a private cache dir. What is asserted is what a user (or a plugin)
 * observes: stdout, stderr, exit status, the cache file, and what each plugin was given.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResultCache } from '../../../runtime/result-cache.ts';
import { buildExecutables } from './executables.ts';
import { Scratch } from './scratch.ts';

const builds = new Scratch();
const scratch = new Scratch();
let binDir = '';
let cli = '';

beforeAll(async () => {
  binDir = builds.dir('crosscni-bin-');
  cli = await buildExecutables(binDir);
});
afterAll(() => builds.cleanup());

interface Invocation {
  plugin: string;
  command: string;
  env: Record<string, string | undefined>;
  stdin: Record<string, unknown>;
}

interface Setup {
  confDir: string;
  cacheDir: string;
  recordFile: string;
  conflistText: string;
}

const NETNS = '/run/netns/e2e-blue';
const CONTAINER_ID = `cnitool-${createHash('sha512').update(NETNS).digest('hex').slice(0, 20)}`;
const CAP_ARGS = {
  portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
  mac: '0a:58:0a:01:00:42',
};
const CNI_ARGS = 'IgnoreUnknown=1;POD_COLOR=blue';

let setup: Setup;

afterEach(() => scratch.cleanup());
beforeEach(() => {
  const root = scratch.dir();
  const recordFile = join(root, 'invocations.jsonl');
  const conflistText = `${JSON.stringify(
    {
      cniVersion: '1.1.0',
      name: 'e2enet',
      plugins: [
        { type: 'recorder-a', recordFile },
        { type: 'recorder-b', recordFile, capabilities: { portMappings: true, bandwidth: true } },
      ],
    },
    null,
    2,
  )}\n`;
  const confDir = join(root, 'net.d');
  const cacheDir = join(root, 'cache');
  mkdirSync(confDir);
  writeFileSync(join(confDir, '10-e2enet.conflist'), conflistText);
  writeFileSync(
    join(confDir, '20-failnet.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'failnet',
      plugins: [
        { type: 'recorder-a', recordFile },
        { type: 'recorder-b', recordFile, failOn: 'ADD', failCode: 11 },
      ],
    }),
  );
  setup = { confDir, cacheDir, recordFile, conflistText };
});

function crosscni(args: string[], extraEnv: Record<string, string> = {}) {
  const run = spawnSync(cli, args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`,
      NETCONFPATH: setup.confDir,
      CNI_PATH: binDir,
      CNI_CACHE_DIR: setup.cacheDir,
      ...extraEnv,
    },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function invocations(): Invocation[] {
  if (!existsSync(setup.recordFile)) return [];
  return readFileSync(setup.recordFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Invocation);
}

function calls(): string[] {
  return invocations().map((i) => `${i.command} ${i.plugin}`);
}

const cacheFile = () => join(setup.cacheDir, 'results', `e2enet-${CONTAINER_ID}-eth0`);

const EXPECTED_RESULT = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:00:05', sandbox: NETNS }],
  ips: [{ interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
  dns: { nameservers: ['10.1.0.1'] },
};

function add() {
  return crosscni(['add', 'e2enet', NETNS], { CAP_ARGS: JSON.stringify(CAP_ARGS), CNI_ARGS });
}

describe('crosscni CLI', () => {
  it('The CLI drives a conflist of two test plugins end to end, including the cache and DEL', () => {
    const added = add();
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual(EXPECTED_RESULT);

    // ADD ran in order; the second plugin got the first one's result as prevResult.
    const [a, b] = invocations();
    expect(calls()).toEqual(['ADD recorder-a', 'ADD recorder-b']);
    expect(a!.stdin).not.toHaveProperty('prevResult');
    expect(b!.stdin.prevResult).toEqual({ ...EXPECTED_RESULT, routes: undefined });
    for (const call of [a!, b!]) {
      expect(call.stdin).toMatchObject({ name: 'e2enet', cniVersion: '1.1.0' });
      expect(call.env).toMatchObject({
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: CONTAINER_ID,
        CNI_NETNS: NETNS,
        CNI_IFNAME: 'eth0',
        CNI_ARGS,
        CNI_PATH: binDir,
      });
    }
    // Capability args only to the plugin that declared them, and only the declared ones.
    expect(a!.stdin).not.toHaveProperty('runtimeConfig');
    expect(b!.stdin.runtimeConfig).toEqual({ portMappings: CAP_ARGS.portMappings });

    // The cache entry, in libcni's format.
    const cached = JSON.parse(readFileSync(cacheFile(), 'utf8'));
    expect(Object.keys(cached)).toEqual([
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
    expect(cached).toEqual({
      kind: 'cniCacheV1',
      containerId: CONTAINER_ID,
      config: Buffer.from(setup.conflistText).toString('base64'),
      ifName: 'eth0',
      networkName: 'e2enet',
      netns: NETNS,
      cniArgs: [
        ['IgnoreUnknown', '1'],
        ['POD_COLOR', 'blue'],
      ],
      capabilityArgs: CAP_ARGS,
      result: EXPECTED_RESULT,
    });

    // CHECK: in order, both with the cached result.
    const checked = crosscni(['check', 'e2enet', NETNS], { CNI_ARGS });
    expect(checked).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const checks = invocations().slice(2);
    expect(checks.map((i) => `${i.command} ${i.plugin}`)).toEqual(['CHECK recorder-a', 'CHECK recorder-b']);
    for (const call of checks) expect(call.stdin.prevResult).toEqual(EXPECTED_RESULT);

    // DEL: reverse order, prevResult from the cache, cache entry gone.
    const deleted = crosscni(['del', 'e2enet', NETNS], { CAP_ARGS: JSON.stringify(CAP_ARGS), CNI_ARGS });
    expect(deleted).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const dels = invocations().slice(4);
    expect(dels.map((i) => `${i.command} ${i.plugin}`)).toEqual(['DEL recorder-b', 'DEL recorder-a']);
    for (const call of dels) {
      expect(call.stdin.prevResult).toEqual(EXPECTED_RESULT);
      expect(call.env.CNI_COMMAND).toBe('DEL');
    }
    expect(dels[0]!.stdin.runtimeConfig).toEqual({ portMappings: CAP_ARGS.portMappings });
    expect(existsSync(cacheFile())).toBe(false);

    // DEL again: idempotent, now without a prevResult.
    expect(crosscni(['del', 'e2enet', NETNS])).toMatchObject({ status: 0, stderr: '' });
    for (const call of invocations().slice(6)) expect(call.stdin).not.toHaveProperty('prevResult');

    // CHECK without a cached result: the container is unknown (code 3).
    const orphan = crosscni(['check', 'e2enet', NETNS]);
    expect(orphan.status).toBe(1);
    const [errorLine, readable] = orphan.stderr.trim().split('\n');
    expect(JSON.parse(errorLine!)).toMatchObject({ cniVersion: '1.1.0', code: 3 });
    expect(readable).toMatch(/^crosscni check: network "e2enet" has no cached result for container cnitool-/);
  });

  it('GC deletes stale cached attachments of the network, then tells plugins which are valid', async () => {
    expect(add().status).toBe(0);
    const cache = new ResultCache(setup.cacheDir);
    const staleResult = { cniVersion: '1.1.0', ips: [{ address: '10.1.0.9/24' }] };
    await cache.write({
      containerId: 'stale-ctr',
      ifname: 'eth0',
      network: 'e2enet',
      netns: '/run/netns/gone',
      config: Buffer.from(setup.conflistText),
      result: staleResult,
    });
    await cache.write({
      containerId: 'other-ctr',
      ifname: 'eth0',
      network: 'othernet',
      config: Buffer.from('{}'),
    });

    // Without --valid, what the cache holds is valid: nothing is deleted.
    expect(crosscni(['gc', 'e2enet'])).toMatchObject({ status: 0, stderr: '' });
    const firstGc = invocations().slice(2);
    expect(firstGc.map((i) => `${i.command} ${i.plugin}`)).toEqual(['GC recorder-a', 'GC recorder-b']);
    expect(firstGc[0]!.stdin['cni.dev/valid-attachments']).toEqual([
      { containerID: CONTAINER_ID, ifname: 'eth0' },
      { containerID: 'stale-ctr', ifname: 'eth0' },
    ]);
    expect(firstGc[0]!.env).toMatchObject({
      CNI_CONTAINERID: '',
      CNI_NETNS: '',
      CNI_IFNAME: '',
      CNI_PATH: binDir,
    });

    const collected = crosscni(['gc', 'e2enet', '--valid', `${CONTAINER_ID}:eth0`]);
    expect(collected).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const secondGc = invocations().slice(4);
    expect(secondGc.map((i) => `${i.command} ${i.plugin}`)).toEqual([
      'DEL recorder-b',
      'DEL recorder-a',
      'GC recorder-a',
      'GC recorder-b',
    ]);
    expect(secondGc[0]!.env).toMatchObject({ CNI_CONTAINERID: 'stale-ctr', CNI_NETNS: '/run/netns/gone' });
    expect(secondGc[0]!.stdin.prevResult).toEqual(staleResult);
    expect(secondGc[2]!.stdin['cni.dev/valid-attachments']).toEqual([
      { containerID: CONTAINER_ID, ifname: 'eth0' },
    ]);
    expect((await cache.list()).map((a) => `${a.network}/${a.containerId}`)).toEqual([
      `e2enet/${CONTAINER_ID}`,
      'othernet/other-ctr',
    ]);
  });

  it('status asks every plugin; version reports each plugin; plugins lists the bin dir', () => {
    const status = crosscni(['status', 'e2enet']);
    expect(status).toMatchObject({
      status: 0,
      stdout: 'network "e2enet" is ready (recorder-a, recorder-b)\n',
    });
    expect(calls()).toEqual(['STATUS recorder-a', 'STATUS recorder-b']);
    expect(invocations()[0]!.env).toMatchObject({ CNI_COMMAND: 'STATUS', CNI_CONTAINERID: '' });

    const version = crosscni(['version', 'e2enet']);
    expect(version.status).toBe(0);
    const answers = JSON.parse(version.stdout) as Array<Record<string, unknown>>;
    expect(answers.map((v) => v.type)).toEqual(['recorder-a', 'recorder-b']);
    for (const answer of answers) {
      expect(answer).toMatchObject({ cniVersion: '1.1.0', supportsNetworkVersion: true });
      expect(answer.supportedVersions).toContain('0.4.0');
    }

    // Default directory: the one the running crosscni lives in; crosscni itself is not listed.
    const plugins = crosscni(['plugins']);
    expect(plugins.status).toBe(0);
    expect(plugins.stdout).toMatch(
      /^PLUGIN\s+CNI VERSIONS\nrecorder-a\s+0\.1\.0 .*1\.1\.0\nrecorder-b\s+0\.1\.0/,
    );
    expect(plugins.stdout).not.toContain('crosscni');
    const json = JSON.parse(crosscni(['plugins', binDir, '--json']).stdout) as Array<{ type: string }>;
    expect(json.map((p) => p.type)).toEqual(['recorder-a', 'recorder-b']);
  });

  it('reports a failing plugin with its own code, names it, and caches nothing', () => {
    const failed = crosscni(['add', 'failnet', NETNS]);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    const [errorLine, readable] = failed.stderr.trim().split('\n');
    expect(JSON.parse(errorLine!)).toEqual({
      cniVersion: '1.0.0',
      code: 11,
      msg: 'network "failnet": plugin type="recorder-b" failed (ADD): recorder-b was told to fail ADD',
      details: 'failOn is set in its config',
    });
    expect(readable).toBe(
      'crosscni add: network "failnet": plugin type="recorder-b" failed (ADD): recorder-b was told to fail ADD: failOn is set in its config',
    );
    expect(calls()).toEqual(['ADD recorder-a', 'ADD recorder-b']);
    expect(existsSync(join(setup.cacheDir, 'results'))).toBe(false);
  });

  it('explains a missing network, a missing plugin, bad CAP_ARGS and a bad command line', () => {
    const missing = crosscni(['add', 'nonet', NETNS]);
    expect(missing.status).toBe(1);
    expect(JSON.parse(missing.stderr.split('\n')[0]!)).toMatchObject({ code: 7 });
    expect(missing.stderr).toContain(`no network configuration named "nonet" in ${setup.confDir}`);
    expect(missing.stderr).toContain(
      'networks found: e2enet (10-e2enet.conflist), failnet (20-failnet.conflist)',
    );

    const noPlugin = crosscni(['add', 'e2enet', NETNS], { CNI_PATH: '/nonexistent' });
    expect(noPlugin.status).toBe(1);
    expect(noPlugin.stderr).toContain(
      'plugin type="recorder-a" failed (ADD): failed to find plugin "recorder-a"',
    );

    const badCaps = crosscni(['add', 'e2enet', NETNS], { CAP_ARGS: '[1,2]' });
    expect(badCaps.status).toBe(1);
    expect(JSON.parse(badCaps.stderr.split('\n')[0]!)).toMatchObject({ code: 6 });

    const usage = crosscni(['add', 'e2enet']);
    expect(usage).toMatchObject({ status: 2, stdout: '' });
    expect(usage.stderr).toMatch(/^crosscni: crosscni add takes NETWORK NETNS-PATH\nUsage:\n/);
    expect(usage.stderr).toMatch(/Run 'crosscni --help' for more.\n$/);

    const help = crosscni(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('crosscni add     NETWORK NETNS-PATH');
  });

  it('honours CNI_IFNAME, -i and CNI_CONTAINERID', () => {
    expect(crosscni(['add', 'e2enet', NETNS, '-i', 'net7'], { CNI_CONTAINERID: 'pod-1234' }).status).toBe(0);
    expect(existsSync(join(setup.cacheDir, 'results', 'e2enet-pod-1234-net7'))).toBe(true);
    expect(
      crosscni(['del', 'e2enet', NETNS], { CNI_CONTAINERID: 'pod-1234', CNI_IFNAME: 'net7' }).status,
    ).toBe(0);
    expect(existsSync(join(setup.cacheDir, 'results', 'e2enet-pod-1234-net7'))).toBe(false);
    expect(invocations().map((i) => i.env.CNI_IFNAME)).toEqual(['net7', 'net7', 'net7', 'net7']);
  });
});
