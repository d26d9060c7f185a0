/**
 * Undoing what an earlier run of a suite left when it was killed before its afterAll (a
 * cancelled CI job, ^C): given that run's scratch directory, remove its containers, processes
 * and host network state through the records it kept there (network.json, the plugin trace).
 * Called by sweepStaleScratch only for directories whose owning process is gone.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tryRun } from './command.ts';
import { releaseContainerdLeftovers } from './containerd.ts';
import { scrubNetwork } from './host-scrub.ts';
import { readTrace } from './plugin-trace.ts';
import { Podman } from './podman.ts';
import { removeStrayRuncContainers } from './runc-strays.ts';
import { recordedNetwork } from './test-network.ts';

/** A dead podman suite: its containers (through its own private podman), then the host. */
export function releaseStalePodmanRun(dir: string): void {
  new Podman({
    root: join(dir, 'podman'),
    networkConfigDir: join(dir, 'cni-conf'),
    pluginDirs: [join(dir, 'cni-bin')],
  }).removeAllContainers();
  removeStrayRuncContainers(undefined, dir);
  const net = recordedNetwork(dir);
  if (net) scrubNetwork(net, []);
}

/**
 * A dead containerd suite (its containerd died with it, through pdeathsig): shims and runc
 * containers, the pods' namespaces (containerd made them under /var/run/netns; the trace knows
 * which), then the host.
 */
export function releaseStaleContainerdRun(dir: string): void {
  releaseContainerdLeftovers(join(dir, 'containerd'));
  for (const call of readTrace(join(dir, 'trace'))) {
    if (call.netns.startsWith('/var/run/netns/cni-') && existsSync(call.netns)) {
      tryRun('ip', ['netns', 'del', basename(call.netns)]);
    }
  }
  const net = recordedNetwork(dir);
  if (net) scrubNetwork(net, []);
}
