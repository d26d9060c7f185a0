/**
 * containerd 1.6's CRI plugin driving the plugin directory under test, the way kubelet does:
 * RunPodSandbox, PodSandboxStatus, StopPodSandbox, RemovePodSandbox over the CRI gRPC API,
 * against a private containerd started for this file. The sandbox image is busybox running
 * httpd, so the pod itself answers on port 80 (no CreateContainer needed). Asserts the pod's
 * address comes from our host-local, containerd's loopback call worked (lo is up in the pod),
 * a PortMapping answers on the host (when portmap exists), and that both of containerd's DEL
 * rounds succeed and leave nothing behind. See docs/e2e.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriRuntimeClient, type PodSandboxConfig } from './cri/client.ts';
import { BUSYBOX, stageBusyboxRootfs, writeOciArchive } from './support/busybox-image.ts';
import { PrivateContainerd } from './support/containerd.ts';
import {
  describeBinDir,
  executablesIn,
  pluginBinDir,
  preconditionsRequired,
  unmetPrecondition,
} from './support/e2e-env.ts';
import { HostFootprint } from './support/host-footprint.ts';
import { scrubNetwork } from './support/host-scrub.ts';
import {
  ipamFileFor,
  attachmentLeftovers,
  linksInNetns,
  NOTHING_LEFT,
  portsOfBridge,
} from './support/host-state.ts';
import { freeHostPort, hostIPv4, waitForHttp } from './support/http-probe.ts';
import {
  createTraceDir,
  exportTrace,
  type PluginCall,
  readTrace,
  summarizeTrace,
} from './support/plugin-trace.ts';
import { E2eScratch, sweepStaleScratch } from './support/scratch.ts';
import { releaseStaleContainerdRun } from './support/stale-runs.ts';
import { inSubnet, newTestNetwork, type TestNetwork, writeConflist } from './support/test-network.ts';

const binDir = pluginBinDir();
/** Every cleanup step is bounded on its own; together they must still finish. */
const CLEANUP_TIMEOUT_MS = 180_000;
const SETUP_TIMEOUT_MS = 120_000;
/** Seconds normally; the bound is for a host so loaded that netfilter calls queue up. */
const TEST_TIMEOUT_MS = 120_000;
const unmet = unmetPrecondition({
  tools: ['containerd', 'ctr', 'containerd-shim-runc-v2', 'runc', 'ip', 'nft', 'nsenter', 'tar', BUSYBOX],
  // containerd runs `loopback` from bin_dir for every pod, before the network.
  plugins: ['bridge', 'host-local', 'loopback'],
});
const hasPortmap = executablesIn(binDir).has('portmap');
const portmapSkip = `${binDir} has no portmap executable: PortMapping not tested`;
const SANDBOX_IMAGE = 'localhost/crosscni-e2e/pause-httpd:1';
/** What the image's /www/index.html says (see busybox-image.ts). */
const PAGE = 'crosscni-e2e\n';

// The default reporter folds a skipped file into one line: say why where everyone sees it.
if (unmet && !preconditionsRequired) console.warn(`containerd e2e skipped: ${unmet}`);
if (unmet && preconditionsRequired) {
  describe('containerd e2e preconditions (CROSSCNI_E2E_REQUIRE=1)', () => {
    it('are met', () => {
      throw new Error(unmet);
    });
  });
}

/** The sandbox's network namespace path, from containerd's verbose status. */
function netnsFromInfo(info: Record<string, string>): string | undefined {
  const parsed = JSON.parse(info.info ?? '{}') as {
    runtimeSpec?: { linux?: { namespaces?: Array<{ type: string; path?: string }> } };
  };
  return parsed.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
}

describe.skipIf(unmet !== undefined)(
  `containerd 1.6 CRI / ${unmet ?? describeBinDir(binDir)}`,
  { timeout: TEST_TIMEOUT_MS },
  () => {
    let scratch: E2eScratch;
    let containerd: PrivateContainerd;
    let cri: CriRuntimeClient;
    let net: TestNetwork;
    let traceLog: string;
    let hostPort = 0;
    let sandboxId = '';
    let podIp = '';
    let netnsPath = '';
    const sandboxIds: string[] = [];
    const podName = `crosscni-e2e-${randomBytes(4).toString('hex')}`;

    const trace = (): PluginCall[] => readTrace(traceLog);
    const requireSandbox = (): string => {
      if (!sandboxId) throw new Error('no sandbox: the RunPodSandbox test failed, see its error');
      return sandboxId;
    };
    /** Why a CRI call failed, with containerd's own account of it. */
    const explain = (calls: PluginCall[]): string =>
      `${summarizeTrace(calls)}\n--- containerd log ---\n${containerd.logLinesMentioning(sandboxId || podName)}`;

    beforeAll(async () => {
      // A killed earlier run never reached its afterAll (its containerd died with it, through
      // pdeathsig): undo what it left first.
      sweepStaleScratch('containerd', releaseStaleContainerdRun);
      scratch = new E2eScratch('containerd');
      hostPort = hasPortmap ? await freeHostPort() : 0;
      net = newTestNetwork('containerd', scratch.root, hasPortmap);
      const traced = createTraceDir(binDir, scratch.path('cni-bin'), scratch.path('trace'));
      traceLog = traced.logDir;
      containerd = new PrivateContainerd({
        dir: scratch.path('containerd'),
        cniBinDir: traced.wrapperDir,
        cniConfDir: scratch.path('cni-conf'),
        sandboxImage: SANDBOX_IMAGE,
      });
      // Registered before anything exists, run in reverse: CRI removal, containerd, then the host.
      const footprint = new HostFootprint(['/run/containerd', '/var/lib/cni']);
      scratch.defer('host paths containerd created', () => footprint.cleanup());
      scratch.defer('host backstop (bridge, veths, netns, netfilter, libcni cache)', () => {
        const removed = scrubNetwork(net, sandboxIds);
        const leaks = removed.filter((r) => !r.startsWith('bridge ') && !r.startsWith('table '));
        if (leaks.length > 0)
          console.warn(`containerd e2e: backstop removed leftovers:\n  ${leaks.join('\n  ')}`);
      });
      scratch.defer('stop containerd and its shims', async () => {
        const leftovers = await containerd.stop();
        if (leftovers.length > 0) console.warn(`containerd e2e: killed after stop: ${leftovers.join(', ')}`);
      });
      scratch.defer('remove every pod sandbox through CRI', async () => {
        if (!cri) return;
        try {
          for (const pod of await cri.listPodSandbox(10_000)) {
            await cri.stopPodSandbox(pod.id, 30_000).catch(() => undefined);
            await cri.removePodSandbox(pod.id, 30_000);
          }
        } finally {
          cri.close();
        }
      });
      writeConflist(net, scratch.path('cni-conf'));
      const rootfs = scratch.path('rootfs');
      stageBusyboxRootfs(rootfs);
      // The "pause" process of every pod: a web server, so a pod without containers can be reached.
      writeOciArchive(
        rootfs,
        { reference: SANDBOX_IMAGE, entrypoint: ['/bin/httpd', '-f', '-p', '80', '-h', '/www'] },
        scratch.path('image-build'),
        scratch.path('sandbox.oci.tar'),
      );
      await containerd.start();
      containerd.importImage(scratch.path('sandbox.oci.tar'));
      cri = new CriRuntimeClient(containerd.socket);
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      if (traceLog) exportTrace(traceLog, 'containerd');
      if (scratch) await scratch.cleanup();
    }, CLEANUP_TIMEOUT_MS);

    it('CRI v1 answers on the private socket', async () => {
      const version = await cri.version(10_000);
      expect(version.runtimeName).toBe('containerd');
      expect(version.runtimeApiVersion).toBe('v1');
    });

    it('RunPodSandbox attaches the pod with an address from our host-local', async () => {
      const config: PodSandboxConfig = {
        metadata: { name: podName, uid: randomUUID(), namespace: 'crosscni-e2e', attempt: 0 },
        hostname: podName,
        portMappings: hasPortmap ? [{ protocol: 'TCP', containerPort: 80, hostPort }] : [],
        labels: { 'crosscni.e2e': 'true' },
      };
      try {
        sandboxId = await cri.runPodSandbox(config, 60_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${explain(trace())}`);
      }
      sandboxIds.push(sandboxId);
      const { status, info } = await cri.podSandboxStatus(sandboxId, true, 10_000);
      expect(status?.state).toBe('SANDBOX_READY');
      podIp = status?.network?.ip ?? '';
      expect(inSubnet(podIp, net.subnet), `pod IP ${podIp} in ${net.subnet}`).toBe(true);
      expect(podIp).not.toBe(net.gateway);

      const reservation = ipamFileFor(net.dataDir, podIp);
      expect(reservation, `host-local file for ${podIp} under ${net.dataDir}`).toBeDefined();
      expect(readFileSync(reservation!, 'utf8')).toContain(sandboxId);

      const calls = trace();
      const adds = calls.filter((c) => c.command === 'ADD');
      const bridgeAdd = adds.find((c) => c.plugin === 'bridge');
      expect(bridgeAdd, summarizeTrace(calls)).toBeDefined();
      expect(bridgeAdd!.containerId).toBe(sandboxId);
      expect(bridgeAdd!.ifname).toBe('eth0');
      for (const key of [
        'K8S_POD_NAMESPACE=crosscni-e2e',
        `K8S_POD_NAME=${podName}`,
        'K8S_POD_INFRA_CONTAINER_ID=',
      ]) {
        expect(bridgeAdd!.args).toContain(key);
      }
      netnsPath = netnsFromInfo(info) ?? bridgeAdd!.netns;
      expect(bridgeAdd!.netns).toBe(netnsPath);

      const links = linksInNetns(netnsPath);
      const eth0 = links.find((l) => l.ifname === 'eth0');
      expect(eth0?.addr_info.map((a) => a.local)).toContain(podIp);
      expect(portsOfBridge(net.bridge)).toHaveLength(1);
    });

    it('containerd ran loopback from the same bin dir, and lo is up in the pod', () => {
      requireSandbox();
      const calls = trace();
      const loopbackAdd = calls.find((c) => c.command === 'ADD' && c.plugin === 'loopback');
      expect(loopbackAdd, summarizeTrace(calls)).toBeDefined();
      expect(loopbackAdd!.ifname).toBe('lo');
      expect(loopbackAdd!.exitCode).toBe(0);
      // Found through CNI_PATH = bin_dir: the same directory as the pod network's plugins.
      expect(loopbackAdd!.path.split(':')).toContain(scratch.path('cni-bin'));
      expect(loopbackAdd!.config).toMatchObject({ type: 'loopback', name: 'cni-loopback' });
      const lo = linksInNetns(netnsPath).find((l) => l.ifname === 'lo');
      expect(lo?.flags).toContain('UP');
      expect(lo?.addr_info.map((a) => a.local)).toContain('127.0.0.1');
    });

    it('the pod answers over the bridge at its own address', async () => {
      requireSandbox();
      expect(await waitForHttp(`http://${podIp}:80/`, 10_000)).toBe(PAGE);
    });

    it.skipIf(!hasPortmap)(
      hasPortmap ? 'the PortMapping answers on 127.0.0.1 and on the host address' : portmapSkip,
      async () => {
        requireSandbox();
        const portmapAdd = trace().find((c) => c.command === 'ADD' && c.plugin === 'portmap');
        // containerd's spelling (capitalised keys), unlike podman's.
        const runtimeConfig = portmapAdd?.config?.runtimeConfig as { portMappings?: unknown[] } | undefined;
        expect(runtimeConfig?.portMappings).toEqual([
          { HostPort: hostPort, ContainerPort: 80, Protocol: 'tcp', HostIP: '' },
        ]);
        expect(await waitForHttp(`http://127.0.0.1:${hostPort}/`, 10_000)).toBe(PAGE);
        const hostIp = hostIPv4();
        expect(hostIp, 'host has a global IPv4 address').toBeDefined();
        expect(await waitForHttp(`http://${hostIp}:${hostPort}/`, 10_000)).toBe(PAGE);
      },
    );

    it('StopPodSandbox: DEL with the netns and the cached result succeeds and frees everything', async () => {
      const id = requireSandbox();
      const before = trace().length;
      try {
        await cri.stopPodSandbox(id, 60_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${explain(trace().slice(before))}`);
      }
      const calls = trace().slice(before);
      const dels = calls.filter((c) => c.command === 'DEL');
      expect(dels.length, summarizeTrace(calls)).toBeGreaterThan(0);
      expect(
        dels.every((c) => c.exitCode === 0),
        summarizeTrace(calls),
      ).toBe(true);
      const bridgeDel = dels.find((c) => c.plugin === 'bridge');
      expect(bridgeDel?.netns).toBe(netnsPath);
      expect(bridgeDel?.config?.prevResult, 'first DEL carries the cached result').toBeDefined();
      expect(dels.some((c) => c.plugin === 'loopback')).toBe(true);

      const { status } = await cri.podSandboxStatus(id, false, 10_000);
      expect(status?.state).toBe('SANDBOX_NOTREADY');
      expect(attachmentLeftovers(net.dataDir, net.bridge, podIp, id)).toEqual(NOTHING_LEFT);
    });

    it('RemovePodSandbox: the second DEL, without CNI_NETNS or prevResult, succeeds too', async () => {
      const id = requireSandbox();
      const before = trace().length;
      try {
        await cri.removePodSandbox(id, 60_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${explain(trace().slice(before))}`);
      }
      const calls = trace().slice(before);
      const dels = calls.filter((c) => c.command === 'DEL');
      expect(
        dels.every((c) => c.exitCode === 0),
        summarizeTrace(calls),
      ).toBe(true);
      const bridgeDel = dels.find((c) => c.plugin === 'bridge');
      expect(
        bridgeDel,
        `containerd 1.6 runs a second DEL round on remove:\n${summarizeTrace(calls)}`,
      ).toBeDefined();
      expect(bridgeDel!.netns).toBe('');
      expect(bridgeDel!.config?.prevResult).toBeUndefined();

      expect((await cri.listPodSandbox(10_000)).map((p) => p.id)).not.toContain(id);
      expect(attachmentLeftovers(net.dataDir, net.bridge, podIp, id)).toEqual(NOTHING_LEFT);
      sandboxId = '';
    });
  },
);
