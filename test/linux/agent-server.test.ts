/**
 * The agent server in this process, with plugins made for the test, behind the real perl shim:
 * the watchdog answers "try again later" for a call that never finishes and the agent keeps
 * serving; a type the agent does not serve is declined and the shim runs the Node plugin; a
 * malformed request gets an error and harms nothing; the wire format round-trips and enforces
 * its bounds; the agent serves exactly the plugins the build makes executables for.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CniPlugin } from '../../plugins/sdk/skel.ts';
import { AGENT_PLUGINS } from '../../runtime/agent/plugin-registry.ts';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  MAX_STDIN_BYTES,
  ProtocolError,
  ResponseKind,
} from '../../runtime/agent/protocol.ts';
import { type RunningAgent, startAgent } from '../../runtime/agent/server.ts';
import { SOCKET_ENV, shimScript } from '../../runtime/agent/shim.ts';
import { isRoot } from '../support/kernel.ts';
import { distBin, repoRoot } from '../support/plugin-exec.ts';

interface Answer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function execFile(file: string, env: Record<string, string>, stdin: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const CONFIG = '{"cniVersion":"1.0.0","name":"n","type":"x"}';
const hang: CniPlugin = {
  add: () => new Promise(() => undefined),
  del: async () => undefined,
  check: async () => undefined,
};
const ok: CniPlugin = {
  add: async (ctx) => ({ cniVersion: ctx.config.cniVersion, ips: [{ address: '10.0.0.2/24' }] }),
  del: async () => undefined,
  check: async () => undefined,
};

let dir = '';
let agent: RunningAgent | undefined;
const logged: string[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crosscni-agent-server-'));
  // Shims for three types; "bridge" is not served by this agent, so it must fall back to dist/bin.
  for (const type of ['hang', 'ok', 'bridge'])
    writeFileSync(join(dir, type), shimScript(distBin), { mode: 0o755 });
  agent = await startAgent({
    socketPath: join(dir, 'run', 'agent.sock'),
    plugins: { hang: async () => hang, ok: async () => ok },
    requestTimeoutMs: 300,
    log: (line) => logged.push(line),
  });
});

afterEach(async () => {
  // The hung call never settles: do not wait for it.
  void agent?.close();
  agent = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function call(type: string, command: string, extra: Record<string, string> = {}): Promise<Answer> {
  return execFile(
    join(dir, type),
    {
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_PATH: dir,
      [SOCKET_ENV]: join(dir, 'run', 'agent.sock'),
      ...extra,
    },
    CONFIG,
  );
}

describe.skipIf(!isRoot)('agent server behind the shim', () => {
  it('a call past the watchdog gets "try again later", and the agent keeps serving', async () => {
    const stuck = await call('hang', 'ADD');
    expect(stuck.exitCode).toBe(1);
    expect(JSON.parse(stuck.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 11 });
    expect(JSON.parse(stuck.stdout).msg).toContain('did not finish within 300 ms');
    expect(logged.some((l) => l.includes('still running after 300 ms'))).toBe(true);
    expect(agent!.inFlight()).toBe(1);
    const next = await call('ok', 'ADD');
    expect(next.exitCode).toBe(0);
    expect(JSON.parse(next.stdout).ips).toEqual([{ address: '10.0.0.2/24' }]);
  });

  it('a type the agent does not serve is declined and the shim runs the Node plugin', async () => {
    const answer = await call('bridge', 'VERSION');
    expect(answer.exitCode).toBe(0);
    expect(JSON.parse(answer.stdout).supportedVersions).toContain('1.1.0');
  });

  it('beyond its in-flight limit the agent declines and the shim runs the Node plugin', async () => {
    await agent!.close();
    // One call at a time; "bridge" is served by a stand-in that answers ADD with 10.0.0.2.
    agent = await startAgent({
      socketPath: join(dir, 'run', 'agent.sock'),
      plugins: { hang: async () => hang, bridge: async () => ok },
      requestTimeoutMs: 2_000,
      maxInFlight: 1,
      log: (line) => logged.push(line),
    });
    const stuck = call('hang', 'ADD');
    while (agent.inFlight() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    // The real bridge (the fallback) finds no namespace at /run/netns/x.
    const declined = await call('bridge', 'ADD');
    expect(declined.exitCode).toBe(1);
    expect(JSON.parse(declined.stdout)).toMatchObject({ code: 3 });
    expect(declined.stdout).toContain('/run/netns/x');
    // The watchdog ends the first call's wait; the shim process exits with it.
    expect(JSON.parse((await stuck).stdout)).toMatchObject({ code: 11 });
  });

  it('a malformed request gets an error answer and the agent keeps serving', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const conn = createConnection(join(dir, 'run', 'agent.sock'));
      const chunks: Buffer[] = [];
      conn.on('data', (c: Buffer) => chunks.push(c));
      conn.on('end', () => resolve(Buffer.concat(chunks)));
      conn.on('error', reject);
      conn.end('GET / HTTP/1.0\r\n\r\n');
    });
    const response = decodeResponse(reply);
    expect(response).toMatchObject({ kind: ResponseKind.Answer, exitCode: 1 });
    expect(JSON.parse(response!.stdout).msg).toContain('bad request');
    expect((await call('ok', 'ADD')).exitCode).toBe(0);
  });
});

describe('agent wire format', () => {
  it('round-trips a request arriving in pieces, and a response', () => {
    const request = {
      type: 'bridge',
      env: { CNI_COMMAND: 'ADD', EMPTY: '', 'WITH=': 'a=b' },
      stdin: Buffer.from('{}'),
    };
    const bytes = encodeRequest(request);
    for (let cut = 0; cut < bytes.length; cut++)
      expect(decodeRequest(bytes.subarray(0, cut))).toBeUndefined();
    // "WITH=" cannot be a variable name: the first "=" ends the name.
    expect(decodeRequest(bytes)).toEqual({
      type: 'bridge',
      env: { CNI_COMMAND: 'ADD', EMPTY: '', WITH: '=a=b' },
      stdin: Buffer.from('{}'),
    });
    const response = { kind: ResponseKind.Answer, exitCode: 1, stdout: '{"code":7}\n', stderr: 'ü' };
    expect(decodeResponse(encodeResponse(response))).toEqual(response);
    expect(decodeResponse(encodeResponse(response).subarray(0, 20))).toBeUndefined();
  });

  it('refuses what breaks the bounds as soon as the length is known', () => {
    const big = encodeRequest({ type: 't', env: {}, stdin: Buffer.alloc(0) });
    big.writeUInt32BE(MAX_STDIN_BYTES + 1, big.length - 4);
    expect(() => decodeRequest(big)).toThrow(ProtocolError);
    expect(() => decodeRequest(Buffer.from('XNA1'))).toThrow(ProtocolError);
    expect(() =>
      decodeRequest(
        Buffer.concat([encodeRequest({ type: 't', env: {}, stdin: Buffer.alloc(1) }), Buffer.from('x')]),
      ),
    ).toThrow(/after the end/);
  });

  it('the agent serves exactly the plugins that have an executable', () => {
    const types = readdirSync(join(repoRoot, 'plugins'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && readdirSync(join(repoRoot, 'plugins', d.name)).includes('main.ts'))
      .map((d) => d.name)
      .filter((name) => name !== 'sdk');
    expect(Object.keys(AGENT_PLUGINS).sort()).toEqual(types.sort());
  });
});
