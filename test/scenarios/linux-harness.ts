/**
 * A throwaway Linux "host" for the nat and sdnbridge scenarios: a host namespace in which the
 * plugin runs (as `ip netns exec`, so its bridge, routes, sysctls and nftables live and die with
 * that namespace and never touch the real host), a container namespace, and an outside
 * namespace joined to the host by a veth whose host end is named "Ethernet" — the `master` of
 * WCN's sample configs (sdnbridge's uplink; for nat, the network clients come from). TCP
 * servers and probes are small node processes inside the namespaces. `cleanup` removes all of
 * it, even after a failure.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distBin, repoRoot, type PluginAnswer } from '../support/plugin-exec.ts';
import { KernelScratch, sh, type TestNamespace } from '../support/kernel.ts';

export const UPLINK = 'Ethernet';

/**
 * Whether linux/port-mappings.ts (another engineer's module) forwards ports yet: the DNAT
 * probes need it, and are skipped with this reason until it does.
 */
export function portMappingsSkipReason(): string | undefined {
  const file = join(repoRoot, 'linux', 'port-mappings.ts');
  if (!existsSync(file))
    return 'skipped: linux/port-mappings.ts does not exist yet (port mappings are not forwarded on Linux)';
  if (/not implemented yet/.test(readFileSync(file, 'utf8'))) {
    return 'skipped: linux/port-mappings.ts is still a stub (port mappings are not forwarded on Linux)';
  }
  return undefined;
}

const SERVER = `
const net = require('net');
for (const port of process.argv.slice(1).map(Number)) {
  net.createServer((s) => s.end('peer=' + s.remoteAddress.replace(/^::ffff:/, '') + '\\n')).listen(port);
}
console.log('ready');
`;

const CLIENT = `
const [host, port] = process.argv.slice(1);
const s = require('net').connect({ host, port: Number(port), timeout: 1500 });
s.on('data', (d) => { process.stdout.write(String(d)); process.exit(0); });
s.on('timeout', () => { console.log('blocked'); process.exit(0); });
s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });
`;

/**
 * Whether nft's listing forwards host port `hostPort` to `ip`:`port`, in whichever form
 * linux/port-mappings.ts writes it (a `dnat to ip:port` rule, or a map element
 * `tcp . hostPort : ip . port`): the forwarding is asserted, not its implementation.
 */
export function forwardsPort(listing: string, hostPort: number, ip: string, port: number): boolean {
  const targets = [`${ip}:${port}`, `[${ip}]:${port}`, `${ip} . ${port}`];
  return listing
    .split(/[,\n]/)
    .some((piece) => new RegExp(`\\b${hostPort}\\b`).test(piece) && targets.some((t) => piece.includes(t)));
}

export class ScenarioHost {
  readonly scratch = new KernelScratch();
  readonly host: TestNamespace;
  readonly container: TestNamespace;
  readonly outside: TestNamespace;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'crosscni-wcn-'));
  private readonly servers: ChildProcess[] = [];

  constructor() {
    this.host = this.scratch.namespace('wh');
    this.container = this.scratch.namespace('wc');
    this.outside = this.scratch.namespace('wo');
    this.scratch.onCleanup(() => {
      for (const server of this.servers.splice(0)) server.kill('SIGKILL');
      rmSync(this.dataDir, { recursive: true, force: true });
    });
    for (const ns of [this.host, this.container, this.outside]) this.ip(ns, ['link', 'set', 'lo', 'up']);
    this.ip(this.host, [
      'link',
      'add',
      UPLINK,
      'type',
      'veth',
      'peer',
      'name',
      'seg0',
      'netns',
      this.outside.name,
    ]);
    this.ip(this.host, ['link', 'set', UPLINK, 'up']);
    this.ip(this.outside, ['link', 'set', 'seg0', 'up']);
  }

  ip(ns: TestNamespace, args: string[]): string {
    return sh('ip', ['-n', ns.name, ...args]);
  }

  json<T>(ns: TestNamespace, args: string[]): T {
    return JSON.parse(sh('ip', ['-n', ns.name, '-j', ...args]) || '[]') as T;
  }

  /** The outside's addresses (the first on seg0, the rest on lo) and, in the host, the uplink's. */
  setUpOutside(outside: { hostAddress?: string; address: string; extra?: string[] }): void {
    this.ip(this.outside, ['addr', 'add', outside.address, 'dev', 'seg0', 'nodad']);
    for (const extra of outside.extra ?? []) this.ip(this.outside, ['addr', 'add', extra, 'dev', 'lo']);
    if (outside.hostAddress) this.ip(this.host, ['addr', 'add', outside.hostAddress, 'dev', UPLINK, 'nodad']);
  }

  /** Run a built plugin inside the host namespace, as a runtime on that host would. */
  exec(
    type: string,
    command: string,
    config: unknown,
    extra: { netns?: string; args?: string; containerId?: string } = {},
  ): PluginAnswer {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: extra.containerId ?? 'c0ffee0123456789',
      CNI_NETNS: extra.netns ?? this.container.path,
      CNI_IFNAME: 'eth0',
      CNI_PATH: distBin,
      CNI_ARGS: extra.args ?? 'IgnoreUnknown=1',
    };
    const run = spawnSync('ip', ['netns', 'exec', this.host.name, join(distBin, type)], {
      env,
      input: JSON.stringify(config),
      encoding: 'utf8',
      timeout: 60_000,
    });
    const answer: PluginAnswer = { exitCode: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
    if (run.stdout.trim()) answer.json = JSON.parse(run.stdout) as Record<string, unknown>;
    return answer;
  }

  /** TCP servers in `ns` that answer with the peer address they see; resolves once listening. */
  async serve(ns: TestNamespace, ports: number[]): Promise<void> {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, ...ports.map(String)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.servers.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`server in ${ns.name} exited with ${code}`)));
    });
  }

  /** Connect from `ns` and return what the server said ("peer=<ip>"), or "blocked". */
  probe(ns: TestNamespace, host: string, port: number): string {
    const run = spawnSync(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, '-e', CLIENT, host, String(port)],
      {
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    return run.stdout.trim();
  }

  /** `nft list table` text inside the host namespace ('' when the table does not exist). */
  nft(family: string, table: string): string {
    const run = spawnSync('ip', ['netns', 'exec', this.host.name, 'nft', 'list', 'table', family, table], {
      encoding: 'utf8',
    });
    return run.status === 0 ? run.stdout : '';
  }

  cleanup(): void {
    this.scratch.cleanup();
  }
}
