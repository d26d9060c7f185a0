/**
 * Leftovers of attachments whose container is gone, found from files alone: result-cache entries
 * (`<cacheDir>/results/*`) whose netns path no longer exists, host-local reservations
 * (`<dataDir>/<network>/<ip>`, holding "<containerId>\r\n<ifname>") that no live cache entry
 * accounts for, and tagged host veths (sysfs: `/sys/class/net/<veth>/ifalias` holds
 * "crosscni-endpoint <network hash> <attachment hash>") on a bridge whose attachment has no
 * cache entry at all. A cache entry without a netns path is not judged: nothing says where to
 * look. Reads only; loads no native module (the tag's text comes from a pure module).
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { hostPortNetworkKey, parseHostPortAlias } from '../linux/host-port-tag-names.ts';
import { attachmentHash } from '../linux/netfilter-names.ts';
import type { Leftover } from './doctor.ts';
import { configFiles, loadNetworkListFile, loadSingleConfigFile } from './load-config.ts';
import { ResultCache } from './result-cache.ts';

const SYS_CLASS_NET = '/sys/class/net';

/** Files host-local keeps beside the reservations that are not reservations. */
function isReservationName(name: string): boolean {
  return !name.startsWith('.') && !name.startsWith('last_reserved_ip') && name !== 'lock';
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function attachmentKey(network: string, containerId: string, ifname: string): string {
  return `${network}\0${containerId}\0${ifname}`;
}

/** The key of an attachment as its veth's tag holds it: hashes only. */
function tagKey(network: string, containerId: string, ifname: string): string {
  return `${hostPortNetworkKey(network)} ${attachmentHash(containerId, ifname)}`;
}

interface Attachment {
  network: string;
  containerId: string;
  ifname: string;
}

/** What the scans learn on the way that the veth scan needs to name what it finds. */
interface Known {
  /** Tag keys of every cached attachment, live or not. */
  cached: Set<string>;
  /** Network names by network hash: from the cache, the reservations and the conf dir. */
  networks: Map<string, string>;
  /** Attachments by tag key, from the reservations (which hold container id and ifname). */
  owners: Map<string, Attachment>;
}

function learnNetwork(known: Known, network: string): void {
  known.networks.set(hostPortNetworkKey(network), network);
}

async function cacheLeftovers(cacheDir: string, known: Known, live: Set<string>): Promise<Leftover[]> {
  const leftovers: Leftover[] = [];
  const cache = new ResultCache(cacheDir);
  for (const a of await cache.list().catch(() => [])) {
    learnNetwork(known, a.network);
    known.cached.add(tagKey(a.network, a.containerId, a.ifname));
    const key = attachmentKey(a.network, a.containerId, a.ifname);
    if (a.netns === undefined || a.netns === '' || existsSync(a.netns)) {
      live.add(key);
      continue;
    }
    leftovers.push({
      kind: 'cache',
      network: a.network,
      containerId: a.containerId,
      ifname: a.ifname,
      path: cache.filePath(a.network, a.containerId, a.ifname),
      reason: `its netns ${a.netns} no longer exists`,
      // DEL of a gone netns is defined to succeed; it releases the address and drops the entry.
      fix: `CNI_CONTAINERID=${a.containerId} crosscni del ${a.network} ${a.netns} -i ${a.ifname}`,
    });
  }
  return leftovers;
}

function reservationLeftovers(dataDir: string, known: Known, live: Set<string>): Leftover[] {
  const leftovers: Leftover[] = [];
  for (const network of listDir(dataDir)) {
    const dir = join(dataDir, network);
    if (!statSync(dir).isDirectory()) continue;
    learnNetwork(known, network);
    for (const name of listDir(dir).filter(isReservationName)) {
      const file = join(dir, name);
      let text: string;
      try {
        if (!statSync(file).isFile()) continue;
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const [containerId = '', ifname = ''] = text.split(/\r?\n/).map((s) => s.trim());
      if (containerId === '') continue;
      if (ifname) known.owners.set(tagKey(network, containerId, ifname), { network, containerId, ifname });
      const owned = ifname
        ? live.has(attachmentKey(network, containerId, ifname))
        : [...live].some((k) => k.startsWith(`${network}\0${containerId}\0`));
      // cnitool and `ip netns` name a namespace after the container; its presence means in use.
      if (owned || existsSync(join('/run/netns', containerId))) continue;
      leftovers.push({
        kind: 'ipam',
        network,
        containerId,
        ifname: ifname || undefined,
        path: file,
        reason: `address ${name} is reserved for container ${containerId}, which has no live cache entry and no netns`,
        fix: `crosscni gc ${network} (releases what no cached attachment accounts for)`,
      });
    }
  }
  return leftovers;
}

/** The names of the networks the conf dir configures (files that do not load are skipped). */
function confDirNetworks(confDir: string): string[] {
  const names: string[] = [];
  let files: string[];
  try {
    files = [...configFiles(confDir, ['.conflist']), ...configFiles(confDir, ['.conf', '.json'])];
  } catch {
    return names;
  }
  for (const file of files) {
    try {
      names.push((file.endsWith('.conflist') ? loadNetworkListFile(file) : loadSingleConfigFile(file)).name);
    } catch {
      // The conf dir check reports it.
    }
  }
  return names;
}

function readSys(name: string, attribute: string): string | undefined {
  try {
    return readFileSync(join(SYS_CLASS_NET, name, attribute), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Host veths tagged by crosscni, on a bridge, whose attachment has no cache entry: the runtime
 * does not know them (an ADD it gave up on, a sandbox it lost track of) while something still
 * holds their namespace, since the kernel deletes a pair whose namespace dies. With the cache
 * entry there, the veth belongs to a known attachment (a 'cache' leftover if its netns is gone).
 */
function vethLeftovers(known: Known): Leftover[] {
  const leftovers: Leftover[] = [];
  for (const name of listDir(SYS_CLASS_NET)) {
    const tag = parseHostPortAlias(readSys(name, 'ifalias') ?? '');
    if (!tag || known.cached.has(`${tag.networkKey} ${tag.attachmentKey}`)) continue;
    let bridge: string;
    try {
      bridge = basename(readlinkSync(join(SYS_CLASS_NET, name, 'master')));
    } catch {
      continue;
    }
    const network = known.networks.get(tag.networkKey);
    const owner = known.owners.get(`${tag.networkKey} ${tag.attachmentKey}`);
    const whose = owner
      ? `container ${owner.containerId} (${owner.ifname}, by its address reservation)`
      : `attachment ${tag.attachmentKey}`;
    leftovers.push({
      kind: 'endpoint',
      network,
      containerId: owner?.containerId,
      ifname: owner?.ifname,
      path: name,
      reason: `host veth on bridge ${bridge}, tagged for ${whose} of network ${network ?? `hash ${tag.networkKey}`}, which has no cache entry`,
      // Without --valid, crosscni gc keeps the cached attachments and GC deletes the veths of the others.
      fix: network
        ? `crosscni gc ${network} (deletes the network's veths no cached attachment accounts for)`
        : `ip link del ${name} (no network known here hashes to ${tag.networkKey}; deleting the host end removes the pair)`,
    });
  }
  return leftovers;
}

export async function findLeftovers(
  dataDir: string,
  cacheDir: string,
  confDir?: string,
): Promise<Leftover[]> {
  const known: Known = { cached: new Set(), networks: new Map(), owners: new Map() };
  const live = new Set<string>();
  const leftovers = await cacheLeftovers(cacheDir, known, live);
  leftovers.push(...reservationLeftovers(dataDir, known, live));
  for (const network of confDir ? confDirNetworks(confDir) : []) learnNetwork(known, network);
  leftovers.push(...vethLeftovers(known));
  return leftovers;
}
