/**
 * Checks that a measured operation did what it claims, observed from outside the plugins, so a
 * fast wrong answer cannot pass: after ADD the address is on eth0 in the namespace, the default
 * route goes through the gateway, the host veth is the peer of eth0 and a port of the bridge,
 * and host-local holds the reservation; after DEL the veth, eth0 and the reservation are gone
 * and no netfilter rule or set element mentions the address. With portmap and bandwidth in the
 * list: the host port is forwarded (and no longer after DEL), the host veth is shaped (tbf) and
 * redirects to an ifb device, which DEL removes. Any mismatch throws.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Result } from '../../plugins/sdk/result.ts';
import type { RuntimeConf } from '../../runtime/index.ts';
import { ipBatch, sh } from './host.ts';
import type { SuiteNetwork } from './suites.ts';

/** One container of a phase. */
export interface Attachment {
  net: SuiteNetwork;
  index: number;
  netnsName: string;
  rt: RuntimeConf;
  /** Set by verifyAdded: the address without prefix length, the host veth, the ifb device. */
  ip?: string;
  veth?: string;
  ifb?: string;
}

export class VerificationError extends Error {}

function fail(att: Attachment, what: string): never {
  throw new VerificationError(
    `${att.net.suite} ${att.net.benchCase.id} container #${att.index} (${att.netnsName}): ${what}`,
  );
}

interface IpLink {
  ifname: string;
  flags?: string[];
  link_index?: number;
  addr_info?: Array<{ local: string; prefixlen: number }>;
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

export function verifyAdded(att: Attachment, result: Result): void {
  const { net } = att;
  const ip = result.ips?.[0];
  if (!ip) fail(att, `ADD result has no IP: ${JSON.stringify(result)}`);
  if (!ip.address.startsWith(net.prefix)) fail(att, `address ${ip.address} is outside ${net.subnet}`);
  const plain = ip.address.split('/')[0]!;
  // `addr` first: in one `ip -batch`, a `link show` before it hides the addresses.
  const [addrs, routes] = ipBatch(['addr show dev eth0', 'route show default'], att.netnsName) as [
    IpLink[],
    IpRoute[],
  ];
  const eth0 = addrs[0];
  if (!eth0) fail(att, 'no eth0 in the namespace');
  if (!eth0.flags?.includes('UP')) fail(att, 'eth0 is not up');
  if (!eth0.addr_info?.some((a) => `${a.local}/${a.prefixlen}` === ip.address)) {
    fail(att, `eth0 lacks ${ip.address} (has ${JSON.stringify(eth0.addr_info)})`);
  }
  if (!routes.some((r) => r.dst === 'default' && r.gateway === net.gateway && r.dev === 'eth0')) {
    fail(att, `no default route via ${net.gateway} dev eth0 (routes: ${JSON.stringify(routes)})`);
  }
  const veth = result.interfaces?.find((i) => !i.sandbox && i.name !== net.bridge)?.name;
  if (!veth) fail(att, `ADD result names no host veth: ${JSON.stringify(result.interfaces)}`);
  let master = '';
  try {
    master = basename(readlinkSync(`/sys/class/net/${veth}/master`));
  } catch {
    fail(att, `host veth ${veth} does not exist or has no master`);
  }
  if (master !== net.bridge) fail(att, `host veth ${veth} is on ${master}, not on ${net.bridge}`);
  const vethIndex = Number(readFileSync(`/sys/class/net/${veth}/ifindex`, 'utf8'));
  if (eth0.link_index !== vethIndex)
    fail(att, `eth0's peer is ifindex ${eth0.link_index}, not ${veth} (${vethIndex})`);
  let owner = '';
  try {
    owner = readFileSync(join(net.storeDir, plain), 'utf8');
  } catch {
    fail(att, `host-local holds no reservation file for ${plain} in ${net.storeDir}`);
  }
  if (!owner.startsWith(att.rt.containerId)) fail(att, `reservation of ${plain} belongs to someone else`);
  att.ip = plain;
  att.veth = veth;
  if (att.net.benchCase.types.includes('bandwidth')) verifyShaped(att, veth);
}

interface TcObject {
  kind: string;
  options?: { actions?: Array<{ kind: string; to_dev?: string }> };
}

/** bandwidth: a tbf on the host veth, and its ingress redirected to an existing ifb device. */
function verifyShaped(att: Attachment, veth: string): void {
  const qdiscs = JSON.parse(sh('tc', ['-j', 'qdisc', 'show', 'dev', veth]) || '[]') as TcObject[];
  if (!qdiscs.some((q) => q.kind === 'tbf')) fail(att, `no tbf qdisc on ${veth}: ${JSON.stringify(qdiscs)}`);
  const filters = JSON.parse(
    sh('tc', ['-j', 'filter', 'show', 'dev', veth, 'ingress']) || '[]',
  ) as TcObject[];
  const ifb = filters.flatMap((f) => f.options?.actions ?? []).find((a) => a.kind === 'mirred')?.to_dev;
  if (!ifb) fail(att, `no ingress redirect to an ifb device on ${veth}`);
  if (!existsSync(`/sys/class/net/${ifb}`)) fail(att, `ifb device ${ifb} does not exist`);
  att.ifb = ifb;
}

/** The host port the runtime asked portmap to forward for this container, if any. */
function hostPort(att: Attachment): number | undefined {
  const mappings = att.rt.capabilityArgs?.portMappings as Array<{ hostPort: number }> | undefined;
  return mappings?.[0]?.hostPort;
}

export function verifyDeleted(att: Attachment): void {
  if (!att.ip || !att.veth) fail(att, 'was never verified as added');
  if (existsSync(`/sys/class/net/${att.veth}`)) fail(att, `host veth ${att.veth} still exists after DEL`);
  const [links] = ipBatch(['link show'], att.netnsName) as [IpLink[]];
  const left = links.filter((l) => l.ifname !== 'lo').map((l) => l.ifname);
  if (left.length) fail(att, `the namespace still holds ${left.join(', ')} after DEL`);
  if (existsSync(join(att.net.storeDir, att.ip))) fail(att, `host-local still reserves ${att.ip} after DEL`);
  if (att.ifb && existsSync(`/sys/class/net/${att.ifb}`))
    fail(att, `ifb device ${att.ifb} still exists after DEL`);
}

/** nft ruleset and iptables-save (nat and filter) as one text, for address searches. */
export function netfilterText(): string {
  return `${sh('nft', ['list', 'ruleset'])}\n${sh('iptables-save', [])}`;
}

function mentions(text: string, ip: string): boolean {
  return new RegExp(`(?<![0-9.])${ip.replaceAll('.', '\\.')}(?![0-9])`).test(text);
}

/**
 * A rule or map element that forwards host port N: `dport N` (nft rules, iptables-save) or
 * `tcp . N` (an nft map keyed by protocol and port).
 */
function portPattern(port: number | string): RegExp {
  return new RegExp(`(?:dports? |(?:tcp|udp|sctp) \\. )${port}(?![0-9])`);
}

function forwardsPort(text: string, port: number): string | undefined {
  const pattern = portPattern(port);
  return text.split('\n').find((line) => pattern.test(line));
}

/** Every added container's address is masqueraded (ipMasq did something), its host port forwarded. */
export function verifyNatPresent(atts: readonly Attachment[]): void {
  const text = netfilterText();
  for (const att of atts) {
    if (!att.ip) continue;
    if (!mentions(text, att.ip)) fail(att, `no netfilter rule or set element masquerades ${att.ip}`);
    const port = hostPort(att);
    if (port !== undefined && !forwardsPort(text, port)) fail(att, `host port ${port} is not forwarded`);
  }
}

/** No netfilter rule or set element mentions a deleted container's address or host port. */
export function verifyNatGone(atts: readonly Attachment[]): void {
  const text = netfilterText();
  for (const att of atts) {
    if (!att.ip) continue;
    const line = text.split('\n').find((l) => mentions(l, att.ip!));
    if (line) fail(att, `netfilter still mentions ${att.ip} after DEL: ${line.trim()}`);
    const port = hostPort(att);
    const rule = port === undefined ? undefined : forwardsPort(text, port);
    if (rule) fail(att, `host port ${port} is still forwarded after DEL: ${rule.trim()}`);
  }
}

/** host-local's store holds no reservation (only its lock and last-reserved files). */
export function verifyStoreEmpty(net: SuiteNetwork): void {
  if (!existsSync(net.storeDir)) return;
  const left = readdirSync(net.storeDir).filter((name) => /^[0-9.]+$|:/.test(name));
  if (left.length) {
    throw new VerificationError(
      `${net.suite} ${net.benchCase.id}: host-local still reserves ${left.join(', ')}`,
    );
  }
}
