/**
 * The portmap plugin on the real kernel, chained after crosscni's bridge plugin and driven
 * through the executables as a runtime drives them. What a user observes: a TCP connection to
 * hostIP:hostPort from another namespace reaches a server inside the container, so do
 * 127.0.0.1:hostPort from the host and the host's address from the container itself (hairpin);
 * CHECK passes for IPv4-only containers; DEL removes the forwarding and succeeds again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { networkTable } from '../../linux/netfilter-names.ts';
import { isRoot, sh, skipReason, uniqueName } from '../support/kernel.ts';
import {
  addChain,
  bridgePlugin,
  type ChainFixture,
  type ChainPlugin,
  chainFixture,
  delChain,
  expectOk,
  fetchFrom,
  fetchFromHost,
  listenIn,
  randomPort,
  runPlugin,
} from './portmap-fixture.ts';

let current: ChainFixture | undefined;

function fixture(): ChainFixture {
  current = chainFixture();
  return current;
}

afterEach(() => {
  current?.scratch.cleanup();
  current = undefined;
});

const portmap: ChainPlugin = { type: 'portmap', capabilities: { portMappings: true }, snat: true };

/** The network's nft table as text (empty when it does not exist). */
function table(fx: ChainFixture): string {
  try {
    return sh('nft', ['list', 'table', 'inet', networkTable(fx.network)]);
  } catch {
    return '';
  }
}

/** Whether the network's table forwards tcp/`port` (a map element keyed by it). */
function forwards(fx: ChainFixture, port: number): boolean {
  return new RegExp(`tcp \\. ${port} comment`).test(table(fx));
}

/** A second container on the same bridge to connect from. */
function client(fx: ChainFixture, plugins: ChainPlugin[] = [bridgePlugin(fx)]) {
  const ns = fx.scratch.namespace('pmc');
  const result = addChain(fx, plugins, { netns: ns.path, containerId: `client-${ns.name}` });
  return { ns, result };
}

const address = (result: Record<string, unknown>, i = 0) =>
  (result.ips as Array<{ address: string }>)[i]!.address.split('/')[0] as string;

describe.skipIf(!isRoot)('portmap plugin on the real kernel', () => {
  it('forwards hostPort from another namespace, from localhost and from the container itself; CHECK passes; DEL twice', async () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('pmt');
    const plugins = [bridgePlugin(fx), portmap];
    const hostPort = randomPort();
    // podman's spelling.
    const runtimeConfig = { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] };
    const call = { netns: ns.path, containerId: 'pm-basic', runtimeConfig };
    const bridgeResult = expectOk(runPlugin(fx, 'ADD', plugins[0]!, call));
    const result = expectOk(runPlugin(fx, 'ADD', portmap, call, bridgeResult));
    expect(result).toEqual(bridgeResult);
    await listenIn(fx, ns.name, 80, 'hello from the container');
    const gateway = (result.ips as Array<{ gateway: string }>)[0]!.gateway;

    const other = client(fx);
    expect(fetchFrom(other.ns.name, gateway, hostPort)).toBe('hello from the container');
    expect(await fetchFromHost('127.0.0.1', hostPort)).toBe('hello from the container');
    // Hairpin: the container reaches itself through the host's address.
    expect(fetchFrom(ns.name, gateway, hostPort)).toBe('hello from the container');
    expect(sh('cat', [`/proc/sys/net/ipv4/conf/${fx.bridge}/route_localnet`]).trim()).toBe('1');

    // IPv4-only container: CHECK passes (the reference 1.1.1 fails here, plugins#819).
    expectOk(runPlugin(fx, 'CHECK', portmap, call, result));

    const cached = { ...call, prevResult: result };
    expectOk(runPlugin(fx, 'DEL', portmap, cached, result));
    expect(fetchFrom(other.ns.name, gateway, hostPort)).toBeUndefined();
    expect(forwards(fx, hostPort)).toBe(false);
    expectOk(runPlugin(fx, 'DEL', portmap, cached, result));
    // containerd's second round: no prevResult, no namespace.
    expectOk(runPlugin(fx, 'DEL', portmap, { ...call, netns: '' }));
    // A DEL without the mappings finds the attachment's entries all the same.
    expectOk(runPlugin(fx, 'ADD', portmap, call, bridgeResult));
    expect(forwards(fx, hostPort)).toBe(true);
    expectOk(runPlugin(fx, 'DEL', portmap, { netns: '', containerId: call.containerId }));
    expect(forwards(fx, hostPort)).toBe(false);
    // Nor its hairpin SNAT entry.
    expect(table(fx)).not.toContain(`${address(result)} . ${address(result)}`);
    delChain(fx, [plugins[0]!], cached);
  });

  it("accepts containerd's capitalised keys and forwards only the given HostIP", async () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('pmt');
    // Another address of the host, on a link of its own.
    const extra = fx.scratch.link(uniqueName('pmd'));
    sh('ip', ['link', 'add', extra, 'type', 'veth', 'peer', 'name', `${extra}p`]);
    sh('ip', ['addr', 'add', '10.219.7.1/32', 'dev', extra]);
    sh('ip', ['link', 'set', extra, 'up']);
    const hostPort = randomPort();
    const mapping = { HostPort: hostPort, ContainerPort: 8080, Protocol: 'tcp', HostIP: '10.211.0.1' };
    const call = { netns: ns.path, containerId: 'pm-hostip', runtimeConfig: { portMappings: [mapping] } };
    const result = addChain(fx, [bridgePlugin(fx), portmap], call);
    await listenIn(fx, ns.name, 8080, 'via hostIP');
    const other = client(fx);
    expect(fetchFrom(other.ns.name, '10.211.0.1', hostPort)).toBe('via hostIP');
    expect(fetchFrom(other.ns.name, '10.219.7.1', hostPort)).toBeUndefined();
    expectOk(runPlugin(fx, 'CHECK', portmap, call, result));
    delChain(fx, [bridgePlugin(fx), portmap], { ...call, prevResult: result });
  });

  it('forwards only packets that meet conditionsV4', async () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('pmt');
    const hostPort = randomPort();
    // Only sources on the bridge's subnet: the host's own 127.0.0.1 is not one.
    const guarded: ChainPlugin = { ...portmap, conditionsV4: ['-s', '10.211.0.0/24', '!', '-i', 'lo'] };
    const call = {
      netns: ns.path,
      containerId: 'pm-cond',
      runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    };
    const result = addChain(fx, [bridgePlugin(fx), guarded], call);
    await listenIn(fx, ns.name, 80, 'conditional');
    const other = client(fx);
    expect(fetchFrom(other.ns.name, '10.211.0.1', hostPort)).toBe('conditional');
    expect(await fetchFromHost('127.0.0.1', hostPort)).toBeUndefined();
    expect(table(fx)).toContain('ip saddr 10.211.0.0/24');
    expectOk(runPlugin(fx, 'CHECK', guarded, call, result));
    const bad = runPlugin(fx, 'ADD', { ...guarded, conditionsV4: ['-m', 'addrtype'] }, call, result);
    expect(bad.json?.code).toBe(7);
    expect(bad.json?.msg).toContain('cannot use "-m"');
    delChain(fx, [bridgePlugin(fx), guarded], { ...call, prevResult: result });
  });

  it('forwards to IPv6 addresses of a dual-stack container ([addr]:port DNAT)', async () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('pmt');
    const bridge = bridgePlugin(fx, [[{ subnet: '10.212.0.0/24' }], [{ subnet: 'fd00:212::/64' }]]);
    (bridge.ipam as Record<string, unknown>).routes = [{ dst: '0.0.0.0/0' }, { dst: '::/0' }];
    const hostPort = randomPort();
    const call = {
      netns: ns.path,
      containerId: 'pm-dual',
      runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    };
    const result = addChain(fx, [bridge, portmap], call);
    await listenIn(fx, ns.name, 80, 'dual', '::');
    const other = client(fx, [bridge]);
    expect(fetchFrom(other.ns.name, '10.212.0.1', hostPort)).toBe('dual');
    expect(fetchFrom(other.ns.name, 'fd00:212::1', hostPort)).toBe('dual');
    expect(table(fx)).toContain(`tcp . ${hostPort} comment`);
    expect(table(fx)).toContain(`: ${address(result, 1)} . 80`);
    expectOk(runPlugin(fx, 'CHECK', portmap, call, result));
    delChain(fx, [bridge, portmap], { ...call, prevResult: result });
    expect(table(fx)).not.toContain(address(result, 1));
  });

  it('CHECK names the forwarding that went missing', () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('pmt');
    const hostPort = randomPort();
    const call = {
      netns: ns.path,
      containerId: 'pm-drift',
      runtimeConfig: {
        portMappings: [
          { hostPort, containerPort: 80, protocol: 'tcp' },
          { hostPort, containerPort: 53, protocol: 'udp' },
        ],
      },
    };
    const result = addChain(fx, [bridgePlugin(fx), portmap], call);
    expectOk(runPlugin(fx, 'CHECK', portmap, call, result));
    const checkedWithFewer = {
      ...call,
      runtimeConfig: { portMappings: [{ hostPort: hostPort + 1, containerPort: 80, protocol: 'tcp' }] },
    };
    const answer = runPlugin(fx, 'CHECK', portmap, checkedWithFewer, result);
    expect(answer.exitCode).not.toBe(0);
    expect(answer.json?.msg).toContain(`tcp *:${hostPort + 1} -> ${address(result)}:80`);
    // The forwardings deleted behind the plugin's back.
    for (const protocol of ['tcp', 'udp']) {
      sh('nft', [
        'delete',
        'element',
        'inet',
        networkTable(fx.network),
        'pm-ports4',
        `{ ${protocol} . ${hostPort} }`,
      ]);
    }
    const flushed = runPlugin(fx, 'CHECK', portmap, call, result);
    expect(flushed.json?.code).toBe(5);
    expect(flushed.json?.msg).toMatch(/2 port forwarding\(s\) .* are missing/);
    delChain(fx, [bridgePlugin(fx), portmap], { ...call, prevResult: result });
  });

  it('refuses a host port another container of the network already has, and ADD needs prevResult', () => {
    const fx = fixture();
    const hostPort = randomPort();
    const runtimeConfig = { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] };
    const a = fx.scratch.namespace('pmt');
    const b = fx.scratch.namespace('pmt');
    const callA = { netns: a.path, containerId: 'pm-a', runtimeConfig };
    const callB = { netns: b.path, containerId: 'pm-b', runtimeConfig };
    const resultA = addChain(fx, [bridgePlugin(fx), portmap], callA);
    const bridgeB = expectOk(runPlugin(fx, 'ADD', bridgePlugin(fx), callB));
    const clash = runPlugin(fx, 'ADD', portmap, callB, bridgeB);
    expect(clash.json?.code).toBe(5);
    expect(clash.json?.msg).toContain(`tcp/${hostPort}`);
    expect(clash.json?.msg).toContain('already forwarded');
    // A failed ADD leaves nothing, and A keeps its forwarding.
    expectOk(runPlugin(fx, 'CHECK', portmap, callA, resultA));

    const alone = runPlugin(fx, 'ADD', portmap, callB);
    expect(alone.json?.code).toBe(7);
    expect(alone.json?.msg).toContain('chained plugin');
    delChain(fx, [bridgePlugin(fx)], { ...callB, prevResult: bridgeB });
    delChain(fx, [bridgePlugin(fx), portmap], { ...callA, prevResult: resultA });
  });

  it('GC removes the forwardings of attachments not in the valid list', () => {
    const fx = fixture();
    const a = fx.scratch.namespace('pmt');
    const b = fx.scratch.namespace('pmt');
    const portA = randomPort();
    const portB = portA + 1;
    const callA = {
      netns: a.path,
      containerId: 'pm-gc-a',
      runtimeConfig: { portMappings: [{ hostPort: portA, containerPort: 80, protocol: 'tcp' }] },
    };
    const callB = {
      netns: b.path,
      containerId: 'pm-gc-b',
      runtimeConfig: { portMappings: [{ hostPort: portB, containerPort: 80, protocol: 'tcp' }] },
    };
    const resultA = addChain(fx, [bridgePlugin(fx), portmap], callA);
    const resultB = addChain(fx, [bridgePlugin(fx), portmap], callB);
    const gc = execGc(fx, [{ containerID: 'pm-gc-a', ifname: 'eth0' }]);
    expect(gc.stdout).toBe('');
    expect(forwards(fx, portA)).toBe(true);
    expect(forwards(fx, portB)).toBe(false);
    expectOk(runPlugin(fx, 'CHECK', portmap, callA, resultA));
    delChain(fx, [bridgePlugin(fx), portmap], { ...callA, prevResult: resultA });
    delChain(fx, [bridgePlugin(fx), portmap], { ...callB, prevResult: resultB });
  });

  it('forwards with the iptables backend when asked, and DEL removes its chain', async () => {
    const fx = fixture();
    const ns = fx.scratch.namespace('pmt');
    const hostPort = randomPort();
    const iptables: ChainPlugin = { ...portmap, backend: 'iptables' };
    const call = {
      netns: ns.path,
      containerId: `pm-ipt-${ns.name}`,
      runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    };
    const result = addChain(fx, [bridgePlugin(fx), iptables], call);
    fx.scratch.onCleanup(() => runPlugin(fx, 'DEL', iptables, call));
    await listenIn(fx, ns.name, 80, 'through iptables');
    const other = client(fx);
    expect(fetchFrom(other.ns.name, '10.211.0.1', hostPort)).toBe('through iptables');
    expect(await fetchFromHost('127.0.0.1', hostPort)).toBe('through iptables');
    expect(sh('iptables', ['-w', '-t', 'nat', '-S', 'CROSSCNI-HOSTPORT-DNAT'])).toContain(
      `--dports ${hostPort}`,
    );
    expectOk(runPlugin(fx, 'CHECK', iptables, call, result));
    delChain(fx, [bridgePlugin(fx), iptables], { ...call, prevResult: result });
    expect(sh('iptables', ['-w', '-t', 'nat', '-S', 'CROSSCNI-HOSTPORT-DNAT'])).not.toContain(`${hostPort}`);
    expectOk(runPlugin(fx, 'DEL', iptables, call));
  });
});

function execGc(fx: ChainFixture, valid: Array<{ containerID: string; ifname: string }>) {
  return runPlugin(
    fx,
    'GC',
    { ...portmap, 'cni.dev/valid-attachments': valid },
    { netns: '', containerId: '' },
  );
}

describe.skipIf(isRoot)('portmap plugin on the real kernel', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
