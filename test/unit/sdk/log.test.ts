/**
 * The invocation log: one JSON line per command in the file the operator names (config or
 * environment), errors included, rotated at the size cap, and never a byte on stdout.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { type CniPlugin, invokePlugin } from '../../../plugins/sdk/skel.ts';
import { envFor } from './cni-call.ts';

const plugin: CniPlugin = {
  add: async (ctx) => ({ cniVersion: ctx.config.cniVersion, ips: [{ address: '10.1.0.5/24' }] }),
  del: async () => {},
  check: async () => {
    throw new CniError(117, 'tampered', 'details here');
  },
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crosscni-log-'));
  dirs.push(dir);
  return dir;
}

function stdinOf(doc: Record<string, unknown>): Uint8Array {
  return Buffer.from(JSON.stringify({ cniVersion: '1.1.0', name: 'lognet', type: 'testplugin', ...doc }));
}

function lines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('invocation log', () => {
  it('writes one JSON line per command to the configured logFile, with the outcome', async () => {
    const file = join(logDir(), 'cni.log');
    const add = await invokePlugin(async () => plugin, envFor('ADD'), stdinOf({ logFile: file }));
    expect(add.exitCode).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    const check = await invokePlugin(async () => plugin, envFor('CHECK'), stdinOf({ logFile: file }));
    expect(check.exitCode).toBe(1);
    const [first, second] = lines(file);
    expect(first).toMatchObject({
      level: 'info',
      plugin: 'testplugin',
      command: 'ADD',
      containerId: 'c0ffee',
      network: 'lognet',
      ifname: 'eth0',
      exitCode: 0,
    });
    expect(typeof first!.durationMs).toBe('number');
    expect(second).toMatchObject({ level: 'error', command: 'CHECK', code: 117, msg: 'tampered' });
  });

  it('lets the environment override the config and filters by level', async () => {
    const dir = logDir();
    const fromConfig = join(dir, 'config.log');
    const fromEnv = join(dir, 'env.log');
    const env = envFor('ADD', { CROSSCNI_LOG_FILE: fromEnv, CROSSCNI_LOG_LEVEL: 'error' });
    await invokePlugin(async () => plugin, env, stdinOf({ logFile: fromConfig }));
    expect(existsSync(fromConfig)).toBe(false);
    // level "error" keeps successful commands out of the log
    expect(existsSync(fromEnv)).toBe(false);
    await invokePlugin(async () => plugin, { ...env, CNI_COMMAND: 'CHECK' }, stdinOf({}));
    expect(lines(fromEnv)).toHaveLength(1);
  });

  it('rotates the file when it would pass logMaxBytes', async () => {
    const file = join(logDir(), 'cni.log');
    writeFileSync(file, `${'x'.repeat(900)}\n`);
    await invokePlugin(async () => plugin, envFor('DEL'), stdinOf({ logFile: file, logMaxBytes: 1000 }));
    expect(readFileSync(`${file}.1`, 'utf8')).toMatch(/^x+\n$/);
    expect(lines(file)).toHaveLength(1);
  });

  it('never fails a command because the log cannot be written', async () => {
    const out = await invokePlugin(
      async () => plugin,
      envFor('ADD'),
      stdinOf({ logFile: '/proc/definitely/not/writable.log' }),
    );
    expect(out.exitCode).toBe(0);
  });
});
