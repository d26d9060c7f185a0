/**
 * One prevResult written in each spec version's own document shape, and what each reads as in
 * the newest model. Shared by the conversion tests and the skel tests (DEL/CHECK prevResult).
 */
import type { Result } from '../../../plugins/sdk/result.ts';
import type { CniVersion } from '../../../plugins/sdk/version.ts';

export const PREV_RESULTS: Record<CniVersion, Record<string, unknown>> = {
  '0.1.0': {
    cniVersion: '0.1.0',
    ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
    ip6: { ip: 'fd00::5/64', routes: [{ dst: '::/0', gw: 'fd00::1' }] },
    dns: { nameservers: ['10.1.0.1'] },
  },
  '0.2.0': {
    cniVersion: '0.2.0',
    ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] },
    ip6: { ip: 'fd00::5/64', routes: [{ dst: '::/0', gw: 'fd00::1' }] },
    dns: { nameservers: ['10.1.0.1'] },
  },
  '0.3.0': {
    cniVersion: '0.3.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [{ version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    dns: { nameservers: ['10.1.0.1'] },
  },
  '0.3.1': {
    cniVersion: '0.3.1',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [{ version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    dns: {},
  },
  '0.4.0': {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [
      { version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 },
      { version: '6', address: 'fd00::5/64', interface: 0 },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
  },
  '1.0.0': {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    dns: { nameservers: ['10.1.0.1'], domain: 'example.org', search: ['example.org'], options: ['ndots:2'] },
  },
  '1.1.0': {
    cniVersion: '1.1.0',
    interfaces: [
      {
        name: 'eth0',
        mac: '02:00:00:00:00:03',
        sandbox: '/run/netns/blue',
        mtu: 9000,
        pciID: '0000:03:00.1',
      },
    ],
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [
      { dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, advmss: 1360, priority: 5, table: 100, scope: 253 },
    ],
  },
};

export const PREV_MODELS: Record<CniVersion, Result> = {
  '0.1.0': {
    cniVersion: '0.1.0',
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }, { address: 'fd00::5/64' }],
    routes: [
      { dst: '0.0.0.0/0', gw: '10.1.0.1' },
      { dst: '::/0', gw: 'fd00::1' },
    ],
    dns: { nameservers: ['10.1.0.1'] },
  },
  '0.2.0': {
    cniVersion: '0.2.0',
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }, { address: 'fd00::5/64' }],
    routes: [
      { dst: '0.0.0.0/0', gw: '10.1.0.1' },
      { dst: '::/0', gw: 'fd00::1' },
    ],
    dns: { nameservers: ['10.1.0.1'] },
  },
  '0.3.0': {
    cniVersion: '0.3.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    dns: { nameservers: ['10.1.0.1'] },
  },
  '0.3.1': {
    cniVersion: '0.3.1',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    dns: {},
  },
  '0.4.0': {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [
      { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 },
      { address: 'fd00::5/64', interface: 0 },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
  },
  '1.0.0': {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/blue' }],
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    dns: { nameservers: ['10.1.0.1'], domain: 'example.org', search: ['example.org'], options: ['ndots:2'] },
  },
  '1.1.0': {
    cniVersion: '1.1.0',
    interfaces: [
      {
        name: 'eth0',
        mac: '02:00:00:00:00:03',
        sandbox: '/run/netns/blue',
        mtu: 9000,
        pciID: '0000:03:00.1',
      },
    ],
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 0 }],
    routes: [
      { dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, advmss: 1360, priority: 5, table: 100, scope: 253 },
    ],
  },
};
