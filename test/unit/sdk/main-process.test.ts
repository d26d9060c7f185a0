// The process edge (main.ts) through a real plugin executable: a fixture bundled with esbuild
// as ci/build.mjs bundles plugins, spawned with an environment and stdin as a runtime does.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFixture, processEnv } from './bundle-fixture.ts';
import {
  configFor,
  type Env,
  envFor,
  expectAddResult,
  expectEmptySuccess,
  expectError,
  VERSIONS,
} from './cni-call.ts';

interface ProcessRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

type Stdin = Uint8Array | string | { fd: number } | { chunks: string[]; gapMs: number };

/** Run the plugin file; resolves when it exits (stdin write errors such as EPIPE are expected). */
function runProcess(file: string, env: Env, stdin: Stdin): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const input = typeof stdin === 'object' && 'fd' in stdin ? stdin.fd : 'pipe';
    const child = spawn(file, [], { env: processEnv(env), stdio: [input, 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      resolve({ stdout, stderr, exitCode: code ?? (signal ? 128 : -1) });
    });
    if (!child.stdin) return;
    child.stdin.on('error', () => undefined);
    if (typeof stdin === 'object' && 'chunks' in stdin) {
      const [first, ...rest] = stdin.chunks;
      child.stdin.write(first);
      setTimeout(() => child.stdin?.end(rest.join('')), stdin.gapMs);
    } else {
      child.stdin.end(typeof stdin === 'string' ? stdin : Buffer.from(stdin as Uint8Array));
    }
  });
}

let dir: string;
let plugin: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crosscni-sdk-main-'));
  plugin = await bundleFixture('test-plugin.ts', dir, 'crosscni-fixture');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a bundled plugin executable', () => {
  it('answers VERSION with an empty stdin', async () => {
    const run = await runProcess(plugin, { CNI_COMMAND: 'VERSION' }, '');
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...VERSIONS] });
  });

  it('answers VERSION with stdin from /dev/null', async () => {
    const devNull = openSync('/dev/null', 'r');
    try {
      const run = await runProcess(plugin, { CNI_COMMAND: 'VERSION' }, { fd: devNull });
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...VERSIONS] });
    } finally {
      closeSync(devNull);
    }
  });

  it('echoes the requested version on VERSION', async () => {
    const run = await runProcess(plugin, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.3.1"}');
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ cniVersion: '0.3.1', supportedVersions: [...VERSIONS] });
  });

  it('prints an ADD result in the config version and exits 0', async () => {
    const run = await runProcess(plugin, envFor('ADD'), JSON.stringify(configFor('0.3.1')));
    const doc = expectAddResult({ stdout: run.stdout, exitCode: run.exitCode }, '0.3.1');
    expect(doc.ips).toEqual([{ version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }]);
  });

  it('prints nothing for DEL with an empty CNI_NETNS and exits 0', async () => {
    const run = await runProcess(
      plugin,
      envFor('DEL', { CNI_NETNS: '' }),
      JSON.stringify(configFor('1.0.0')),
    );
    expectEmptySuccess({ stdout: run.stdout, exitCode: run.exitCode });
  });

  it('reads a config that arrives in pieces', async () => {
    const text = JSON.stringify(configFor('1.1.0'));
    const stdin = { chunks: [text.slice(0, 10), text.slice(10)], gapMs: 150 };
    const run = await runProcess(plugin, envFor('ADD'), stdin);
    expectAddResult({ stdout: run.stdout, exitCode: run.exitCode }, '1.1.0');
  });

  it('refuses stdin over 1 MiB with code 6, without reading all of it', async () => {
    const huge = `{"cniVersion":"1.0.0","name":"n","type":"t","pad":"${'x'.repeat(4 * 1024 * 1024)}"}`;
    const run = await runProcess(plugin, envFor('ADD'), huge);
    const doc = expectError({ stdout: run.stdout, exitCode: run.exitCode }, 6, '1.0.0');
    expect(doc.msg).toContain('1 MiB');
    expect(run.exitCode).toBe(1);
  });

  it('passes a plugin-specific error through with exit status 1', async () => {
    const env = envFor('ADD', { FIXTURE_FAIL: '117' });
    const run = await runProcess(plugin, env, JSON.stringify(configFor('0.4.0')));
    const doc = expectError({ stdout: run.stdout, exitCode: run.exitCode }, 117, '0.4.0');
    expect(doc).toEqual({
      cniVersion: '0.4.0',
      code: 117,
      msg: 'fixture asked to fail with 117',
      details: 'FIXTURE_FAIL is set',
    });
    expect(run.exitCode).toBe(1);
  });

  it('passes STATUS code 50 through', async () => {
    const env = { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin', FIXTURE_FAIL: '50' };
    const run = await runProcess(plugin, env, JSON.stringify(configFor('1.1.0')));
    expectError({ stdout: run.stdout, exitCode: run.exitCode }, 50, '1.1.0');
  });

  it('reports a missing CNI_COMMAND with code 4', async () => {
    const run = await runProcess(
      plugin,
      envFor('ADD', { CNI_COMMAND: undefined }),
      JSON.stringify(configFor('1.0.0')),
    );
    expectError({ stdout: run.stdout, exitCode: run.exitCode }, 4);
  });

  it('reports a hostile ifname with code 4', async () => {
    const run = await runProcess(
      plugin,
      envFor('ADD', { CNI_IFNAME: '../x' }),
      JSON.stringify(configFor('1.0.0')),
    );
    expectError({ stdout: run.stdout, exitCode: run.exitCode }, 4, '1.0.0');
  });

  it('reports an unreadable stdin as an I/O failure (code 5), still one JSON document', async () => {
    const directory = openSync(dir, 'r');
    try {
      const run = await runProcess(plugin, envFor('ADD'), { fd: directory });
      const doc = expectError({ stdout: run.stdout, exitCode: run.exitCode }, 5);
      expect(doc.msg).toContain('stdin');
      expect(doc.details).toContain('EISDIR');
    } finally {
      closeSync(directory);
    }
  });

  it('still answers VERSION when stdin cannot be read', async () => {
    const directory = openSync(dir, 'r');
    try {
      const run = await runProcess(plugin, { CNI_COMMAND: 'VERSION' }, { fd: directory });
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...VERSIONS] });
    } finally {
      closeSync(directory);
    }
  });
});
