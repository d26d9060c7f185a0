/**
 * A private containerd for the CRI suite, started as a child of the test process: its own
 * config.toml, root, state, sockets and runc root inside the suite's scratch directory, the CRI
 * plugin pointed at the plugin and conf directories under test, and a locally built sandbox
 * image (there is no registry to pull registry.k8s.io/pause from). stop() ends it and then, as
 * a backstop, the shims and runc containers it may have left (identified by our socket path and
 * our runc root, never by process name).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { findExecutable, run, tryRun } from './command.ts';
import { removeStrayRuncContainers } from './runc-strays.ts';

export interface ContainerdOptions {
  /** Scratch directory: root, state, sockets, config and log go here. */
  dir: string;
  /** CRI cni.bin_dir */
  cniBinDir: string;
  /** CRI cni.conf_dir */
  cniConfDir: string;
  /** Reference of the sandbox image, imported before any pod starts. */
  sandboxImage: string;
}

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

function toml(text: string): string {
  return JSON.stringify(text);
}

export class PrivateContainerd {
  readonly socket: string;
  readonly runcRoot: string;
  readonly logFile: string;
  readonly stateDir: string;
  private readonly configFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  constructor(readonly options: ContainerdOptions) {
    const d = (name: string): string => join(options.dir, name);
    this.socket = d('containerd.sock');
    // releaseContainerdLeftovers finds these two by the same names.
    this.runcRoot = d('runc');
    this.logFile = d('containerd.log');
    this.stateDir = d('state');
    this.configFile = d('config.toml');
  }

  private writeConfig(): void {
    mkdirSync(this.options.dir, { recursive: true });
    const d = (name: string): string => join(this.options.dir, name);
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    writeFileSync(
      this.configFile,
      `# written by test/e2e/support/containerd.ts
version = 2
root = ${toml(d('root'))}
state = ${toml(this.stateDir)}
# opt would create /opt/containerd; the other snapshotters only log probe failures. (The v1
# linux runtime must stay: 1.6's tasks service, and so CRI, fail to load without it.)
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = ${toml(this.socket)}

[ttrpc]
  address = ${toml(`${this.socket}.ttrpc`)}

[${cri}]
  sandbox_image = ${toml(this.options.sandboxImage)}
  # Root here lacks CAP_SYS_RESOURCE: never ask for a lower oom_score_adj than our own.
  restrict_oom_score_adj = true
  enable_selinux = false

  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [${cri}.containerd.runtimes.runc.options]
        # No systemd on CI machines.
        SystemdCgroup = false
        Root = ${toml(this.runcRoot)}

  [${cri}.cni]
    bin_dir = ${toml(this.options.cniBinDir)}
    conf_dir = ${toml(this.options.cniConfDir)}
    max_conf_num = 1
    conf_template = ""
`,
    );
  }

  /** Start containerd and wait until it answers on its socket. */
  async start(): Promise<void> {
    this.writeConfig();
    const log = openSync(this.logFile, 'a');
    try {
      const args = ['containerd', '--config', this.configFile, '--log-level', 'info'];
      // If the test process dies without running afterAll (killed CI job, ^C), the kernel sends
      // containerd SIGTERM instead of leaving it running against a deleted scratch dir.
      const [file, ...rest] = findExecutable('setpriv') ? ['setpriv', '--pdeathsig', 'TERM', ...args] : args;
      this.child = spawn(file!, rest, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `containerd exited during start-up (${child.exitCode ?? child.signalCode}):\n${this.logTail()}`,
        );
      }
      if (existsSync(this.socket) && this.ctrResult(['version']).exitCode === 0) {
        // containerd starts without a plugin that failed to load (a warning in its log): make
        // sure the CRI plugin is among those that did.
        const plugins = this.ctrResult(['plugins', 'ls']).stdout;
        if (/^io\.containerd\.grpc\.v1\s+cri\s+\S+\s+ok\s*$/m.test(plugins)) return;
        throw new Error(`containerd started without its CRI plugin:\n${plugins}\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `containerd did not answer on ${this.socket} within ${START_TIMEOUT_MS} ms:\n${this.logTail()}`,
    );
  }

  /** ctr waits forever for a dead socket by default; an orphaned ctr must not outlive a run. */
  private ctrGlobalArgs(): string[] {
    return ['--address', this.socket, '--connect-timeout', '5s'];
  }

  private ctrResult(args: string[]) {
    return tryRun('ctr', [...this.ctrGlobalArgs(), ...args], { timeoutMs: 30_000 });
  }

  /** Run ctr against this containerd in the CRI namespace. */
  ctr(args: string[], timeoutMs = 60_000): string {
    return run('ctr', [...this.ctrGlobalArgs(), '--namespace', 'k8s.io', ...args], { timeoutMs });
  }

  /** Import an OCI archive into the CRI namespace (unpacked for overlayfs). */
  importImage(archive: string): void {
    this.ctr(['images', 'import', '--snapshotter', 'overlayfs', archive]);
  }

  /** The last lines of containerd's log, for failure messages. */
  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Log lines mentioning a text (e.g. a sandbox id), for failure messages. */
  logLinesMentioning(text: string, lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes(text))
        .slice(-lines)
        .join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Stop containerd (TERM, then KILL), then remove what outlives it: runc containers under our
   * runc root and shims serving our socket (shims survive containerd by design).
   */
  async stop(): Promise<string[]> {
    const leftovers: string[] = [];
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timedOut = await Promise.race([
        this.exited!.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), STOP_TIMEOUT_MS)),
      ]);
      if (timedOut) {
        child.kill('SIGKILL');
        await this.exited;
        leftovers.push('containerd ignored SIGTERM');
      }
    }
    leftovers.push(...releaseContainerdLeftovers(this.options.dir));
    return leftovers;
  }
}

/**
 * What outlives a containerd whose scratch directory is `dir` (ours, or a killed run's): runc
 * containers under its runc root, and shims serving its socket (shims survive containerd by
 * design). Returns what was removed.
 */
export function releaseContainerdLeftovers(dir: string): string[] {
  const removed = removeStrayRuncContainers(join(dir, 'runc'), dir).map((id) => `runc ${id}`);
  const socket = join(dir, 'containerd.sock');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args[0]?.includes('containerd-shim') || !args.includes(socket)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      removed.push(`shim pid ${entry}`);
    } catch {
      // already gone
    }
  }
  return removed;
}
