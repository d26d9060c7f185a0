/**
 * The resident agent behind the perl exec shims, on the real kernel: a bin dir installed with
 * `install --agent` whose Node plugins are removed (so every answer must come from the agent),
 * an agent started from that install as a runtime host would run it, and the same calls made
 * through the shims and by exec'ing dist/bin directly must give the same answers. Fallback
 * semantics use a second install whose Node plugins are present. Each test makes its own
 * namespaces, bridges and data dirs and removes them afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withFileLock } from '../../linux/file-lock.ts';
import { networkTable } from '../../linux/netfilter-names.ts';
import { SOCKET_ENV } from '../../runtime/agent/shim.ts';
import { CniRuntime } from '../../runtime/cni-runtime.ts';
import { install } from '../../runtime/install.ts';
import { NODE_DIR } from '../../runtime/install-agent.ts';
import { parseNetworkList } from '../../runtime/network-config.ts';
import { type IpAddrInfo, ipJson, isRoot, KernelScratch, sh, uniqueName } from '../support/kernel.ts';
import { distBin } from '../support/plugin-exec.ts';

const PLUGIN_TYPES = [
  'bandwidth',
  'bridge',
  'host-local',
  'loopback',
  'nat',
  'portmap',
  'sdnbridge',
  'static',
];

interface Answer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Exec `file` as a runtime does: only the given environment, `stdin` on stdin. */
function execFile(file: string, env: Record<string, string>, stdin: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        exitCode: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
    child.stdin.end(stdin);
  });
}

let root = '';
/** Shims whose Node plugins were removed: only the agent can answer. */
let agentBin = '';
/** Shims with their Node plugins: what a host has when the agent is down. */
let fallbackBin = '';
let socketPath = '';
let agent: ChildProcess | undefined;

function startAgentProcess(socket: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(agentBin, NODE_DIR, 'crosscni'), 'agent', '--socket', socket],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => reject(new Error(`agent wrote to stdout: ${c}`)));
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes('serving')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`agent exited with ${code}: ${stderr}`)));
  });
}

beforeAll(async () => {
  if (!isRoot) return;
  root = mkdtempSync(join(tmpdir(), 'crosscni-agent-'));
  agentBin = join(root, 'agent-bin');
  fallbackBin = join(root, 'fallback-bin');
  for (const binDir of [agentBin, fallbackBin]) {
    install({ sourceDir: distBin, binDir, confDir: join(root, 'net.d'), force: false, agent: true });
  }
  for (const type of PLUGIN_TYPES) rmSync(join(agentBin, NODE_DIR, type));
  mkdirSync(join(root, 'run'), { mode: 0o700 });
  socketPath = join(root, 'run', 'agent.sock');
  agent = await startAgentProcess(socketPath);
}, 60_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    agent.kill('SIGTERM');
    await exited;
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

let scratch: KernelScratch | undefined;
afterEach(() => {
  scratch?.cleanup();
  scratch = undefined;
});

interface Network {
  name: string;
  bridge: string;
  dataDir: string;
  conflist: ReturnType<typeof parseNetworkList>;
}

function network(octet: number): Network {
  scratch ??= new KernelScratch();
  const name = uniqueName('agn');
  scratch.nftTable('inet', networkTable(name));
  const bridge = scratch.link(uniqueName('abr'));
  const dataDir = mkdtempSync(join(root, 'ipam-'));
  const conflist = parseNetworkList(
    Buffer.from(
      JSON.stringify({
        cniVersion: '1.0.0',
        name,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipMasq: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: `10.236.${octet}.0/24` }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir,
            },
          },
        ],
      }),
    ),
    'agent test',
  );
  return { name, bridge, dataDir, conflist };
}

function runtimeFor(binDir: string): CniRuntime {
  const cacheDir = mkdtempSync(join(root, 'cache-'));
  return new CniRuntime({
    pluginDirs: [binDir],
    cacheDir,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', [SOCKET_ENV]: socketPath },
  });
}

/** A result with this network's own names and subnet replaced, so two networks compare equal. */
function normalise(net: Network, octet: number, ns: string, value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value)
      .replaceAll(net.bridge, '<bridge>')
      .replaceAll(ns, '<netns>')
      .replaceAll(`10.236.${octet}.`, '10.236.X.')
      .replace(/veth[0-9a-f]{8}/g, '<veth>')
      .replace(/"mac":"[0-9a-f:]{17}"/g, '"mac":"<mac>"'),
  );
}

function reservations(net: Network): string[] {
  try {
    return readdirSync(join(net.dataDir, net.name)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  } catch {
    return [];
  }
}

const NETLINK_NETFILTER = 12;

/** Inodes of the netlink sockets of `protocol` that process `pid` holds open. */
function netlinkSocketsOf(pid: number, protocol: number): string[] {
  const open = new Set(
    readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    }),
  );
  // /proc/net/netlink: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode (Eth: the protocol).
  return readFileSync('/proc/net/netlink', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === protocol && open.has(`socket:[${f[9]}]`))
    .map((f) => f[9]!);
}

describe.skipIf(!isRoot)('resident agent behind the exec shims', () => {
  it('bridge + host-local ADD, CHECK, DEL through the runtime library: same as direct exec', async () => {
    const viaAgent = network(1);
    const direct = network(2);
    const results: unknown[] = [];
    for (const [net, binDir, octet] of [
      [viaAgent, agentBin, 1],
      [direct, distBin, 2],
    ] as const) {
      const ns = scratch!.namespace('agt');
      const runtime = runtimeFor(binDir);
      const rt = { containerId: `agent-${octet}`, netns: ns.path, ifname: 'eth0' };
      scratch!.onCleanup(() => void runtime.delNetworkList(net.conflist, rt).catch(() => undefined));
      const result = await runtime.addNetworkList(net.conflist, rt);
      const [eth0] = ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', 'eth0'], ns.name);
      expect(eth0?.addr_info.map((a) => a.local)).toContain(`10.236.${octet}.2`);
      expect(reservations(net)).toEqual([`10.236.${octet}.2`]);
      await runtime.checkNetworkList(net.conflist, rt);
      await runtime.delNetworkList(net.conflist, rt);
      expect(ipJson<IpAddrInfo[]>(['link', 'show', 'master', net.bridge])).toEqual([]);
      expect(reservations(net)).toEqual([]);
      results.push(normalise(net, octet, ns.path, result));
    }
    expect(results[0]).toEqual(results[1]);
  });

  it('keeps its NETLINK_NETFILTER sockets across calls (a DEL closes none after its deletion)', async () => {
    const net = network(4);
    const runtime = runtimeFor(agentBin);
    const masquerading = () => sh('nft', ['list', 'set', 'inet', networkTable(net.name), 'masq4']);
    const nfnlSockets = async () => {
      const rt = {
        containerId: uniqueName('agent-keep-'),
        netns: scratch!.namespace('agk').path,
        ifname: 'eth0',
      };
      scratch!.onCleanup(() => void runtime.delNetworkList(net.conflist, rt).catch(() => undefined));
      await runtime.addNetworkList(net.conflist, rt);
      expect(masquerading()).toContain('10.236.4.');
      await runtime.delNetworkList(net.conflist, rt);
      expect(masquerading()).not.toContain('10.236.4.');
      return netlinkSocketsOf(agent!.pid!, NETLINK_NETFILTER);
    };
    const first = await nfnlSockets();
    expect(first.length).toBeGreaterThan(0);
    // The next ADD and DEL reuse them: none of the first call's sockets was closed.
    expect(await nfnlSockets()).toEqual(expect.arrayContaining(first));
  });

  it('VERSION through the shim answers as the plugin does', async () => {
    for (const type of ['bridge', 'host-local', 'loopback']) {
      const stdin = '{"cniVersion":"0.4.0"}';
      const shim = await execFile(
        join(agentBin, type),
        { CNI_COMMAND: 'VERSION', [SOCKET_ENV]: socketPath },
        stdin,
      );
      const direct = await execFile(join(distBin, type), { CNI_COMMAND: 'VERSION' }, stdin);
      expect(shim).toEqual(direct);
      expect(JSON.parse(shim.stdout).cniVersion).toBe('0.4.0');
    }
  });

  it('8 concurrent ADDs get 8 distinct addresses, and 8 DELs remove them all', async () => {
    const net = network(3);
    const runtime = runtimeFor(agentBin);
    const attachments = Array.from({ length: 8 }, (_, i) => ({
      containerId: `agent-par-${i}`,
      netns: scratch!.namespace('agp').path,
      ifname: 'eth0',
    }));
    for (const rt of attachments)
      scratch!.onCleanup(() => void runtime.delNetworkList(net.conflist, rt).catch(() => undefined));
    const results = await Promise.all(attachments.map((rt) => runtime.addNetworkList(net.conflist, rt)));
    const addresses = results.map((r) => r.ips?.[0]?.address);
    expect(new Set(addresses).size).toBe(8);
    expect(reservations(net).sort()).toEqual(addresses.map((a) => a!.split('/')[0]).sort());
    expect(ipJson<IpAddrInfo[]>(['link', 'show', 'master', net.bridge])).toHaveLength(8);
    await Promise.all(attachments.map((rt) => runtime.delNetworkList(net.conflist, rt)));
    expect(reservations(net)).toEqual([]);
    expect(ipJson<IpAddrInfo[]>(['link', 'show', 'master', net.bridge])).toEqual([]);
  });

  it('oversized stdin gets the same error as a direct exec', async () => {
    const stdin = Buffer.alloc(1024 * 1024 + 10, 0x20);
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'big',
      CNI_NETNS: '/run/netns/none',
      CNI_IFNAME: 'eth0',
      CNI_PATH: agentBin,
    };
    const shim = await execFile(join(agentBin, 'bridge'), { ...env, [SOCKET_ENV]: socketPath }, stdin);
    const direct = await execFile(join(distBin, 'bridge'), env, stdin);
    // Both stop reading 64 KiB reads past the limit; how far past depends on the pipe's timing.
    const counted = (a: Answer) => ({ ...a, stdout: a.stdout.replace(/is \d+ bytes;/, 'is N bytes;') });
    expect(counted(shim)).toEqual(counted(direct));
    expect(shim.exitCode).toBe(1);
    expect(JSON.parse(shim.stdout)).toMatchObject({ code: 6 });
  });

  it("one call's environment never reaches another: platform choice, CNI_ARGS, log stderr", async () => {
    scratch ??= new KernelScratch();
    const windowsNs = scratch.namespace('agw');
    const linuxNs = scratch.namespace('agl');
    const config = '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}';
    const base = { CNI_COMMAND: 'ADD', CNI_IFNAME: 'lo', CNI_PATH: agentBin, [SOCKET_ENV]: socketPath };
    const calls = Array.from({ length: 24 }, (_, i) => {
      switch (i % 3) {
        case 0: // the Windows platform on Linux: loopback has nothing to do, lo stays down
          return execFile(
            join(agentBin, 'loopback'),
            {
              ...base,
              CNI_CONTAINERID: `w${i}`,
              CNI_NETNS: windowsNs.path,
              CROSSCNI_PLATFORM: 'windows',
              CROSSCNI_LOG_LEVEL: 'info',
            },
            config,
          );
        case 1: // an unknown CNI_ARGS key without IgnoreUnknown fails
          return execFile(
            join(agentBin, 'loopback'),
            { ...base, CNI_CONTAINERID: `a${i}`, CNI_NETNS: linuxNs.path, CNI_ARGS: 'NOT_KNOWN=1' },
            config,
          );
        default:
          return execFile(
            join(agentBin, 'loopback'),
            { ...base, CNI_CONTAINERID: `l${i}`, CNI_NETNS: linuxNs.path },
            config,
          );
      }
    });
    const answers = await Promise.all(calls);
    for (const [i, answer] of answers.entries()) {
      if (i % 3 === 0) {
        expect(answer.exitCode).toBe(0);
        const [line] = answer.stderr.trim().split('\n');
        expect(JSON.parse(line!)).toMatchObject({ containerId: `w${i}`, command: 'ADD', exitCode: 0 });
      } else if (i % 3 === 1) {
        expect(answer.exitCode).toBe(1);
        expect(answer.stdout).toContain('NOT_KNOWN');
        expect(answer.stderr).toBe('');
      } else {
        expect(answer).toMatchObject({ exitCode: 0, stderr: '' });
      }
    }
    const lo = (ns: string) =>
      ipJson<IpAddrInfo[]>(['link', 'show', 'dev', 'lo'], ns)[0]!.flags.includes('UP');
    expect(lo(windowsNs.name)).toBe(false);
    expect(lo(linuxNs.name)).toBe(true);
  });
});

describe.skipIf(!isRoot)('exec shim fallback', () => {
  it('runs the Node plugin when no agent listens, with the same answers', async () => {
    const notASocket = join(root, 'plain-file');
    writeFileSync(notASocket, '');
    const adds = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'fb',
      CNI_NETNS: '/run/netns/crosscni-no-such-ns',
      CNI_IFNAME: 'eth0',
      CNI_PATH: fallbackBin,
    };
    const config =
      '{"cniVersion":"1.0.0","name":"n","type":"bridge","bridge":"x","ipam":{"type":"host-local","subnet":"10.236.9.0/24"}}';
    for (const socket of [join(root, 'no-such-dir', 'agent.sock'), notASocket]) {
      for (const [env, stdin] of [
        [{ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.3.1"}'],
        [adds, config],
      ] as const) {
        const shim = await execFile(join(fallbackBin, 'bridge'), { ...env, [SOCKET_ENV]: socket }, stdin);
        const direct = await execFile(join(distBin, 'bridge'), env, stdin);
        expect(shim).toEqual(direct);
      }
    }
  });

  it('an agent that stops after taking the call gives a CNI error, not a fallback', async () => {
    const dir = mkdtempSync(join(root, 'dying-'));
    const socket = join(dir, 'agent.sock');
    // Reads the whole request, then drops the connection as a killed agent would.
    const server = createServer((conn) => {
      let received = 0;
      conn.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > 40) setTimeout(() => conn.destroy(), 50);
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const answer = await execFile(
        join(fallbackBin, 'bridge'),
        { CNI_COMMAND: 'VERSION', [SOCKET_ENV]: socket },
        '{"cniVersion":"1.0.0"}',
      );
      // A fallback would have answered VERSION successfully.
      expect(answer.exitCode).toBe(1);
      const error = JSON.parse(answer.stdout);
      expect(error).toMatchObject({ cniVersion: '1.0.0', code: 11 });
      expect(error.msg).toContain('crosscni agent stopped before answering bridge VERSION');
    } finally {
      server.close();
    }
  });

  it('an agent killed in the middle of an ADD gives a CNI error, and nothing runs the ADD again', async () => {
    const net = network(4);
    const ns = scratch!.namespace('agk');
    mkdirSync(join(root, 'run-kill'), { mode: 0o700 });
    const socket = join(root, 'run-kill', 'agent.sock');
    const victim = await startAgentProcess(socket);
    scratch!.onCleanup(() => victim.kill('SIGKILL'));
    const lock = join(net.dataDir, net.name, 'lock');
    const conf = JSON.stringify({ ...net.conflist.plugins[0]!.raw, cniVersion: '1.0.0', name: net.name });
    // Holding host-local's lock keeps the agent's ADD waiting inside the call.
    let answer: Answer | undefined;
    await withFileLock(lock, async () => {
      const pending = execFile(
        join(fallbackBin, 'bridge'),
        {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'killed',
          CNI_NETNS: ns.path,
          CNI_IFNAME: 'eth0',
          CNI_PATH: fallbackBin,
          [SOCKET_ENV]: socket,
        },
        conf,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      victim.kill('SIGKILL');
      answer = await pending;
    });
    expect(answer!.exitCode).toBe(1);
    expect(JSON.parse(answer!.stdout)).toMatchObject({
      cniVersion: '1.0.0',
      code: 11,
      msg: 'crosscni agent stopped before answering bridge ADD',
    });
    // A fallback would have run the ADD with the lock free by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(reservations(net)).toEqual([]);
    expect(ipJson<IpAddrInfo[]>(['addr', 'show'], ns.name).map((l) => l.ifname)).toEqual(['lo']);
  });

  it('the agent socket is root-only in a root-only directory', () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(socketPath)).toBe(0o600);
    expect(mode(join(root, 'run'))).toBe(0o700);
  });
});

describe.skipIf(!isRoot)('agent start-up', () => {
  it('refuses a socket directory others can enter, and a second agent on the same socket', async () => {
    const open = mkdtempSync(join(root, 'open-'));
    chmodSync(open, 0o755);
    await expect(startAgentProcess(join(open, 'agent.sock'))).rejects.toThrow(/must be 700/);
    await expect(startAgentProcess(socketPath)).rejects.toThrow(/another agent already listens/);
  });
});

describe.skipIf(isRoot)('resident agent (skipped)', () => {
  it.skip('skipped: needs root for network namespaces and the agent socket', () => {});
});
