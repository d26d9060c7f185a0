/**
 * A private podman: its own containers.conf (CNI backend, our plugin and config directories,
 * the settings this kind of host needs — see docs/e2e.md), its own storage root, run root, tmp
 * dir and file locks, all inside the suite's scratch directory, so a run neither sees nor
 * touches the host's containers, images or /etc/cni/net.d. Every podman call is bounded.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CommandResult, run, tryRun } from './command.ts';

export interface PodmanDirs {
  /** Everything podman stores goes under here. */
  root: string;
  /** Where the conflists are (network_config_dir). */
  networkConfigDir: string;
  /** Plugin directories, searched in order (cni_plugin_dirs, and CNI_PATH for the plugins). */
  pluginDirs: string[];
}

const PODMAN_TIMEOUT_MS = 60_000;

function tomlString(text: string): string {
  return JSON.stringify(text);
}

/** The hard limit of a resource for this process ("Max open files", "Max processes"). */
function hardLimit(resource: string): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(resource));
  // Columns: name (with spaces), soft, hard, units; the hard limit is the second value.
  const hard = line?.slice(resource.length).trim().split(/\s+/)[1];
  if (!hard || hard === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number(hard);
}

export class Podman {
  private readonly env: NodeJS.ProcessEnv;
  private readonly globalArgs: string[];

  constructor(readonly dirs: PodmanDirs) {
    const d = (name: string): string => join(dirs.root, name);
    for (const name of ['storage', 'run', 'tmp', 'volumes']) mkdirSync(d(name), { recursive: true });
    mkdirSync(dirs.networkConfigDir, { recursive: true });
    // Root here lacks CAP_SYS_RESOURCE: limits above the hard ones make runc fail the start,
    // and podman's defaults (nofile 1048576, nproc 4194304) are above them.
    const nofile = Math.min(1_048_576, hardLimit('Max open files'));
    const nproc = Math.min(32_768, hardLimit('Max processes'));
    const conf = `# written by test/e2e/support/podman.ts
[containers]
default_ulimits = [${tomlString(`nofile=${nofile}:${nofile}`)}, ${tomlString(`nproc=${nproc}:${nproc}`)}]

[network]
network_backend = "cni"
cni_plugin_dirs = [${dirs.pluginDirs.map(tomlString).join(', ')}]
network_config_dir = ${tomlString(dirs.networkConfigDir)}

[engine]
# No systemd on CI machines; the hybrid cgroup layout needs runc (crun 1.8 refuses it).
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = ${tomlString(d('tmp'))}
volume_path = ${tomlString(d('volumes'))}
# File locks in tmp_dir instead of the host-wide /dev/shm/libpod_lock segment.
lock_type = "file"
`;
    writeFileSync(d('containers.conf'), conf);
    writeFileSync(
      d('storage.conf'),
      `[storage]\ndriver = "overlay"\ngraphroot = ${tomlString(d('storage'))}\nrunroot = ${tomlString(d('run'))}\n`,
    );
    this.env = {
      ...process.env,
      // Replaces (not adds to) /usr/share and /etc containers.conf.
      CONTAINERS_CONF: d('containers.conf'),
      CONTAINERS_STORAGE_CONF: d('storage.conf'),
      TMPDIR: d('tmp'),
    };
    this.globalArgs = [
      '--root',
      d('storage'),
      '--runroot',
      d('run'),
      '--tmpdir',
      d('tmp'),
      '--storage-driver',
      'overlay',
      '--log-level',
      'error',
    ];
  }

  /** Run podman; returns stdout, throws CommandError with podman's stderr. */
  run(args: string[], timeoutMs = PODMAN_TIMEOUT_MS): string {
    return run('podman', [...this.globalArgs, ...args], { env: this.env, timeoutMs });
  }

  tryRun(args: string[], timeoutMs = PODMAN_TIMEOUT_MS): CommandResult {
    return tryRun('podman', [...this.globalArgs, ...args], { env: this.env, timeoutMs });
  }

  /** Import a rootfs tar as an image with a default command. */
  importImage(tarFile: string, reference: string): void {
    this.run(['import', '--change', 'CMD ["/bin/sh"]', tarFile, reference]);
  }

  /** `podman inspect` of one container, parsed. */
  inspect(nameOrId: string): PodmanContainer {
    const [info] = JSON.parse(this.run(['inspect', '--type', 'container', nameOrId])) as PodmanContainer[];
    if (!info) throw new Error(`podman inspect ${nameOrId}: no such container`);
    return info;
  }

  /**
   * Remove every container of this private store. `-t 0`: busybox as PID 1 ignores SIGTERM,
   * so any grace period is just waiting.
   */
  removeAllContainers(): CommandResult {
    return this.tryRun(['rm', '--all', '--force', '--time', '0']);
  }
}

/** The parts of `podman inspect` the tests read. */
export interface PodmanContainer {
  Id: string;
  Name: string;
  State: { Running: boolean; Pid: number };
  NetworkSettings: {
    SandboxKey: string;
    Networks: Record<string, { IPAddress: string; IPPrefixLen: number; Gateway: string; MacAddress: string }>;
  };
}
