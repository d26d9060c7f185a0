// parseResult refuses malformed results (a prevResult, an IPAM answer) with a decoding failure
// (code 6) that names the field, or code 1 for a version it cannot read.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import { parseResult } from '../../../plugins/sdk/result.ts';

function parseError(doc: unknown, fallback: '0.2.0' | '0.4.0' | '1.0.0' = '1.0.0'): CniError {
  try {
    parseResult(doc, fallback);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error(`parseResult accepted ${JSON.stringify(doc)}`);
}

const IFACE = [{ name: 'eth0' }];

describe('parseResult errors', () => {
  it.each([
    ['address without a prefix', { ips: [{ address: '10.1.0.5' }] }, 'ips[0].address'],
    ['address with an octet over 255', { ips: [{ address: '10.1.0.300/24' }] }, 'ips[0].address'],
    ['IPv4 prefix over 32', { ips: [{ address: '10.1.0.5/33' }] }, 'ips[0].address'],
    ['IPv6 prefix over 128', { ips: [{ address: 'fd00::5/129' }] }, 'ips[0].address'],
    ['prefix that is not a number', { ips: [{ address: '10.1.0.5/x' }] }, 'ips[0].address'],
    ['missing address', { ips: [{ gateway: '10.1.0.1' }] }, 'ips[0].address'],
    ['address of the wrong type', { ips: [{ address: 167837701 }] }, 'ips[0].address'],
    [
      'gateway that is not an IP',
      { ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1/24' }] },
      'ips[0].gateway',
    ],
    ['ips not an array', { ips: { address: '10.1.0.5/24' } }, 'ips'],
    ['ip entry not an object', { ips: ['10.1.0.5/24'] }, 'ips[0]'],
    [
      'interface index past the end',
      { interfaces: IFACE, ips: [{ address: '10.1.0.5/24', interface: 1 }] },
      'ips[0].interface',
    ],
    [
      'negative interface index',
      { interfaces: IFACE, ips: [{ address: '10.1.0.5/24', interface: -1 }] },
      'ips[0].interface',
    ],
    [
      'interface index without interfaces',
      { ips: [{ address: '10.1.0.5/24', interface: 0 }] },
      'ips[0].interface',
    ],
    [
      'fractional interface index',
      { interfaces: IFACE, ips: [{ address: '10.1.0.5/24', interface: 0.5 }] },
      'ips[0].interface',
    ],
    [
      'interface index as a string',
      { interfaces: IFACE, ips: [{ address: '10.1.0.5/24', interface: '0' }] },
      'ips[0].interface',
    ],
    ['route without dst', { routes: [{ gw: '10.1.0.1' }] }, 'routes[0].dst'],
    ['route dst without a prefix', { routes: [{ dst: '0.0.0.0/0' }, { dst: '10.0.0.0' }] }, 'routes[1].dst'],
    ['route gw that is not an IP', { routes: [{ dst: '0.0.0.0/0', gw: 'router' }] }, 'routes[0].gw'],
    ['route mtu that is not an integer', { routes: [{ dst: '0.0.0.0/0', mtu: '1500' }] }, 'routes[0].mtu'],
    ['routes not an array', { routes: {} }, 'routes'],
    ['interfaces not an array', { interfaces: 'eth0' }, 'interfaces'],
    ['interface without a name', { interfaces: [{ mac: '02:00:00:00:00:01' }] }, 'interfaces[0].name'],
    ['interface mtu not an integer', { interfaces: [{ name: 'eth0', mtu: 'jumbo' }] }, 'interfaces[0].mtu'],
    ['dns not an object', { dns: ['10.1.0.1'] }, 'dns'],
    ['dns nameservers not strings', { dns: { nameservers: [1] } }, 'dns.nameservers'],
    ['cniVersion not a string', { cniVersion: 1.0 }, 'cniVersion'],
    ['a document that is not an object', ['10.1.0.5/24'], 'document'],
  ])('code 6 for %s', (_what, doc, where) => {
    const error = parseError(doc);
    expect(error.code).toBe(6);
    expect(error.msg).toContain(where);
  });

  it.each([
    ['"6" on an IPv4 address', { version: '6', address: '10.1.0.5/24' }],
    ['"4" on an IPv6 address', { version: '4', address: 'fd00::5/64' }],
    ['"5"', { version: '5', address: '10.1.0.5/24' }],
    ['a number', { version: 4, address: '10.1.0.5/24' }],
  ])('code 6 for ips[].version %s', (_what, ip) => {
    const error = parseError({ cniVersion: '0.4.0', ips: [ip] }, '0.4.0');
    expect(error.code).toBe(6);
    expect(error.msg).toContain('ips[0].version');
  });

  it.each([
    ['ip4 not an object', { cniVersion: '0.2.0', ip4: '10.1.0.5/24' }, 'ip4'],
    ['ip4 without ip', { cniVersion: '0.2.0', ip4: { gateway: '10.1.0.1' } }, 'ip4.ip'],
    ['ip6 with a bad CIDR', { cniVersion: '0.2.0', ip6: { ip: 'fd00::5' } }, 'ip6.ip'],
    [
      'ip4 routes with a bad dst',
      { cniVersion: '0.1.0', ip4: { ip: '10.1.0.5/24', routes: [{ dst: 'x' }] } },
      'ip4.routes[0].dst',
    ],
  ])('code 6 for a 0.x result with %s', (_what, doc, where) => {
    const error = parseError(doc, '0.2.0');
    expect(error.code).toBe(6);
    expect(error.msg).toContain(where);
  });

  it.each(['0.5.0', '2.0.0', '1.1'])('code 1 for a result of cniVersion %s', (version) => {
    const error = parseError({ cniVersion: version, ips: [] });
    expect(error.code).toBe(1);
    expect(error.msg).toContain(version);
  });

  it('reads a 0.x document by its own cniVersion, not the fallback', () => {
    const model = parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/24' } }, '1.0.0');
    expect(model).toEqual({ cniVersion: '0.2.0', ips: [{ address: '10.1.0.5/24' }], routes: [] });
  });

  it('ignores keys it does not know, as the spec requires', () => {
    const model = parseResult(
      { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24', extra: true }], vendor: { x: 1 } },
      '1.0.0',
    );
    expect(model).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24' }] });
  });
});
