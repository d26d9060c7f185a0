// The nat plugin on the real kernel beyond its scenarios: what DEL, GC, CHECK and a failed ADD
// leave behind, in a throwaway host namespace (test/scenarios/linux-harness.ts).
import { readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attachmentHash, networkTable } from '../../linux/netfilter-names.ts';
import { forwardsPort, portMappingsSkipReason, ScenarioHost } from '../scenarios/linux-harness.ts';
import { isRoot, linkExists, sh, skipReason, uniqueName } from '../support/kernel.ts';

let current: ScenarioHost | undefined;
afterEach(() => {
  current?.cleanup();
  current = undefined;
});

function setUp(): {
  h: ScenarioHost;
  network: string;
  config: (extra?: Record<string, unknown>) => Record<string, unknown>;
} {
  const h = new ScenarioHost();
  current = h;
  const network = uniqueName('nat');
  const config = (extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.0.0',
    name: network,
    type: 'nat',
    ipam: { subnet: '10.233.0.0/24', dataDir: h.dataDir },
    ...extra,
  });
  return { h, network, config };
}

function stored(h: ScenarioHost, network: string): string[] {
  try {
    return readdirSync(join(h.dataDir, network)).filter((f) => isIP(f) !== 0);
  } catch {
    return [];
  }
}

const mapping = (hostPort: number) => ({
  runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
});

describe.skipIf(!isRoot)(`nat on the real kernel${isRoot ? '' : ` (${skipReason})`}`, () => {
  it('DEL after the namespace is gone, without prevResult, removes the NAT state by attachment', () => {
    const { h, network, config } = setUp();
    expect(h.exec('nat', 'ADD', config(mapping(18081))).exitCode).toBe(0);
    const table = networkTable(network);
    const hash = attachmentHash('c0ffee0123456789', 'eth0');
    expect(h.nft('inet', table)).toContain(hash);
    // containerd's RemovePodSandbox: the namespace is gone and the DEL carries neither it nor prevResult.
    sh('ip', ['netns', 'del', h.container.name]);
    expect(h.exec('nat', 'DEL', config(mapping(18081)), { netns: '' }).exitCode).toBe(0);
    expect(h.nft('inet', table)).not.toContain(hash);
    expect(h.nft('inet', table)).not.toContain('10.233.0.2');
    expect(stored(h, network)).toEqual([]);
  });

  it('GC keeps the valid attachment and removes the others’ masquerade, forwardings and addresses', () => {
    const { h, network, config } = setUp();
    const second = h.scratch.namespace('wc');
    expect(h.exec('nat', 'ADD', config(mapping(18082)), { containerId: 'keep' }).exitCode).toBe(0);
    expect(
      h.exec('nat', 'ADD', config(mapping(18083)), { containerId: 'stale', netns: second.path }).exitCode,
    ).toBe(0);
    const gc = h.exec('nat', 'GC', {
      ...config(),
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }],
    });
    expect(gc.exitCode, gc.stdout).toBe(0);
    const rules = h.nft('inet', networkTable(network));
    expect(rules).toContain(attachmentHash('keep', 'eth0'));
    expect(rules).not.toContain(attachmentHash('stale', 'eth0'));
    if (!portMappingsSkipReason()) {
      expect(forwardsPort(rules, 18082, '10.233.0.2', 80)).toBe(true);
      expect(forwardsPort(rules, 18083, '10.233.0.3', 80)).toBe(false);
    }
    expect(stored(h, network)).toEqual(['10.233.0.2']);
  });

  it('CHECK reports a route removed after ADD (code 5, naming it)', () => {
    const { h, config } = setUp();
    const added = h.exec('nat', 'ADD', config());
    expect(added.exitCode).toBe(0);
    expect(h.exec('nat', 'CHECK', { ...config(), prevResult: added.json }).exitCode).toBe(0);
    h.ip(h.container, ['route', 'del', 'default']);
    const checked = h.exec('nat', 'CHECK', { ...config(), prevResult: added.json });
    expect(checked.json).toMatchObject({
      code: 5,
      msg: expect.stringContaining('route to 0.0.0.0/0 via 10.233.0.1 is missing'),
    });
  });

  it.skipIf(portMappingsSkipReason() !== undefined)(
    `an ADD that fails on a taken host port leaves no interface, NAT entry or address behind${portMappingsSkipReason() ? ` (${portMappingsSkipReason()})` : ''}`,
    () => {
      const { h, network, config } = setUp();
      const second = h.scratch.namespace('wc');
      expect(h.exec('nat', 'ADD', config(mapping(18084)), { containerId: 'first' }).exitCode).toBe(0);
      const failed = h.exec('nat', 'ADD', config(mapping(18084)), {
        containerId: 'second',
        netns: second.path,
      });
      expect(failed.exitCode).toBe(1);
      expect(failed.json).toMatchObject({ msg: expect.stringContaining('18084') });
      expect(linkExists('eth0', second.name)).toBe(false);
      expect(h.nft('inet', networkTable(network))).not.toContain(attachmentHash('second', 'eth0'));
      expect(stored(h, network)).toEqual(['10.233.0.2']);
    },
  );

  it('STATUS is ready while the subnet has addresses', () => {
    const { h, config } = setUp();
    expect(h.exec('nat', 'STATUS', { ...config(), cniVersion: '1.1.0' }).exitCode).toBe(0);
  });
});
