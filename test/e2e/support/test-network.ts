/**
 * The CNI network a suite attaches its containers to: a uniquely named bridge, a /24 no route
 * on this host overlaps (the kernel suites use 10.211.x.x; these pick 10.224-239.x.0/24), a
 * host-local data directory inside the suite's scratch dir, and the conflist a runtime loads.
 * The conflist uses only keys the Go reference plugins and crosscni both accept, so the same
 * file proves the harness with /usr/lib/cni and then tests crosscni.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './command.ts';

/**
 * libcni in podman 4.3 and containerd 1.6 (libcni 1.1) knows result versions up to 1.0.0 and
 * rejects a 1.1.0 result, so networks for these runtimes say 1.0.0.
 */
export const RUNTIME_CNI_VERSION = '1.0.0';

export interface TestNetwork {
  name: string;
  bridge: string;
  /** e.g. 10.231.7.0/24 */
  subnet: string;
  gateway: string;
  dataDir: string;
  withPortmap: boolean;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function prefixRange(cidr: string): [number, number] {
  const [ip = '0.0.0.0', lenText = '32'] = cidr.split('/');
  const length = Number(lenText);
  const size = 2 ** (32 - length);
  const start = Math.floor(ipv4ToInt(ip) / size) * size;
  return [start, start + size - 1];
}

function overlaps(a: string, b: string): boolean {
  const [a0, a1] = prefixRange(a);
  const [b0, b1] = prefixRange(b);
  return a0 <= b1 && b0 <= a1;
}

/** IPv4 prefixes the host already routes or owns (the default route excluded). */
function hostPrefixes(): string[] {
  const routes = JSON.parse(run('ip', ['-4', '-j', 'route', 'show', 'table', 'all']) || '[]') as Array<{
    dst?: string;
  }>;
  const addrs = JSON.parse(run('ip', ['-4', '-j', 'addr', 'show']) || '[]') as Array<{
    addr_info?: Array<{ local: string; prefixlen: number }>;
  }>;
  const out: string[] = [];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default' || r.dst.includes(':')) continue;
    out.push(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
  }
  for (const link of addrs) for (const a of link.addr_info ?? []) out.push(`${a.local}/${a.prefixlen}`);
  return out;
}

/**
 * Second octets per suite: the suites run at the same time and each creates its bridge only at
 * its first ADD, after picking, so the host's routes cannot tell one suite what the other took.
 */
const SECOND_OCTETS: Record<string, [number, number]> = { podman: [224, 232], containerd: [232, 240] };

function pickFreeSubnet(suite: string): string {
  const taken = hostPrefixes();
  const [low, high] = SECOND_OCTETS[suite] ?? [224, 240];
  for (let attempt = 0; attempt < 200; attempt++) {
    const subnet = `10.${randomInt(low, high)}.${randomInt(0, 256)}.0/24`;
    if (!taken.some((p) => overlaps(p, subnet))) return subnet;
  }
  throw new Error('no free 10.224-239.x.0/24 subnet on this host');
}

/** A fresh network description; nothing is created on the host yet. */
export function newTestNetwork(suite: string, scratchRoot: string, withPortmap: boolean): TestNetwork {
  const tag = randomBytes(4).toString('hex');
  const subnet = pickFreeSubnet(suite);
  const base = subnet.slice(0, subnet.lastIndexOf('.'));
  const dataDir = join(scratchRoot, 'ipam');
  mkdirSync(dataDir, { recursive: true });
  const net: TestNetwork = {
    name: `crosscni-e2e-${suite}-${tag}`,
    // IFNAMSIZ: 15 bytes at most.
    bridge: `ce2e${tag}`,
    subnet,
    gateway: `${base}.1`,
    dataDir,
    withPortmap,
  };
  // Recorded so a later run can clean up after this one if it is killed (sweepStaleScratch).
  writeFileSync(join(scratchRoot, NETWORK_FILE), JSON.stringify(net));
  return net;
}

const NETWORK_FILE = 'network.json';

/** The network a (possibly dead) run recorded in its scratch directory. */
export function recordedNetwork(scratchRoot: string): TestNetwork | undefined {
  const file = join(scratchRoot, NETWORK_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TestNetwork) : undefined;
}

/** The conflist document a runtime loads for this network. */
export function conflistFor(net: TestNetwork): Record<string, unknown> {
  const plugins: Array<Record<string, unknown>> = [
    {
      type: 'bridge',
      bridge: net.bridge,
      isGateway: true,
      ipMasq: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: net.subnet, gateway: net.gateway }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: net.dataDir,
      },
    },
  ];
  if (net.withPortmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true } });
  return { cniVersion: RUNTIME_CNI_VERSION, name: net.name, plugins };
}

/** Write the conflist into a runtime's config directory; returns the file written. */
export function writeConflist(
  net: TestNetwork,
  confDir: string,
  fileName = '10-crosscni-e2e.conflist',
): string {
  mkdirSync(confDir, { recursive: true });
  const file = join(confDir, fileName);
  writeFileSync(file, `${JSON.stringify(conflistFor(net), null, 2)}\n`);
  return file;
}

/** Whether an IPv4 address lies in a prefix: "did this address come from our IPAM". */
export function inSubnet(ip: string, subnet: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const [start, end] = prefixRange(subnet);
  const value = ipv4ToInt(ip);
  return value >= start && value <= end;
}
