/**
 * The host side of the bench: running `ip`, `nft` and `iptables` to set up and observe, the
 * namespaces a phase needs (made and removed in one `ip -batch` each), a record of everything
 * the run created so it can be removed whatever happens, and facts about the machine for the
 * report. Only the plugins under test change network state during a measurement; everything
 * here runs outside the timed sections.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { delimiter } from 'node:path';

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** PATH with the sbin directories: the reference plugins look up `iptables` there. */
export function pathWithSbin(path = process.env.PATH ?? ''): string {
  const dirs = path.split(delimiter).filter(Boolean);
  for (const dir of SBIN) if (!dirs.includes(dir)) dirs.push(dir);
  return dirs.join(delimiter);
}

/**
 * Variables that change how Node.js starts, and that a container runtime's environment does not
 * carry (containerd and CRI-O run under systemd with a minimal environment). A developer shell
 * may: NODE_EXTRA_CA_CERTS alone makes Node read and parse a CA bundle on every start (35 ms
 * here, more than Node's whole floor without it), which a plugin never needs.
 */
export const NODE_STARTUP_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_V8_COVERAGE'] as const;

/**
 * The environment plugins and the floor get in the bench: this process's, with sbin on PATH
 * and without NODE_STARTUP_VARIABLES, as a runtime would pass it. `removed` names the variables
 * that were set here, for the report.
 */
export function pluginEnvironment(): { env: Record<string, string | undefined>; removed: string[] } {
  const env: Record<string, string | undefined> = { ...process.env, PATH: pathWithSbin() };
  const removed = NODE_STARTUP_VARIABLES.filter((name) => env[name] !== undefined);
  for (const name of removed) delete env[name];
  return { env, removed };
}

/** Run a command and return its stdout; throws with the command and its stderr on failure. */
export function sh(file: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(file, args, {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PATH: pathWithSbin() },
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/** Run a command for cleanup: failures are ignored. */
export function trySh(file: string, args: readonly string[], input?: string): void {
  spawnSync(file, args, {
    input,
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { ...process.env, PATH: pathWithSbin() },
  });
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** A 64-hex container id, as podman and containerd pass. */
export function containerId(): string {
  return randomHex(32);
}

/**
 * CPU time (user + system, ms) of this process's children that have been waited for, from
 * /proc/self/stat (cutime + cstime, in clock ticks of 10 ms). A plugin's own children (nft,
 * iptables, an exec'd IPAM plugin) are included once the plugin has waited for them.
 */
export function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after "pid (comm) ": state is field 3, cutime field 16, cstime field 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** `ip [-n ns] -j -batch -`: one spawn, one parsed JSON document per command. */
export function ipBatch(commands: readonly string[], netns?: string): unknown[] {
  const args = [...(netns ? ['-n', netns] : []), '-j', '-batch', '-'];
  const out = sh('ip', args, `${commands.join('\n')}\n`);
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** Everything the run made, removed by cleanup() whatever state it is in. */
export class Scratch {
  private readonly namespaces = new Set<string>();
  private readonly links = new Set<string>();
  private readonly nftTables = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly hooks: Array<() => Promise<void> | void> = [];

  private closing = false;

  /** Create network namespaces (one `ip -batch`); refused once cleanup has begun. */
  createNamespaces(names: readonly string[]): void {
    if (this.closing) throw new Error('the run is being cleaned up');
    for (const name of names) this.namespaces.add(name);
    if (names.length) sh('ip', ['-batch', '-'], `${names.map((n) => `netns add ${n}`).join('\n')}\n`);
  }

  deleteNamespaces(names: readonly string[]): void {
    if (names.length)
      trySh('ip', ['-force', '-batch', '-'], `${names.map((n) => `netns del ${n}`).join('\n')}\n`);
    for (const name of names) this.namespaces.delete(name);
  }

  link(name: string): void {
    this.links.add(name);
  }

  /** "family name", e.g. "inet crosscni_0123abcd". */
  nftTable(familyAndName: string): void {
    this.nftTables.add(familyAndName);
  }

  dir(path: string): void {
    this.dirs.add(path);
  }

  /** Runs first at cleanup, newest first (e.g. DEL of attachments still cached). */
  onCleanup(hook: () => Promise<void> | void): void {
    this.hooks.push(hook);
  }

  async cleanup(): Promise<void> {
    this.closing = true;
    for (const hook of this.hooks.splice(0).reverse()) {
      try {
        await hook();
      } catch {
        // keep cleaning
      }
    }
    this.deleteNamespaces([...this.namespaces]);
    for (const link of this.links) trySh('ip', ['link', 'del', link]);
    this.links.clear();
    for (const table of this.nftTables) trySh('nft', ['delete', 'table', ...table.split(' ')]);
    this.nftTables.clear();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs.clear();
  }
}

/**
 * Remove what the reference plugins left for a network in the iptables nat table (only after a
 * failed run or a reference defect: a correct DEL leaves nothing): every rule carrying the
 * `name: "<network>"` comment the reference writes (POSTROUTING masquerade jumps, portmap DNAT
 * jumps) and the per-container CNI-* chains they jump to.
 */
export function removeReferenceNetfilter(network: string): void {
  let saved: string;
  try {
    saved = sh('iptables-save', ['-t', 'nat']);
  } catch {
    return;
  }
  const marker = `name: \\"${network}\\"`;
  const lines: string[] = [];
  const chains = new Set<string>();
  for (const line of saved.split('\n')) {
    if (!line.startsWith('-A ') || !line.includes(marker)) continue;
    lines.push(`-D ${line.slice(3)}`);
    const jump = / -j (CNI-[0-9A-Za-z-]+)/.exec(line);
    if (jump && !jump[1]!.startsWith('CNI-HOSTPORT-')) chains.add(jump[1]!);
  }
  if (!lines.length) return;
  for (const chain of chains) lines.push(`-F ${chain}`, `-X ${chain}`);
  trySh('iptables-restore', ['--noflush'], `*nat\n${lines.join('\n')}\nCOMMIT\n`);
}

export interface MachineFacts {
  date: string;
  kernel: string;
  cpu: string;
  cores: number;
  node: string;
  referenceVersion: string;
  commit: string;
  /** 1-minute load average when the run started; the report adds the one at its end. */
  loadAtStart: number;
}

export function machineFacts(root: string): MachineFacts {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (model) cpu = model[1]!.trim();
  } catch {
    // keep os.cpus()'s answer
  }
  const quiet = (file: string, args: string[]) => {
    try {
      return execFileSync(file, args, {
        encoding: 'utf8',
        cwd: root,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return '';
    }
  };
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = quiet('git', ['status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    kernel: quiet('uname', ['-r']),
    cpu,
    cores: cpus().length,
    node: process.version,
    referenceVersion:
      quiet('dpkg-query', ['-W', `-f=\${Version}`, 'containernetworking-plugins']) || 'unknown version',
    commit: commit ? `${commit}${dirty ? ' + uncommitted changes' : ''}` : 'unknown',
    loadAtStart: loadavg()[0]!,
  };
}
