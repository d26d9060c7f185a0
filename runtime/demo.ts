/**
 * `crosscni demo`: shows the suite working end to end on this host. It creates a uniquely named
 * network namespace through the platform, attaches it to a built-in network (loopback as its
 * own network on `lo`, as containerd does, then bridge + host-local on eth0) with the plugins
 * next to the running executable, prints the result, pings the gateway from inside the
 * namespace, runs CHECK, and then removes everything it made (DEL, namespace, demo bridge,
 * temporary files) even when a step fails. It never touches /etc/cni or /var/lib/cni.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Platform } from '../platform/contract.ts';
import { convertResult } from '../plugins/sdk/convert.ts';
import { CliError, type CliIo } from './cli-options.ts';
import { CniRuntime } from './cni-runtime.ts';
import { loadNetworkList } from './load-config.ts';
import type { NetworkConfigList } from './network-config.ts';
import type { RuntimeConf } from './plugin-env.ts';

export const DEMO_NETWORK = 'crosscni-demo';
export const DEMO_BRIDGE = 'cni-demo0';
const LOOPBACK_NETWORK = 'cni-loopback';
const DEMO_SUBNET = '10.88.77.0/24';

function demoConflist(ipamDataDir: string): string {
  const list = {
    cniVersion: '1.1.0',
    name: DEMO_NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: DEMO_BRIDGE,
        isGateway: true,
        ipMasq: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: DEMO_SUBNET }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: ipamDataDir,
        },
      },
    ],
  };
  return `${JSON.stringify(list, null, 2)}\n`;
}

const LOOPBACK_CONF = `${JSON.stringify({ cniVersion: '1.1.0', name: LOOPBACK_NETWORK, type: 'loopback' })}\n`;

/** Collects cleanup failures so one failing step does not stop the others. */
async function attempt(failures: string[], what: string, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (e) {
    failures.push(`${what}: ${(e as Error).message}`);
  }
}

async function ping(namespaceName: string, gateway: string, io: CliIo): Promise<void> {
  const { execa } = await import('execa');
  // Arguments as an array and no shell: the namespace name and address are passed verbatim.
  const run = await execa('ip', ['netns', 'exec', namespaceName, 'ping', '-c', '1', '-W', '2', gateway], {
    reject: false,
    all: true,
  });
  io.stdout(`${run.all ?? ''}\n`);
  if (run.failed) {
    throw new CliError(`ping ${gateway} from namespace ${namespaceName} failed (${run.shortMessage})`, 1);
  }
}

export interface DemoOptions {
  /** Directory holding the plugin executables (the running crosscni's own directory). */
  binDir: string;
  io: CliIo;
  /** The platform to use; default from platform/select.ts. */
  platform?: Platform;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const { io, binDir } = options;
  if (process.platform !== 'win32' && process.getuid?.() !== 0) {
    throw new CliError('crosscni demo needs root to create a network namespace; run it with sudo', 1);
  }
  const platform = options.platform ?? (await (await import('../platform/select.ts')).loadPlatform());
  const suffix = randomBytes(4).toString('hex');
  const namespaceName = `crosscni-demo-${suffix}`;
  const workDir = await mkdtemp(join(tmpdir(), 'crosscni-demo-'));
  const failures: string[] = [];
  let netns: string | undefined;
  let attached: Array<{ list: NetworkConfigList; rt: RuntimeConf }> = [];
  const runtime = new CniRuntime({
    pluginDirs: [binDir],
    cacheDir: join(workDir, 'cache'),
    onPluginStderr: (type, command, text) => io.stderr(`[${type} ${command}] ${text}`),
  });
  try {
    const confDir = join(workDir, 'net.d');
    await mkdir(confDir);
    await writeFile(join(confDir, '10-crosscni-demo.conflist'), demoConflist(join(workDir, 'ipam')));
    await writeFile(join(confDir, '99-loopback.conf'), LOOPBACK_CONF);
    const loopback = loadNetworkList(confDir, LOOPBACK_NETWORK);
    const demo = loadNetworkList(confDir, DEMO_NETWORK);

    io.stdout(`creating namespace ${namespaceName}\n`);
    netns = await platform.createNamespace(namespaceName);
    const containerId = `crosscni-demo-${suffix}`;
    const steps = [
      { list: loopback, rt: { containerId, netns, ifname: 'lo' } },
      { list: demo, rt: { containerId, netns, ifname: 'eth0' } },
    ];
    let gateway: string | undefined;
    for (const step of steps) {
      io.stdout(`ADD ${step.list.name} (${step.rt.ifname}) with plugins from ${binDir}\n`);
      // Registered before ADD: a list stopped half-way is undone by DEL, as runtimes do.
      attached = [step, ...attached];
      const result = await runtime.addNetworkList(step.list, step.rt);
      if (step.list === demo) {
        io.stdout(`${JSON.stringify(convertResult(result, step.list.cniVersion), null, 2)}\n`);
        gateway = result.ips?.find((ip) => ip.gateway)?.gateway;
      }
    }
    if (!gateway) throw new CliError('the bridge result has no gateway to ping', 1);
    if (platform.os === 'linux') {
      io.stdout(`ping ${gateway} from inside ${namespaceName}\n`);
      await ping(namespaceName, gateway, io);
    } else {
      io.stdout('ping skipped: namespaces are entered with ip netns exec on Linux only\n');
    }
    for (const step of steps) {
      io.stdout(`CHECK ${step.list.name} (${step.rt.ifname})\n`);
      await runtime.checkNetworkList(step.list, step.rt);
    }
    io.stdout('CHECK passed\n');
  } finally {
    for (const step of attached) {
      io.stdout(`DEL ${step.list.name} (${step.rt.ifname})\n`);
      await attempt(failures, `DEL ${step.list.name}`, () => runtime.delNetworkList(step.list, step.rt));
    }
    if (netns !== undefined) {
      const created = netns;
      await attempt(failures, `delete namespace ${namespaceName}`, () => platform.deleteNamespace(created));
    }
    await attempt(failures, `delete bridge ${DEMO_BRIDGE}`, () =>
      platform.deleteNetwork(DEMO_NETWORK, DEMO_BRIDGE),
    );
    await attempt(failures, `remove ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
    io.stdout(failures.length ? `cleanup incomplete:\n  ${failures.join('\n  ')}\n` : 'cleaned up\n');
  }
  if (failures.length)
    throw new CliError(`crosscni demo could not clean up everything: ${failures.join('; ')}`, 1);
}
