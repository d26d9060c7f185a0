/**
 * Leftovers of attachments whose container is gone, found from files alone: result-cache entries
 * (`<cacheDir>/results/*`) whose netns path no longer exists, and host-local reservations
 * (`<dataDir>/<network>/<ip>`, holding "<containerId>\r\n<ifname>") that no live cache entry
 * accounts for. A cache entry without a netns path is not judged: nothing says where to look.
 * Reads only.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Leftover } from './doctor.ts';
import { ResultCache } from './result-cache.ts';

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

export async function findLeftovers(dataDir: string, cacheDir: string): Promise<Leftover[]> {
  const leftovers: Leftover[] = [];
  const cache = new ResultCache(cacheDir);
  const live = new Set<string>();
  for (const a of await cache.list().catch(() => [])) {
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
  for (const network of listDir(dataDir)) {
    const dir = join(dataDir, network);
    if (!statSync(dir).isDirectory()) continue;
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
