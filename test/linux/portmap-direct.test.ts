/**
 * portmap ADD over nfnetlink (portmap-direct.ts) on the real kernel: the network's first ADD
 * runs the nft batch, later ones add their elements without `nft` once the rules check
 * (portmap-rules.ts) passes, and the table then lists exactly as the nft batches alone make it;
 * a repeated ADD with changed mappings replaces the attachment's elements (both paths); a
 * repeated identical ADD changes nothing; concurrent first ADDs end with one set of rules and
 * every element. `nftBatch` is wrapped (calls pass through to the real nft) only to see whether
 * it ran. Element encodings are compared byte for byte with what nft 1.0.6 sent (strace).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachmentHash, networkTable } from '../../linux/netfilter-names.ts';
import { encodeAttrs } from '../../linux/rtnl-attrs.ts';
import { addPortMappings, readPortMappings, removePortMappings } from '../../linux/port-mappings.ts';
import { addForwardingsDirect, elementAddMessage } from '../../linux/portmap-direct.ts';
import { forwardingAddCommands, forwardingElements } from '../../linux/portmap-nft.ts';
import { portmapRulesCurrent } from '../../linux/portmap-rules.ts';
import * as nft from '../../linux/nft.ts';
import { planForwardings } from '../../platform/port-forwarding.ts';
import type { PortMappingSpec } from '../../platform/types.ts';
import { isRoot, KernelScratch, sh, uniqueName } from '../support/kernel.ts';

vi.mock('../../linux/nft.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../linux/nft.ts')>();
  return { ...real, nftBatch: vi.fn(real.nftBatch) };
});
const nftBatch = vi.mocked(nft.nftBatch);

const scratch = new KernelScratch();
beforeEach(() => {
  nftBatch.mockClear();
});
afterEach(() => {
  scratch.cleanup();
});

const attachment = (id: string) => ({ containerId: id, ifname: 'eth0' });
const NO_CONDITIONS = { 4: [], 6: [] };

/** A fresh network name whose table is removed after the test. */
function network(): string {
  const name = uniqueName('pmd');
  scratch.nftTable('inet', networkTable(name));
  return name;
}

/**
 * A /24 on a bridge, so the containers' addresses route through it (ADD sets
 * route_localnet on the link that reaches the container; it goes with the link).
 */
function subnet(): { v4: (host: number) => string; v6: (host: number) => string } {
  const link = scratch.link(uniqueName('pmdd'));
  const octet = 100 + Math.floor(Math.random() * 150);
  sh('ip', ['link', 'add', link, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `10.${octet}.77.1/24`, 'dev', link]);
  sh('ip', ['link', 'set', link, 'up']);
  return { v4: (h) => `10.${octet}.77.${h}`, v6: (h) => `fd00:${octet}:77::${h}` };
}

/** The table as nft lists it, with its name and each element list's order normalised. */
function tableText(net: string): string {
  const text = sh('nft', ['list', 'table', 'inet', networkTable(net)])
    .replaceAll(networkTable(net), 'T')
    .replace(/comment "crosscni network [^"]*"/, 'comment "N"');
  return text.replace(/elements = \{([^}]*)\}/g, (_, list: string) => {
    const items = list.split(/,\s*\n\s*|,\s+(?=\S)/).map((s) => s.trim());
    return `elements = { ${items.sort().join(', ')} }`;
  });
}

function mappings(base: number, host: ReturnType<typeof subnet>): PortMappingSpec[] {
  return [
    { hostPort: base, containerPort: 80, protocol: 'tcp' },
    { hostPort: base + 1, containerPort: 53, protocol: 'udp' },
    { hostPort: base + 2, containerPort: 90, protocol: 'tcp', hostIp: host.v4(1) },
    { hostPort: base + 3, containerPort: 91, protocol: 'sctp', hostIp: 'fd00::1' },
    { hostPort: base + 4, containerPort: 92, protocol: 'tcp', hostIp: '0.0.0.0' },
  ];
}

describe('portmap element encodings', () => {
  // The NFTA_SET_ELEM_LIST_ELEMENTS attribute nft 1.0.6 sent for the same `add element`
  // (strace -e trace=sendmsg -x); nft also sends NFTA_SET_ELEM_LIST_SET_ID, which is optional.
  const comment = '0123456789abcdef';
  const sent = (hex: string) => Buffer.from(hex.replace(/\s/g, ''), 'hex');
  const elementsAttr = (forwarding: Parameters<typeof forwardingElements>[0], snat: boolean) =>
    forwardingElements(forwarding, snat).map((e) =>
      encodeAttrs([elementAddMessage('T', e, comment).attrs[2]!]),
    );

  it('writes a port map element with its DNAT target and comment as nft does', () => {
    const [ports, hairpin, local] = elementsAttr(
      planForwardings([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], ['10.22.0.5/24']),
      true,
    );
    expect(ports!.toString('hex')).toBe(
      sent(`40000380 3c000180 10000180 0c000100 06000000 1f900000 10000280 0c000100 0a160005 00500000
            17000600 00113031 32333435 36373839 61626364 65660000`).toString('hex'),
    );
    // `add element ... pm-hairpin4 { 10.22.0.5 . 10.22.0.5 comment "..." }`
    expect(hairpin!.toString('hex')).toBe(
      sent(`30000380 2c000180 10000180 0c000100 0a160005 0a160005 17000600 00113031
            32333435 36373839 61626364 65660000`).toString('hex'),
    );
    expect(local).toBeDefined();
  });

  it('writes an IPv6 hostIP map element as nft does', () => {
    const [hostIps] = forwardingElements(
      planForwardings(
        [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIp: 'fd00::1' }],
        ['fd00::5/64'],
      ),
      false,
    ).map((e) => encodeAttrs([elementAddMessage('T', e, 'abc').attrs[2]!]));
    expect(hostIps!.toString('hex')).toBe(
      sent(`50000380 4c000180 20000180 1c000100 fd000000 00000000 00000000 00000001 06000000 1f900000
            1c000280 18000100 fd000000 00000000 00000000 00000005 00500000 0a000600 00046162 63000000`).toString(
        'hex',
      ),
    );
  });
});

describe.skipIf(!isRoot)('portmap ADD over nfnetlink on the real kernel', () => {
  it('first ADD runs nft, the next ones do not, and the table lists as with nft batches only', async () => {
    const host = subnet();
    const net = network();
    const reference = network();
    const base = 20000 + Math.floor(Math.random() * 20000);
    const containers = [1, 2, 3].map((i) => ({
      id: `pmd-${i}`,
      addresses: [`${host.v4(10 + i)}/24`, `${host.v6(10 + i)}/64`],
      mappings: mappings(base + 10 * i, host),
    }));
    // Nothing there yet: the direct path declines and applies nothing.
    expect(await portmapRulesCurrent(networkTable(net))).toBe(false);
    const first = containers[0]!;
    const planned = planForwardings(first.mappings, first.addresses);
    expect(
      await addForwardingsDirect(net, attachment(first.id), planned, {
        snat: true,
        conditions: NO_CONDITIONS,
      }),
    ).toBe(false);
    for (const [i, c] of containers.entries()) {
      nftBatch.mockClear();
      await addPortMappings(net, attachment(c.id), c.addresses, c.mappings);
      expect(nftBatch).toHaveBeenCalledTimes(i === 0 ? 1 : 0);
    }
    expect(await portmapRulesCurrent(networkTable(net))).toBe(true);
    // What the nft batches alone (the code before the nfnetlink path) make of the same ADDs.
    for (const c of containers) {
      const forwardings = planForwardings(c.mappings, c.addresses);
      await nft.nftBatch(
        forwardingAddCommands(reference, attachment(c.id), forwardings, {
          snat: true,
          conditions: NO_CONDITIONS,
        }),
      );
    }
    expect(tableText(net)).toBe(tableText(reference));
    // DEL and CHECK find the elements by their comment as before.
    const read = await readPortMappings(net, attachment('pmd-2'));
    expect(read).toHaveLength(planForwardings(containers[1]!.mappings, containers[1]!.addresses).length);
    await removePortMappings(net, attachment('pmd-2'));
    expect(tableText(net)).not.toContain(attachmentHash('pmd-2', 'eth0'));
    expect(tableText(net)).toContain(attachmentHash('pmd-3', 'eth0'));
  });

  it('rules with conditions, or a rule changed by hand, send the next ADD back to nft', async () => {
    const host = subnet();
    const net = network();
    const base = 20000 + Math.floor(Math.random() * 20000);
    const add = (i: number, options = {}) =>
      addPortMappings(
        net,
        attachment(`r${i}`),
        [`${host.v4(10 + i)}/24`],
        [{ hostPort: base + i, containerPort: 80, protocol: 'tcp' }],
        options,
      );
    await add(1, { conditionsV4: ['-s', '10.0.0.0/8'] });
    expect(await portmapRulesCurrent(networkTable(net))).toBe(false);
    nftBatch.mockClear();
    // Without conditions now: the batch rewrites the rules, after which they are current.
    await add(2);
    expect(nftBatch).toHaveBeenCalledTimes(1);
    expect(await portmapRulesCurrent(networkTable(net))).toBe(true);
    sh('nft', ['add', 'rule', 'inet', networkTable(net), 'pm-output', 'counter']);
    expect(await portmapRulesCurrent(networkTable(net))).toBe(false);
    nftBatch.mockClear();
    await add(3);
    expect(nftBatch).toHaveBeenCalledTimes(1);
    expect(sh('nft', ['list', 'chain', 'inet', networkTable(net), 'pm-output'])).not.toContain('counter');
  });

  it('a repeated identical ADD changes nothing and runs no nft', async () => {
    const host = subnet();
    const net = network();
    const base = 20000 + Math.floor(Math.random() * 20000);
    const addresses = [`${host.v4(5)}/24`, `${host.v6(5)}/64`];
    await addPortMappings(
      net,
      attachment('warm'),
      [`${host.v4(4)}/24`],
      [{ hostPort: base + 9, containerPort: 1, protocol: 'tcp' }],
    );
    await addPortMappings(net, attachment('same'), addresses, mappings(base, host));
    const before = tableText(net);
    nftBatch.mockClear();
    await addPortMappings(net, attachment('same'), addresses, mappings(base, host));
    expect(nftBatch).not.toHaveBeenCalled();
    expect(tableText(net)).toBe(before);
  });

  it.each([
    ['over nfnetlink', undefined, true],
    // No SNAT elements: nothing of the new ADD collides with the old one's keys but one.
    ['over nfnetlink, snat off', undefined, false],
    ['with nft (conditionsV4)', ['!', '-i', 'lo'], true],
  ])('a repeated ADD with changed mappings replaces the old ones (%s)', async (_, conditionsV4, snat) => {
    const host = subnet();
    const net = network();
    const base = 20000 + Math.floor(Math.random() * 20000);
    const options = conditionsV4 ? { conditionsV4, snat } : { snat };
    await addPortMappings(
      net,
      attachment('warm'),
      [`${host.v4(4)}/24`],
      [{ hostPort: base + 9, containerPort: 1, protocol: 'tcp' }],
      options,
    );
    const old = [`${host.v4(5)}/24`, `${host.v6(5)}/64`];
    await addPortMappings(
      net,
      attachment('moving'),
      old,
      [
        { hostPort: base, containerPort: 80, protocol: 'tcp' },
        { hostPort: base + 1, containerPort: 81, protocol: 'tcp', hostIp: host.v4(1) },
      ],
      options,
    );
    // Same key with another container port, a new key, a dropped key, and a new address.
    const next: PortMappingSpec[] = [
      { hostPort: base, containerPort: 8000, protocol: 'tcp' },
      { hostPort: base + 2, containerPort: 82, protocol: 'udp' },
    ];
    nftBatch.mockClear();
    await addPortMappings(net, attachment('moving'), [`${host.v4(6)}/24`], next, options);
    expect(nftBatch).toHaveBeenCalledTimes(conditionsV4 ? 1 : 0);
    const read = await readPortMappings(net, attachment('moving'));
    expect(read.sort((a, b) => a.hostPort - b.hostPort)).toEqual([
      { protocol: 'tcp', hostPort: base, containerIp: host.v4(6), containerPort: 8000 },
      { protocol: 'udp', hostPort: base + 2, containerIp: host.v4(6), containerPort: 82 },
    ]);
    const text = tableText(net);
    expect(text).not.toContain(host.v4(5));
    expect(text).not.toContain(host.v6(5));
    if (snat) expect(text).toContain(`${host.v4(6)} . ${host.v4(6)}`);
    else expect(text).not.toContain(`${host.v4(6)} . ${host.v4(6)}`);
    // The other attachment keeps its forwarding.
    expect(text).toContain(`tcp . ${base + 9} comment "${attachmentHash('warm', 'eth0')}"`);
  });

  it('concurrent first ADDs on a fresh network end with one set of rules and every element', async () => {
    const host = subnet();
    const net = network();
    const base = 20000 + Math.floor(Math.random() * 20000);
    const ids = [1, 2, 3, 4, 5, 6];
    await Promise.all(
      ids.map((i) =>
        addPortMappings(
          net,
          attachment(`c${i}`),
          [`${host.v4(10 + i)}/24`, `${host.v6(10 + i)}/64`],
          [{ hostPort: base + i, containerPort: 80, protocol: 'tcp' }],
        ),
      ),
    );
    expect(await portmapRulesCurrent(networkTable(net))).toBe(true);
    for (const i of ids) {
      const read = await readPortMappings(net, attachment(`c${i}`));
      expect(read.map((f) => f.containerIp).sort()).toEqual([host.v4(10 + i), host.v6(10 + i)].sort());
    }
  });
});
