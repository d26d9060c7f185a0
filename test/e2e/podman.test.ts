/**
 * podman 4 (CNI backend) driving the plugin directory under test, as a user would: a bridge
 * network with host-local IPAM (and portmap when the directory has it), `podman run` of a
 * busybox web server, then `podman rm`. Asserts what a user observes (the address inside the
 * container, a published port answering on the host) and that removal leaves nothing: no
 * host-local reservation, no veth on the bridge, no netfilter entry naming the container.
 * The plugin directory is CROSSCNI_E2E_BIN_DIR (default dist/bin); see docs/e2e.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, packTar, stageBusyboxRootfs } from './support/busybox-image.ts';
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
  attachmentLeftovers,
  ipamFileFor,
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
import { Podman, type PodmanContainer } from './support/podman.ts';
import { removeStrayRuncContainers } from './support/runc-strays.ts';
import { E2eScratch, sweepStaleScratch } from './support/scratch.ts';
import { releaseStalePodmanRun } from './support/stale-runs.ts';
import { inSubnet, newTestNetwork, type TestNetwork, writeConflist } from './support/test-network.ts';

const binDir = pluginBinDir();
/** Every cleanup step is bounded on its own; together they must still finish. */
const CLEANUP_TIMEOUT_MS = 180_000;
const SETUP_TIMEOUT_MS = 120_000;
/** Seconds normally; the bound is for a host so loaded that netfilter calls queue up. */
const TEST_TIMEOUT_MS = 120_000;
const unmet = unmetPrecondition({
  tools: ['podman', 'runc', 'conmon', 'ip', 'nft', 'nsenter', 'tar', BUSYBOX],
  plugins: ['bridge', 'host-local'],
});
const hasPortmap = executablesIn(binDir).has('portmap');
const portmapSkip = `${binDir} has no portmap executable: published ports not tested`;
const IMAGE = 'localhost/crosscni-e2e/busybox:1';

// The default reporter folds a skipped file into one line: say why where everyone sees it.
if (unmet && !preconditionsRequired) console.warn(`podman e2e skipped: ${unmet}`);
if (unmet && preconditionsRequired) {
  describe('podman e2e preconditions (CROSSCNI_E2E_REQUIRE=1)', () => {
    it('are met', () => {
      throw new Error(unmet);
    });
  });
}

describe.skipIf(unmet !== undefined)(
  `podman 4 / CNI backend / ${unmet ?? describeBinDir(binDir)}`,
  { timeout: TEST_TIMEOUT_MS },
  () => {
    let scratch: E2eScratch;
    let podman: Podman;
    let net: TestNetwork;
    let traceLog: string;
    let hostPort = 0;
    const token = `crosscni-e2e-${randomBytes(6).toString('hex')}`;
    const containerName = `crosscni-e2e-${randomBytes(4).toString('hex')}`;
    let container: PodmanContainer | undefined;
    let containerIp = '';
    /** Every container id seen, for the netfilter backstop after the container is gone. */
    const containerIds: string[] = [];

    const trace = (): PluginCall[] => readTrace(traceLog);
    const requireContainer = (): PodmanContainer => {
      if (!container) throw new Error('no container: the `podman run` test failed, see its error');
      return container;
    };

    beforeAll(() => {
      // A killed earlier run never reached its afterAll: undo what it left first.
      sweepStaleScratch('podman', releaseStalePodmanRun);
      scratch = new E2eScratch('podman');
      net = newTestNetwork('podman', scratch.root, hasPortmap);
      const traced = createTraceDir(binDir, scratch.path('cni-bin'), scratch.path('trace'));
      traceLog = traced.logDir;
      podman = new Podman({
        root: scratch.path('podman'),
        networkConfigDir: scratch.path('cni-conf'),
        pluginDirs: [traced.wrapperDir],
      });
      // Cleanup is registered before podman creates anything: it must run even if setup fails.
      const footprint = new HostFootprint(
        ['/var/lib/containers', '/var/lib/cni', '/dev/shm/libpod_lock'],
        ['/var/lib/containers/cache/blob-info-cache-v1.boltdb', '/dev/shm/libpod_lock'],
      );
      scratch.defer('host paths podman created', () => footprint.cleanup());
      scratch.defer('host backstop (bridge, veths, netns, netfilter, libcni cache)', () => {
        const removed = scrubNetwork(net, containerIds);
        // The bridge is network-level state no DEL removes; anything else here is a leak.
        const leaks = removed.filter((r) => !r.startsWith('bridge ') && !r.startsWith('table '));
        if (leaks.length > 0)
          console.warn(`podman e2e: backstop removed leftovers:\n  ${leaks.join('\n  ')}`);
      });
      scratch.defer('runc containers podman left', () => {
        removeStrayRuncContainers(undefined, scratch.root);
      });
      scratch.defer('podman rm --all', () => {
        const res = podman.removeAllContainers();
        if (res.exitCode !== 0) throw new Error(`podman rm --all: ${res.stderr}`);
      });
      writeConflist(net, scratch.path('cni-conf'));
      const rootfs = scratch.path('rootfs');
      stageBusyboxRootfs(rootfs);
      packTar(rootfs, scratch.path('rootfs.tar'));
      podman.importImage(scratch.path('rootfs.tar'), IMAGE);
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      if (traceLog) exportTrace(traceLog, 'podman');
      if (scratch) await scratch.cleanup();
    }, CLEANUP_TIMEOUT_MS);

    it('loads the network, executing VERSION on every plugin of the list', () => {
      const inspected = JSON.parse(podman.run(['network', 'inspect', net.name])) as Array<{ name: string }>;
      expect(inspected[0]?.name).toBe(net.name);
      const versions = trace().filter((c) => c.command === 'VERSION');
      const types = hasPortmap ? ['bridge', 'portmap'] : ['bridge'];
      expect(versions.map((c) => c.plugin).sort(), summarizeTrace(trace())).toEqual(types);
      for (const call of versions) {
        expect(call.exitCode, `VERSION ${call.plugin}: ${call.stdout}`).toBe(0);
        const answer = JSON.parse(call.stdout) as { supportedVersions?: string[] };
        expect(answer.supportedVersions).toContain('1.0.0');
      }
    });

    it('podman run attaches the container with an address from our host-local', async () => {
      hostPort = hasPortmap ? await freeHostPort() : 0;
      const publish = hasPortmap ? ['-p', `${hostPort}:80`] : [];
      const script = `echo ${token} > /www/index.html && exec httpd -f -p 80 -h /www`;
      const before = trace().length;
      podman.run([
        'run',
        '-d',
        '--name',
        containerName,
        '--network',
        net.name,
        ...publish,
        IMAGE,
        'sh',
        '-c',
        script,
      ]);
      container = podman.inspect(containerName);
      containerIds.push(container.Id);
      const calls = trace().slice(before);
      const adds = calls.filter((c) => c.command === 'ADD');
      expect(
        adds.map((c) => c.plugin),
        summarizeTrace(calls),
      ).toEqual(hasPortmap ? ['bridge', 'portmap'] : ['bridge']);
      expect(
        adds.every((c) => c.exitCode === 0),
        summarizeTrace(calls),
      ).toBe(true);
      // What podman sends (docs/e2e.md, runtime facts): 64-hex id, /run/netns path, eth0.
      expect(adds[0]!.containerId).toBe(container.Id);
      expect(adds[0]!.netns).toMatch(/^\/run\/netns\/netns-/);
      expect(adds[0]!.ifname).toBe('eth0');
      if (hasPortmap) {
        const runtimeConfig = adds[1]!.config?.runtimeConfig as { portMappings?: unknown[] } | undefined;
        expect(runtimeConfig?.portMappings).toEqual([{ hostPort, containerPort: 80, protocol: 'tcp' }]);
      }

      const attachment = container.NetworkSettings.Networks[net.name];
      expect(attachment, JSON.stringify(container.NetworkSettings)).toBeDefined();
      containerIp = attachment!.IPAddress;
      expect(inSubnet(containerIp, net.subnet), `${containerIp} in ${net.subnet}`).toBe(true);
      expect(containerIp).not.toBe(net.gateway);
      expect(attachment!.Gateway).toBe(net.gateway);

      // host-local recorded the reservation for this container.
      const reservation = ipamFileFor(net.dataDir, containerIp);
      expect(reservation, `host-local file for ${containerIp} under ${net.dataDir}`).toBeDefined();
      expect(readFileSync(reservation!, 'utf8')).toContain(container.Id);

      // Inside the container, through podman exec: the address and the default route.
      const addr = podman.run(['exec', containerName, 'ip', '-4', 'addr', 'show', 'eth0']);
      expect(addr).toContain(`inet ${containerIp}/24`);
      const routes = podman.run(['exec', containerName, 'ip', '-4', 'route']);
      expect(routes).toMatch(new RegExp(`default via ${net.gateway.replace(/\./g, '\\.')} dev eth0`));

      // And from the host: the netns podman created holds the same address.
      const netnsLinks = linksInNetns(adds[0]!.netns);
      const eth0 = netnsLinks.find((l) => l.ifname === 'eth0');
      expect(eth0?.addr_info.map((a) => a.local)).toContain(containerIp);
      expect(portsOfBridge(net.bridge)).toHaveLength(1);
    });

    it('the container answers over the bridge at its own address', async () => {
      requireContainer();
      expect(await waitForHttp(`http://${containerIp}:80/`, 10_000)).toBe(`${token}\n`);
    });

    it.skipIf(!hasPortmap)(
      hasPortmap ? 'the published port answers on 127.0.0.1 and on the host address' : portmapSkip,
      async () => {
        requireContainer();
        expect(await waitForHttp(`http://127.0.0.1:${hostPort}/`, 10_000)).toBe(`${token}\n`);
        const hostIp = hostIPv4();
        expect(hostIp, 'host has a global IPv4 address').toBeDefined();
        expect(await waitForHttp(`http://${hostIp}:${hostPort}/`, 10_000)).toBe(`${token}\n`);
      },
    );

    it('podman rm -f -t 0 leaves nothing: no reservation, no veth, no netfilter entry', () => {
      const c = requireContainer();
      const netnsPath = trace().find((x) => x.command === 'ADD')?.netns ?? '';
      const before = trace().length;
      podman.run(['rm', '--force', '--time', '0', containerName]);
      container = undefined;
      const calls = trace().slice(before);
      const dels = calls.filter((x) => x.command === 'DEL');
      // libcni deletes in reverse order and hands each plugin the cached result.
      expect(
        dels.map((x) => x.plugin),
        summarizeTrace(calls),
      ).toEqual(hasPortmap ? ['portmap', 'bridge'] : ['bridge']);
      expect(
        dels.every((x) => x.exitCode === 0),
        summarizeTrace(calls),
      ).toBe(true);
      expect(dels.every((x) => x.config?.prevResult !== undefined)).toBe(true);

      expect(attachmentLeftovers(net.dataDir, net.bridge, containerIp, c.Id)).toEqual(NOTHING_LEFT);
      expect(existsSync(netnsPath), `${netnsPath} removed`).toBe(false);
    });
  },
);
