/**
 * A burst of pod starts on a node where the network does not exist yet: 64 bridge executables
 * started at once for one network, each into its own namespace. All succeed, with 64 distinct
 * addresses per family; there is one bridge with one gateway address per family and one set of
 * shared masquerade rules, and every address is reserved, masqueraded and plugged exactly once.
 * Then a seeded storm of ADDs and DELs at once, then every DEL at once: the store, the NAT sets
 * and the bridge end empty. IPv4 and dual-stack. REL_PARALLEL changes the burst size (soak);
 * REL_STORM_SEED replays a storm.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, linkAddresses, sh, skipReason, type TestNamespace } from '../support/kernel.ts';
import {
  addresses,
  type AsyncAnswer,
  type BridgeNetwork,
  bridgeNetwork,
  bridgePorts,
  cleanupNetworks,
  describeAnswer,
  type Json,
  leftovers,
  NOTHING,
  natElements,
  natRules,
  report,
  reservationOwner,
  seededRandom,
  seedFrom,
  sizeFrom,
  startBridge,
  storeFiles,
} from './fixture.ts';

const PARALLEL = sizeFrom('REL_PARALLEL', 64);

afterEach(() => cleanupNetworks());

interface Attachment {
  id: string;
  ns: TestNamespace;
  result: Json;
}

function plainAddresses(result: Json): string[] {
  return addresses(result).map((a) => a.split('/')[0]!);
}

async function addAll(
  net: BridgeNetwork,
  wanted: Array<{ id: string; ns: TestNamespace }>,
): Promise<Attachment[]> {
  const answers = await Promise.all(
    wanted.map(
      (w) =>
        startBridge({ command: 'ADD', containerId: w.id, netns: w.ns.path, ifname: 'eth0' }, net.config())
          .done,
    ),
  );
  return answers.map((answer, i) => {
    expect(answer.exitCode, `ADD ${wanted[i]!.id}: ${describeAnswer(answer)}`).toBe(0);
    return { ...wanted[i]!, result: answer.json! };
  });
}

/** DEL as a runtime does: with the cached result, except every third without it (a lost cache). */
function del(net: BridgeNetwork, a: Attachment, i: number): Promise<AsyncAnswer> {
  const config = i % 3 === 0 ? net.config() : net.config({ prevResult: a.result });
  return startBridge({ command: 'DEL', containerId: a.id, netns: a.ns.path, ifname: 'eth0' }, config).done;
}

/** The network holds exactly `live`: each address reserved by its owner, masqueraded once, one port each. */
function expectExactly(net: BridgeNetwork, live: Attachment[], families: number): void {
  const handedOut = live.flatMap((a) => plainAddresses(a.result));
  expect(handedOut).toHaveLength(live.length * families);
  expect(new Set(handedOut).size, 'an address was handed out twice').toBe(handedOut.length);
  const store = storeFiles(net);
  expect(store.reservations).toEqual([...handedOut].sort());
  expect(store.debris).toEqual([]);
  for (const a of live) {
    for (const ip of plainAddresses(a.result)) expect(reservationOwner(net, ip)).toBe(`${a.id}\r\neth0`);
  }
  expect(natElements(net.name).map((e) => e.split(' ')[0])).toEqual([...handedOut].sort());
  expect(bridgePorts(net.bridge)).toHaveLength(live.length);
  // One set of shared rules: one masquerade rule per family, however many ADDs raced.
  expect(natRules(net.name)).toHaveLength(2);
}

async function burstStormDrain(subnets: string[]): Promise<void> {
  const families = subnets.length;
  const net = bridgeNetwork({ subnets });
  const seed = seedFrom('REL_STORM_SEED');
  const random = seededRandom(seed);
  const context = `REL_STORM_SEED=${seed} REL_PARALLEL=${PARALLEL}`;
  console.log(`concurrency (${subnets.join(' + ')}): ${context}`);
  const spaces = Array.from({ length: PARALLEL }, () => net.namespace());

  // 1. The burst: the bridge does not exist yet.
  expect(bridgePorts(net.bridge)).toEqual([]);
  const started = performance.now();
  let live = await addAll(
    net,
    spaces.map((ns, i) => ({ id: `burst${i}`, ns })),
  );
  const burstMs = performance.now() - started;
  expectExactly(net, live, families);
  // host-local's default gateway: the subnet's first address.
  const gateways = subnets.map((s) => {
    const [base, length] = s.split('/');
    return `${s.includes(':') ? `${base}1` : base!.replace(/\.0$/, '.1')}/${length}`;
  });
  expect(
    linkAddresses(net.bridge)
      .filter((a) => !a.startsWith('fe80:'))
      .sort(),
  ).toEqual(gateways.sort());
  expect(sh('ip', ['-j', 'link', 'show', 'type', 'bridge']).split(`"ifname":"${net.bridge}"`)).toHaveLength(
    2,
  );
  // Plugged in for real: one container reaches the gateway and another container.
  const [a, b] = live;
  sh('ip', ['netns', 'exec', a!.ns.name, 'ping', '-c', '1', '-W', '2', plainAddresses(b!.result)[0]!]);

  // 2. The storm: half of the containers leave while as many new ones arrive, all at once.
  const leaving = live.filter(() => random() < 0.5);
  const staying = live.filter((x) => !leaving.includes(x));
  const arriving = Array.from({ length: leaving.length }, (_, i) => ({
    id: `storm${i}`,
    ns: net.namespace(),
  }));
  const [dels, added] = await Promise.all([
    Promise.all(leaving.map((x, i) => del(net, x, i))),
    addAll(net, arriving),
  ]);
  for (const [i, answer] of dels.entries()) {
    expect(answer.exitCode, `DEL ${leaving[i]!.id}: ${describeAnswer(answer)}; ${context}`).toBe(0);
  }
  live = [...staying, ...added];
  expectExactly(net, live, families);

  // 3. The drain: everyone leaves at once.
  const drainStarted = performance.now();
  const drained = await Promise.all(live.map((x, i) => del(net, x, i)));
  const drainMs = performance.now() - drainStarted;
  for (const [i, answer] of drained.entries()) {
    expect(answer.exitCode, `DEL ${live[i]!.id}: ${describeAnswer(answer)}; ${context}`).toBe(0);
  }
  expect(
    leftovers(
      net,
      [...spaces, ...arriving.map((x) => x.ns)].map((ns) => ({ netns: ns })),
    ),
    context,
  ).toEqual(NOTHING);
  console.log(
    `concurrency (${subnets.join(' + ')}): ${PARALLEL} parallel ADDs in ${Math.round(burstMs)} ms; storm of ${leaving.length} DEL + ${arriving.length} ADD; drain of ${live.length} DEL in ${Math.round(drainMs)} ms`,
  );
  report('concurrency', {
    seed,
    families,
    parallel: PARALLEL,
    burstMs: Math.round(burstMs),
    stormDel: leaving.length,
    stormAdd: arriving.length,
    drained: live.length,
    drainMs: Math.round(drainMs),
  });
}

describe.skipIf(!isRoot)(`${PARALLEL} ADDs at once on a network that does not exist yet`, () => {
  it(
    'IPv4: burst, storm, drain',
    async () => {
      await burstStormDrain(['10.174.0.0/22']);
    },
    Math.max(120_000, PARALLEL * 2_000),
  );

  it(
    'dual-stack: burst, storm, drain',
    async () => {
      await burstStormDrain(['10.175.0.0/22', 'fd75::/64']);
    },
    Math.max(120_000, PARALLEL * 2_000),
  );
});

describe.skipIf(isRoot)('concurrent ADDs (skipped)', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
