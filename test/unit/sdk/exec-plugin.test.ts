// Executing plugins (exec-plugin.ts) and IPAM delegation (ipam.ts) against a fake IPAM plugin
// bundled with esbuild into a temporary CNI_PATH.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { execPlugin } from '../../../plugins/sdk/exec-plugin.ts';
import { findPlugin } from '../../../plugins/sdk/find-plugin.ts';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../../../plugins/sdk/ipam.ts';
import type { Result } from '../../../plugins/sdk/result.ts';
import { bundleFixture, processEnv } from './bundle-fixture.ts';
import {
  call,
  configFor,
  type Env,
  envFor,
  expectAddResult,
  expectEmptySuccess,
  expectError,
  recordingPlugin,
} from './cni-call.ts';

let cniPath: string;
let fakeIpam: string;
let logFile: string;

beforeAll(async () => {
  cniPath = mkdtempSync(join(tmpdir(), 'crosscni-sdk-exec-'));
  fakeIpam = await bundleFixture('fake-ipam.ts', cniPath, 'fake-ipam');
  logFile = join(cniPath, 'ipam.log');
});

afterAll(() => rmSync(cniPath, { recursive: true, force: true }));

async function execError(promise: Promise<unknown>): Promise<CniError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error('expected a CniError');
}

const ipamConfig = (version: string) =>
  configFor(version, { ipam: { type: 'fake-ipam', subnet: '10.1.0.0/24' } });

/** The environment of a plugin invocation whose CNI_PATH holds the fake IPAM plugin. */
function pluginEnv(command: string, extra: Env = {}): Env {
  return processEnv(envFor(command, { CNI_PATH: cniPath, ...extra }));
}

function readLog(): { command: string; envKeys: string[]; stdin: string }[] {
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

describe('execPlugin', () => {
  const stdin = Buffer.from(JSON.stringify(ipamConfig('1.0.0')));

  it('runs the executable with exactly the given environment and returns its document', async () => {
    writeFileSync(logFile, '');
    process.env.SDK_TEST_PARENT_ONLY = 'leak';
    try {
      const run = await execPlugin(fakeIpam, pluginEnv('ADD', { FAKE_IPAM_LOG: logFile }), stdin);
      expect(run.output).toEqual({
        cniVersion: '1.0.0',
        ips: [{ address: '10.1.0.7/24', gateway: '10.1.0.1' }],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
        dns: { nameservers: ['10.1.0.1'] },
      });
    } finally {
      delete process.env.SDK_TEST_PARENT_ONLY;
    }
    const [entry] = readLog();
    expect(entry?.command).toBe('ADD');
    expect(entry?.envKeys).not.toContain('SDK_TEST_PARENT_ONLY');
    expect(entry?.stdin).toBe(stdin.toString());
  });

  it('returns no output for a command that prints nothing', async () => {
    expect((await execPlugin(fakeIpam, pluginEnv('DEL'), stdin)).output).toBeUndefined();
  });

  it("turns the plugin's error result into that CniError", async () => {
    const error = await execError(execPlugin(fakeIpam, pluginEnv('ADD', { FAKE_IPAM_MODE: 'error' }), stdin));
    expect(error).toMatchObject({
      code: 117,
      msg: 'no free addresses in 10.1.0.0/24',
      details: 'range set 0 is exhausted',
    });
  });

  it('reports garbage on a successful exit as a decoding failure (code 6)', async () => {
    const error = await execError(
      execPlugin(fakeIpam, pluginEnv('ADD', { FAKE_IPAM_MODE: 'garbage' }), stdin),
    );
    expect(error.code).toBe(6);
    expect(error.msg).toContain(fakeIpam);
  });

  it('reports garbage on a failed exit as an I/O failure (code 5) with the exit status and stderr', async () => {
    const env = pluginEnv('ADD', { FAKE_IPAM_MODE: 'garbage-fail' });
    const error = await execError(execPlugin(fakeIpam, env, stdin));
    expect(error.code).toBe(5);
    expect(error.msg).toContain('exited with status 2');
    expect(error.details).toContain('goroutine 1');
  });

  it('reports a killed plugin as an I/O failure (code 5) naming the signal', async () => {
    const error = await execError(execPlugin(fakeIpam, pluginEnv('ADD', { FAKE_IPAM_MODE: 'crash' }), stdin));
    expect(error.code).toBe(5);
    expect(error.msg).toContain('SIGKILL');
  });

  it('reports a plugin that outlives the timeout as try-again (code 11)', async () => {
    const env = pluginEnv('ADD', { FAKE_IPAM_MODE: 'hang' });
    const error = await execError(execPlugin(fakeIpam, env, stdin, 500));
    expect(error.code).toBe(11);
    expect(error.msg).toContain('500 ms');
  });

  it('reports an executable that cannot be started as an I/O failure (code 5) saying why', async () => {
    const error = await execError(execPlugin(join(cniPath, 'no-such-plugin'), pluginEnv('ADD'), stdin));
    expect(error.code).toBe(5);
    expect(`${error.msg} ${error.details}`).toContain('ENOENT');
    expect(error.msg).not.toContain('undefined');
  });
});

describe('IPAM delegation through a plugin', () => {
  /** A plugin that delegates every command to its IPAM and returns what IPAM gave on ADD. */
  function delegatingPlugin() {
    const seen: { ipamResult?: Result } = {};
    const rec = recordingPlugin({
      add: async (ctx) => {
        seen.ipamResult = await ipamAdd(ctx);
        return seen.ipamResult;
      },
      del: ipamDel,
      check: ipamCheck,
      status: ipamStatus,
      gc: ipamGc,
    });
    return { plugin: rec.plugin, seen };
  }

  it('reads a 0.2.0 IPAM result into the newest model and prints it in the config version', async () => {
    const { plugin, seen } = delegatingPlugin();
    const { output } = await call(plugin, pluginEnv('ADD'), ipamConfig('0.2.0'));
    expect(seen.ipamResult).toEqual({
      cniVersion: '0.2.0',
      ips: [{ address: '10.1.0.7/24', gateway: '10.1.0.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
      dns: { nameservers: ['10.1.0.1'] },
    });
    expect(expectAddResult(output, '0.2.0')).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.1.0.7/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
      dns: { nameservers: ['10.1.0.1'] },
    });
  });

  it('reads an IPAM that answers 0.2.0 to a 1.0.0 config by its own version', async () => {
    const { plugin, seen } = delegatingPlugin();
    const { output } = await call(
      plugin,
      pluginEnv('ADD', { FAKE_IPAM_MODE: 'legacy' }),
      ipamConfig('1.0.0'),
    );
    expect(seen.ipamResult).toEqual({
      cniVersion: '0.2.0',
      ips: [{ address: '10.1.0.8/24', gateway: '10.1.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
    expect(expectAddResult(output, '1.0.0').ips).toEqual([{ address: '10.1.0.8/24', gateway: '10.1.0.1' }]);
  });

  it("passes the IPAM plugin's error through with its code", async () => {
    const { plugin } = delegatingPlugin();
    const { output } = await call(plugin, pluginEnv('ADD', { FAKE_IPAM_MODE: 'error' }), ipamConfig('0.4.0'));
    const doc = expectError(output, 117, '0.4.0');
    expect(doc).toEqual({
      cniVersion: '0.4.0',
      code: 117,
      msg: 'no free addresses in 10.1.0.0/24',
      details: 'range set 0 is exhausted',
    });
  });

  it.each([
    ['garbage', 6],
    ['garbage-fail', 5],
    ['silent', 6],
    ['crash', 5],
  ])('ADD with an IPAM that is %s: code %i', async (mode, code) => {
    const { plugin } = delegatingPlugin();
    const { output } = await call(plugin, pluginEnv('ADD', { FAKE_IPAM_MODE: mode }), ipamConfig('1.0.0'));
    expectError(output, code, '1.0.0');
  });

  it('runs DEL, CHECK, STATUS and GC on the IPAM plugin with the same stdin', async () => {
    writeFileSync(logFile, '');
    const { plugin } = delegatingPlugin();
    const log = { FAKE_IPAM_LOG: logFile };
    const none = { CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_IFNAME: undefined };
    const config = JSON.stringify(ipamConfig('1.1.0'));
    for (const [command, env] of [
      ['DEL', pluginEnv('DEL', log)],
      ['CHECK', pluginEnv('CHECK', log)],
      ['STATUS', pluginEnv('STATUS', { ...log, ...none })],
      ['GC', pluginEnv('GC', { ...log, ...none })],
    ] as const) {
      expectEmptySuccess((await call(plugin, env, config)).output);
      expect(readLog().at(-1)).toMatchObject({ command, stdin: config });
    }
    expect(readLog().map((entry) => entry.command)).toEqual(['DEL', 'CHECK', 'STATUS', 'GC']);
  });

  it('refuses to delegate without ipam.type (code 7)', async () => {
    const { plugin } = delegatingPlugin();
    const doc = expectError((await call(plugin, pluginEnv('ADD'), configFor('1.0.0'))).output, 7, '1.0.0');
    expect(doc.msg).toContain('ipam.type');
  });

  it('reports an IPAM plugin missing from CNI_PATH (code 7)', async () => {
    const { plugin } = delegatingPlugin();
    const config = configFor('1.0.0', { ipam: { type: 'host-local' } });
    const doc = expectError((await call(plugin, pluginEnv('ADD'), config)).output, 7, '1.0.0');
    expect(doc.msg).toContain(cniPath);
  });

  it('turns an IPAM exec timeout into try-again (code 11) for the runtime', async () => {
    const rec = recordingPlugin({
      add: async (ctx) => {
        const file = findPlugin(ctx.config.ipam!.type, ctx.path);
        await execPlugin(file, { ...ctx.env, CNI_COMMAND: 'ADD' }, ctx.stdin, 300);
        throw new Error('unreachable');
      },
    });
    const { output } = await call(
      rec.plugin,
      pluginEnv('ADD', { FAKE_IPAM_MODE: 'hang' }),
      ipamConfig('1.0.0'),
    );
    expectError(output, 11, '1.0.0');
  });
});
