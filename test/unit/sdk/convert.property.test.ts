// Property-based tests of result conversion: for random valid results, what each version's
// document keeps and what reading it back gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp } from '../../../platform/cidr.ts';
import { convertResult } from '../../../plugins/sdk/convert.ts';
import { CniError } from '../../../plugins/sdk/errors.ts';
import {
  parseResult,
  type Result,
  type ResultInterface,
  type ResultIp,
  type ResultRoute,
} from '../../../plugins/sdk/result.ts';
import type { CniVersion } from '../../../plugins/sdk/version.ts';

const ipv4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((value) => formatIp({ family: 4, value }));
// Leave out the IPv4-mapped range: those addresses are IPv4 to every parser.
const ipv6 = fc
  .bigInt({ min: 0n, max: (1n << 128n) - 1n })
  .filter((value) => value >> 32n !== 0xffffn)
  .map((value) => formatIp({ family: 6, value }));
const cidr4 = fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([ip, len]) => `${ip}/${len}`);
const cidr6 = fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([ip, len]) => `${ip}/${len}`);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const word = fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/);

const iface: fc.Arbitrary<ResultInterface> = fc.record(
  {
    name: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
    mac: fc.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
    mtu: fc.integer({ min: 68, max: 65535 }),
    sandbox: word.map((w) => `/run/netns/${w}`),
    socketPath: word.map((w) => `/run/${w}.sock`),
    pciID: fc.stringMatching(/^0000:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/),
  },
  { requiredKeys: ['name'] },
);

function ipOf(family: fc.Arbitrary<string>, gateway: fc.Arbitrary<string>, interfaces: number) {
  const model: {
    address: fc.Arbitrary<string>;
    gateway: fc.Arbitrary<string>;
    interface?: fc.Arbitrary<number>;
  } = {
    address: family,
    gateway,
  };
  if (interfaces > 0) model.interface = fc.integer({ min: 0, max: interfaces - 1 });
  return fc.record(model, { requiredKeys: ['address'] }) as fc.Arbitrary<ResultIp>;
}

const route: fc.Arbitrary<ResultRoute> = fc.oneof(cidr4, cidr6).chain((dst) =>
  fc.record(
    {
      dst: fc.constant(dst),
      gw: dst.includes(':') ? ipv6 : ipv4,
      mtu: u32,
      advmss: u32,
      priority: u32,
      table: u32,
      scope: fc.integer({ min: 0, max: 255 }),
    },
    { requiredKeys: ['dst'] },
  ),
);

const dns = fc.record(
  {
    nameservers: fc.array(fc.oneof(ipv4, ipv6), { minLength: 1, maxLength: 3 }),
    domain: word,
    search: fc.array(word, { minLength: 1, maxLength: 3 }),
    options: fc.array(word, { minLength: 1, maxLength: 3 }),
  },
  { requiredKeys: [] },
);

/** A valid result in the newest model, in the canonical form the converters print (no empty lists). */
const result: fc.Arbitrary<Result> = fc.array(iface, { maxLength: 3 }).chain((interfaces) =>
  fc
    .record({
      ips: fc.array(fc.oneof(ipOf(cidr4, ipv4, interfaces.length), ipOf(cidr6, ipv6, interfaces.length)), {
        maxLength: 5,
      }),
      routes: fc.array(route, { maxLength: 4 }),
      dns: fc.option(dns, { nil: undefined }),
    })
    .map(({ ips, routes, dns }) => {
      const r: Result = { cniVersion: '1.1.0' };
      if (interfaces.length) r.interfaces = interfaces;
      if (ips.length) r.ips = ips;
      if (routes.length) r.routes = routes;
      if (dns && Object.keys(dns).length) r.dns = dns;
      return r;
    }),
);

const isV6 = (cidr: string) => cidr.includes(':');

/** Write `result` for `version` and read it back as a runtime or the next plugin would. */
function roundTrip(r: Result, version: CniVersion): Result {
  return parseResult(JSON.parse(JSON.stringify(convertResult(r, version))), version);
}

/** `r` without the fields that only 1.1.0 documents carry. */
function withoutV11(r: Result, version: string): Result {
  const out: Result = { ...r, cniVersion: version };
  if (r.interfaces) {
    out.interfaces = r.interfaces.map(({ mtu: _m, socketPath: _s, pciID: _p, ...rest }) => rest);
  }
  if (r.routes) out.routes = r.routes.map(({ dst, gw }) => (gw ? { dst, gw } : { dst }));
  return out;
}

describe('result conversion properties', () => {
  it('1.1.0: convert then parse is the identity', () => {
    fc.assert(
      fc.property(result, (r) => {
        expect(roundTrip(r, '1.1.0')).toEqual(r);
      }),
    );
  });

  it('1.0.0: convert then parse is the identity without the 1.1.0-only fields', () => {
    fc.assert(
      fc.property(result, (r) => {
        expect(roundTrip(r, '1.0.0')).toEqual(withoutV11(r, '1.0.0'));
      }),
    );
  });

  it.each(['0.3.0', '0.3.1', '0.4.0'] as const)(
    '%s: keeps every address, each with its family',
    (version) => {
      fc.assert(
        fc.property(result, (r) => {
          const doc = convertResult(r, version) as { ips?: { version: string; address: string }[] };
          for (const ip of doc.ips ?? []) expect(ip.version).toBe(isV6(ip.address) ? '6' : '4');
          expect(roundTrip(r, version)).toEqual(withoutV11(r, version));
        }),
      );
    },
  );

  it.each(['0.1.0', '0.2.0'] as const)(
    '%s: keeps the first address of each family and its routes',
    (version) => {
      fc.assert(
        fc.property(result, (r) => {
          const firstV4 = r.ips?.find((ip) => !isV6(ip.address));
          const firstV6 = r.ips?.find((ip) => isV6(ip.address));
          if (!firstV4 && !firstV6) {
            expect(() => convertResult(r, version)).toThrow(CniError);
            try {
              convertResult(r, version);
            } catch (e) {
              expect((e as CniError).code).toBe(1);
            }
            return;
          }
          const back = roundTrip(r, version);
          const kept = [firstV4, firstV6]
            .filter((ip): ip is ResultIp => ip !== undefined)
            .map(({ address, gateway }) => (gateway ? { address, gateway } : { address }));
          expect(back.ips).toEqual(kept);
          const routesOf = (v6: boolean, present: unknown) =>
            present
              ? (r.routes ?? [])
                  .filter((rt) => isV6(rt.dst) === v6)
                  .map(({ dst, gw }) => (gw ? { dst, gw } : { dst }))
              : [];
          expect(back.routes).toEqual([...routesOf(false, firstV4), ...routesOf(true, firstV6)]);
          expect(back.interfaces).toBeUndefined();
          expect(back.dns).toEqual(r.dns);
        }),
      );
    },
  );

  it('every version: converting what was read back changes nothing more', () => {
    const versions: CniVersion[] = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
    fc.assert(
      fc.property(result, fc.constantFrom(...versions), (r, version) => {
        let once: Record<string, unknown>;
        try {
          once = convertResult(r, version);
        } catch {
          return;
        }
        const twice = convertResult(parseResult(JSON.parse(JSON.stringify(once)), version), version);
        expect(twice).toEqual(once);
      }),
    );
  });
});
