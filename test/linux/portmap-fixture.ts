/**
 * Fixtures for the chained-plugin tests (portmap, bandwidth) on the real kernel: a network made
 * by crosscni's bridge plugin with host-local IPAM, a chain runner that passes each plugin's
 * result on as prevResult (ADD in order, DEL in reverse) as a runtime does, and TCP endpoints:
 * a tiny node server inside a namespace and a one-shot client in a namespace or on the host.
 * Every test's names are unique and removed in cleanup, even on failure.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { networkTable } from '../../linux/netfilter-names.ts';
import { KernelScratch, uniqueName } from '../support/kernel.ts';
import { execPluginSync, type PluginAnswer } from '../support/plugin-exec.ts';

export interface ChainFixture {
  scratch: KernelScratch;
  network: string;
  bridge: string;
  dataDir: string;
}

export function chainFixture(): ChainFixture {
  const scratch = new KernelScratch();
  const dataDir = mkdtempSync(join(tmpdir(), 'crosscni-chain-'));
  scratch.onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const network = uniqueName('pmn');
  scratch.nftTable('inet', networkTable(network));
  scratch.nftTable('bridge', networkTable(network));
  return { scratch, network, bridge: scratch.link(uniqueName('pmb')), dataDir };
}

/** A random host port in a range nothing else on a test host listens on. */
export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

export interface ChainPlugin {
  type: string;
  [key: string]: unknown;
}

export function bridgePlugin(
  fx: ChainFixture,
  ranges: unknown[] = [[{ subnet: '10.211.0.0/24' }]],
): ChainPlugin {
  return {
    type: 'bridge',
    bridge: fx.bridge,
    isGateway: true,
    ipMasq: true,
    // Hairpin traffic is bridged back out of the port it came in when br_netfilter is loaded
    // (bridge-nf-call-iptables=1): podman's default config turns this on for the same reason.
    hairpinMode: true,
    ipam: { type: 'host-local', ranges, routes: [{ dst: '0.0.0.0/0' }], dataDir: fx.dataDir },
  };
}

export interface ChainCall {
  netns: string;
  containerId: string;
  ifname?: string;
  runtimeConfig?: Record<string, unknown>;
  /** The cached result (CHECK, DEL); ADD builds its own chain of prevResults. */
  prevResult?: Record<string, unknown>;
}

function pluginConfig(
  fx: ChainFixture,
  plugin: ChainPlugin,
  call: ChainCall,
  prev?: unknown,
): Record<string, unknown> {
  const config: Record<string, unknown> = { cniVersion: '1.1.0', name: fx.network, ...plugin };
  if (call.runtimeConfig) config.runtimeConfig = call.runtimeConfig;
  if (prev) config.prevResult = prev;
  return config;
}

export function expectOk(answer: PluginAnswer): Record<string, unknown> {
  if (answer.exitCode !== 0)
    throw new Error(`plugin failed (exit ${answer.exitCode}): ${answer.stdout} ${answer.stderr}`);
  return answer.json ?? {};
}

/** Run one plugin of the chain. */
export function runPlugin(
  fx: ChainFixture,
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC',
  plugin: ChainPlugin,
  call: ChainCall,
  prev?: unknown,
): PluginAnswer {
  return execPluginSync(
    plugin.type,
    { command, containerId: call.containerId, netns: call.netns, ifname: call.ifname ?? 'eth0' },
    pluginConfig(fx, plugin, call, prev),
  );
}

/** ADD through the whole chain; returns the last plugin's result. */
export function addChain(fx: ChainFixture, plugins: ChainPlugin[], call: ChainCall): Record<string, unknown> {
  let prev: Record<string, unknown> | undefined;
  for (const plugin of plugins) prev = expectOk(runPlugin(fx, 'ADD', plugin, call, prev));
  return prev!;
}

/** DEL through the chain in reverse, each plugin with the cached result (if any). */
export function delChain(fx: ChainFixture, plugins: ChainPlugin[], call: ChainCall): void {
  for (const plugin of [...plugins].reverse()) expectOk(runPlugin(fx, 'DEL', plugin, call, call.prevResult));
}

/** A TCP server in a namespace answering every connection with `reply`; stopped in cleanup. */
export async function listenIn(
  fx: ChainFixture,
  nsName: string,
  port: number,
  reply: string,
  host = '0.0.0.0',
): Promise<ChildProcess> {
  const script = `require('net').createServer((s)=>s.end(${JSON.stringify(reply)})).listen(${port}, ${JSON.stringify(host)}, ()=>console.log('ready'))`;
  const child = spawn('ip', ['netns', 'exec', nsName, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fx.scratch.onCleanup(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server in ${nsName} did not start`)), 10_000);
    child.stdout!.on('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server in ${nsName} exited with ${code}`));
    });
  });
  return child;
}

/** Connect from inside a namespace; the text the server sent, or undefined on failure/timeout. */
export function fetchFrom(nsName: string, host: string, port: number): string | undefined {
  const script = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port}});let d='';s.setTimeout(3000,()=>process.exit(2));s.on('data',(c)=>d+=c);s.on('end',()=>{process.stdout.write(d);process.exit(0)});s.on('error',()=>process.exit(1))`;
  const run = spawnSync('ip', ['netns', 'exec', nsName, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return run.status === 0 ? run.stdout : undefined;
}

/** Connect from the host (the test's own namespace). */
export function fetchFromHost(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () => resolve(data));
    socket.on('error', () => resolve(undefined));
  });
}
