/**
 * Property-based tests (fast-check) of the input edge that the SDK conformance suite
 * (test/unit/sdk, including convert.property.test.ts for result conversion) and the IPAM
 * property tests (test/unit/ipam/allocator.property.test.ts) leave open:
 * - the bridge config parser: any value under any bridge key either parses to a config that
 *   keeps every invariant the platform relies on, or fails with code 7 naming the key; a valid
 *   config reads back exactly;
 * - the SDK edge as a whole: for any environment and any stdin bytes, one JSON document, a spec
 *   error code, and a plugin that is only ever called with names safe as file names, device
 *   names and rule comments;
 * - the netfilter name builders: whatever a network is called, what reaches an nft batch or an
 *   iptables comment is from a fixed safe alphabet.
 * Seeds are fast-check's; a failure prints the seed and the shrunk counterexample to replay.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attachmentHash, commentSafe, networkTable } from '../../linux/netfilter-names.ts';
import { nftString } from '../../linux/nft.ts';
import { parseBridgeConfig } from '../../plugins/bridge/config.ts';
import { parseNetConf } from '../../plugins/sdk/config.ts';
import { CniError } from '../../plugins/sdk/errors.ts';
import { type CniPlugin, type CommandContext, invokePlugin } from '../../plugins/sdk/skel.ts';
import { report, sizeFrom } from './fixture.ts';

const RUNS = sizeFrom('REL_PROPERTY_RUNS', 300);
const SPEC_CODES = new Set([1, 2, 3, 4, 5, 6, 7, 11, 50, 51]);
const SAFE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Any JSON value, biased towards the types a config key could plausibly hold. */
const anyValue = fc.oneof(
  fc.boolean(),
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('cni0', 'br-0', 'a'.repeat(16), 'x/y', 'é'.repeat(8), 'iptables', 'nftables', ''),
  fc.constant(null),
  fc.array(
    fc.record(
      {
        id: fc.integer({ min: -5, max: 5000 }),
        minID: fc.integer({ min: -5, max: 5000 }),
        maxID: fc.integer({ min: -5, max: 5000 }),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
  fc.object({ maxDepth: 2 }),
);

const BRIDGE_KEYS = [
  'bridge',
  'isGateway',
  'isDefaultGateway',
  'forceAddress',
  'ipMasq',
  'ipMasqBackend',
  'mtu',
  'hairpinMode',
  'promiscMode',
  'vlan',
  'vlanTrunk',
  'preserveDefaultVlan',
  'enabledad',
  'macspoofchk',
  'disableContainerInterface',
  'portIsolation',
] as const;

const bridgeDoc = fc.dictionary(fc.constantFrom(...BRIDGE_KEYS), anyValue, { maxKeys: 8 });

function netConf(extra: Record<string, unknown>) {
  return parseNetConf({ cniVersion: '1.1.0', name: 'prop', type: 'bridge', ...extra });
}

describe('bridge config parser', () => {
  it('any value under any key: a config keeping every invariant, or code 7 naming a bridge key', () => {
    fc.assert(
      fc.property(bridgeDoc, (doc) => {
        let config: ReturnType<typeof parseBridgeConfig>;
        try {
          config = parseBridgeConfig(netConf(doc));
        } catch (e) {
          expect(e).toBeInstanceOf(CniError);
          expect((e as CniError).code).toBe(7);
          const named = BRIDGE_KEYS.some((k) => (e as CniError).msg.includes(`"${k}`));
          expect(named, (e as CniError).msg).toBe(true);
          return;
        }
        // A device name the kernel accepts: 1 to 15 bytes, no "/", ":" or white space.
        expect(Buffer.byteLength(config.bridge)).toBeGreaterThan(0);
        expect(Buffer.byteLength(config.bridge)).toBeLessThanOrEqual(15);
        expect(config.bridge).not.toMatch(/[/:\s]/);
        if (config.mtu !== undefined) {
          expect(Number.isInteger(config.mtu) && config.mtu >= 68 && config.mtu <= 65535).toBe(true);
        }
        expect(Number.isInteger(config.vlan) && config.vlan >= 0 && config.vlan <= 4094).toBe(true);
        for (const r of config.vlanTrunk)
          expect(1 <= r.minId && r.minId <= r.maxId && r.maxId <= 4094).toBe(true);
        expect(config.vlan !== 0 && config.vlanTrunk.length > 0).toBe(false);
        expect(config.hairpinMode && config.promiscMode).toBe(false);
        if (config.isDefaultGateway) expect(config.isGateway).toBe(true);
        expect([undefined, 'iptables', 'nftables']).toContain(config.ipMasqBackend);
        for (const key of ['isGateway', 'ipMasq', 'forceAddress', 'hairpinMode', 'promiscMode'] as const) {
          expect(typeof config[key]).toBe('boolean');
        }
      }),
      { numRuns: RUNS * 3 },
    );
    report('properties', { bridgeConfigRuns: RUNS * 4, sdkEdgeRuns: RUNS * 3, netfilterNameRuns: RUNS * 3 });
  });

  it('a valid config reads back exactly', () => {
    const valid = fc.record({
      bridge: fc.stringMatching(/^[a-z][a-z0-9_-]{0,14}$/),
      isGateway: fc.boolean(),
      isDefaultGateway: fc.boolean(),
      ipMasq: fc.boolean(),
      mtu: fc.integer({ min: 68, max: 65535 }),
      hairpinMode: fc.boolean(),
      vlan: fc.integer({ min: 0, max: 4094 }),
      portIsolation: fc.boolean(),
    });
    fc.assert(
      fc.property(valid, (doc) => {
        const config = parseBridgeConfig(netConf(doc));
        expect(config).toMatchObject({
          bridge: doc.bridge,
          isGateway: doc.isGateway || doc.isDefaultGateway,
          isDefaultGateway: doc.isDefaultGateway,
          ipMasq: doc.ipMasq,
          mtu: doc.mtu,
          hairpinMode: doc.hairpinMode,
          promiscMode: false,
          vlan: doc.vlan,
          vlanTrunk: [],
          portIsolation: doc.portIsolation,
        });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the SDK edge: any environment, any stdin', () => {
  /** A plugin that records what reached it and does nothing. */
  function recorder(seen: CommandContext[]): CniPlugin {
    const record = async (ctx: CommandContext) => {
      seen.push(ctx);
    };
    return {
      add: async (ctx) => {
        seen.push(ctx);
        return { cniVersion: ctx.config.cniVersion };
      },
      del: record,
      check: record,
      gc: record,
      status: record,
    };
  }

  const hostile = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '../../etc',
      'a/b',
      '..',
      '.',
      'eth0',
      'x"; flush ruleset; "',
      "x'$(calc)'",
      'a\nb',
      'é'.repeat(9),
      '',
    ),
    fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,30}$/),
  );
  const env = fc.record(
    {
      CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION', 'add', 'BOGUS', ''),
      CNI_CONTAINERID: hostile,
      CNI_NETNS: fc.constantFrom('/run/netns/x', '', '/proc/self/ns/net', '../x'),
      CNI_IFNAME: hostile,
      CNI_PATH: fc.constantFrom('/opt/cni/bin', ''),
      CNI_ARGS: fc.constantFrom('', 'IgnoreUnknown=1', 'FOO=bar', '=x', 'K8S_POD_NAME=a;;'),
    },
    { requiredKeys: [] },
  );
  const config = fc.record(
    {
      cniVersion: fc.oneof(
        fc.constantFrom('0.1.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '9.9.9', ''),
        anyValue,
      ),
      name: fc.oneof(hostile, anyValue),
      type: fc.oneof(fc.constantFrom('bridge', '../bridge', 'a/b', '..'), anyValue),
      ipam: fc.oneof(fc.record({ type: fc.oneof(hostile, anyValue) }), anyValue),
      prevResult: fc.oneof(anyValue, fc.constant({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] })),
      'cni.dev/valid-attachments': fc.oneof(
        anyValue,
        fc.array(fc.record({ containerID: hostile, ifname: hostile }), { maxLength: 3 }),
      ),
    },
    { requiredKeys: [] },
  );
  const stdin = fc.oneof(
    config.map((doc) => Buffer.from(JSON.stringify(doc))),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.integer({ min: 1, max: 200 }).map((d) => Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`)),
  );

  it('one JSON document, exit 0 or 1 with a spec code, and only safe names reach the plugin', async () => {
    await fc.assert(
      fc.asyncProperty(env, stdin, async (environment, bytes) => {
        const seen: CommandContext[] = [];
        const out = await invokePlugin(async () => recorder(seen), environment, bytes);
        expect([0, 1]).toContain(out.exitCode);
        if (out.exitCode === 1 || out.stdout) {
          const lines = out.stdout.trim().split('\n');
          expect(lines).toHaveLength(1);
          const doc = JSON.parse(lines[0]!) as { code?: number; msg?: string };
          if (out.exitCode === 1) {
            expect(SPEC_CODES.has(doc.code ?? -1), out.stdout).toBe(true);
            expect(typeof doc.msg === 'string' && doc.msg.length > 0).toBe(true);
          }
        }
        for (const ctx of seen) {
          expect(ctx.config.name).toMatch(SAFE_NAME);
          expect(ctx.config.type).not.toMatch(/[/\\]|\.\./);
          if (ctx.config.ipam) expect(ctx.config.ipam.type).not.toMatch(/[/\\]|\.\./);
          if (ctx.command === 'ADD' || ctx.command === 'DEL' || ctx.command === 'CHECK') {
            expect(ctx.containerId).toMatch(SAFE_NAME);
            expect(Buffer.byteLength(ctx.ifname)).toBeLessThanOrEqual(15);
            expect(ctx.ifname).not.toMatch(/[/:\s]|^\.\.?$/);
          }
          for (const a of ctx.config.validAttachments ?? []) {
            expect(typeof a.containerId === 'string' && typeof a.ifname === 'string').toBe(true);
          }
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

describe('netfilter names', () => {
  it('whatever a network or container is called, only a safe alphabet reaches nft and iptables', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 80 }),
        (a, b) => {
          expect(networkTable(a)).toMatch(/^crosscni_[0-9a-f]{12}$/);
          expect(attachmentHash(a, b)).toMatch(/^[0-9a-f]{16}$/);
          expect(commentSafe(a)).toMatch(/^[A-Za-z0-9 _.:=+@-]{0,64}$/);
          expect(nftString(a)).toMatch(/^"[A-Za-z0-9 _.:,=+@-]*"$/);
          // Distinct attachments never share a key: the separator is NUL, which no container id
          // (validated) or ifname (an environment variable) can hold.
          if (a !== b && !a.includes('\0') && !b.includes('\0')) {
            expect(attachmentHash(a, b)).not.toBe(attachmentHash(b, a));
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
});
