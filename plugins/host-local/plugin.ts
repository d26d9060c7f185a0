/**
 * host-local IPAM: hands out addresses from configured ranges and remembers them in a
 * directory shared by every container of the network. Reads as config, ADD, DEL, CHECK, GC,
 * STATUS. All changes happen under the directory's flock, so concurrent plugin processes (of
 * this suite or the reference one) never hand out one address twice.
 */
import { formatIp, type IpAddress, parseCidr } from '../../platform/cidr.ts';
import type { AttachmentId } from '../../platform/contract.ts';
import { loadPlatform } from '../../platform/select.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result, ResultIp } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';
import { allocate } from './allocator.ts';
import { describeRequested, type HostLocalConfig, parseHostLocalConfig } from './config.ts';
import { rangeContains, rangeFor, rangeSetText, subnetCidr } from './range.ts';
import { readResolvConf } from './resolv-conf.ts';
import { DiskStore } from './store.ts';

function owner(ctx: CommandContext): AttachmentId {
  return { containerId: ctx.containerId, ifname: ctx.ifname };
}

async function withStore<T>(config: HostLocalConfig, fn: (store: DiskStore) => T): Promise<T> {
  const store = new DiskStore(config.dataDir, config.network);
  try {
    store.ensureDirectory();
  } catch (e) {
    throw new CniError(
      ErrorCode.IoFailure,
      `create host-local data directory ${store.dir}`,
      (e as Error).message,
    );
  }
  const platform = await loadPlatform();
  return platform.withFileLock(store.lockPath, async () => fn(store));
}

/** Addresses prevResult lists: where DEL and CHECK look first. */
function hintedAddresses(ctx: CommandContext): IpAddress[] {
  return (ctx.config.prevResult?.ips ?? [])
    .map((ip) => parseCidr(ip.address)?.address)
    .filter((ip): ip is IpAddress => ip !== undefined);
}

async function add(ctx: CommandContext): Promise<Result> {
  const config = parseHostLocalConfig(ctx);
  const me = owner(ctx);
  const ips = await withStore(config, (store) => {
    // The spec forbids a second ADD for one attachment; the reference refuses it rather than
    // handing out a second address, and so do we.
    const held = store.addressesOf(me);
    for (const set of config.rangeSets) {
      const ip = held.find((h) => rangeFor(set, h));
      if (ip) {
        throw new CniError(
          ErrorCode.IoFailure,
          `${formatIp(ip)} has been allocated to ${ctx.containerId}/${ctx.ifname}, duplicate allocation is not allowed`,
          'run DEL for this container and interface first',
        );
      }
    }
    const requested = [...config.requested];
    const taken: ResultIp[] = [];
    const reserved: IpAddress[] = [];
    try {
      config.rangeSets.forEach((set, index) => {
        const wantedAt = requested.findIndex((ip) => set.some((r) => rangeContains(r, ip)));
        const wanted = wantedAt >= 0 ? requested.splice(wantedAt, 1)[0] : undefined;
        const allocation = allocate(store, set, index, me, wanted);
        reserved.push(allocation.ip);
        taken.push({
          address: subnetCidr(allocation.range, allocation.ip),
          gateway: formatIp(allocation.range.gateway),
        });
      });
      if (requested.length) {
        throw new CniError(
          ErrorCode.InvalidConfig,
          `failed to allocate all requested IPs: ${describeRequested(requested)}`,
          `no range set contains them; range sets: ${config.rangeSets.map(rangeSetText).join(' ; ')}`,
        );
      }
      store.remember(me, reserved);
    } catch (e) {
      store.release(me, reserved);
      throw e;
    }
    return taken;
  });
  const result: Result = { cniVersion: ctx.config.cniVersion, ips, routes: config.routes };
  if (config.resolvConf) result.dns = readResolvConf(config.resolvConf);
  return result;
}

async function del(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  await withStore(config, (store) => store.release(owner(ctx), hintedAddresses(ctx)));
}

async function check(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  const held = await withStore(config, (store) => store.addressesOf(owner(ctx), hintedAddresses(ctx)));
  if (held.length === 0) {
    throw new CniError(
      ErrorCode.IoFailure,
      `host-local: failed to find an address allocated to ${ctx.containerId}/${ctx.ifname} in ${config.dataDir}/${config.network}`,
    );
  }
}

async function gc(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  const valid = ctx.config.validAttachments;
  if (!valid) {
    throw new CniError(ErrorCode.InvalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  }
  const keep = new Set(valid.map((a) => `${a.containerId}\0${a.ifname}`));
  await withStore(config, (store) => {
    for (const allocation of store.all()) {
      const { containerId, ifname } = allocation.owner;
      if (keep.has(`${containerId}\0${ifname}`)) continue;
      // A legacy id-only file belongs to whichever interface of that container is valid.
      if (ifname === '' && valid.some((a) => a.containerId === containerId)) continue;
      store.release(allocation.owner, [allocation.ip]);
    }
    store.pruneIndex();
    store.removeDebris();
  });
}

async function status(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  const free = await withStore(config, (store) => {
    const used = store.all().map((a) => a.ip);
    return config.rangeSets.map((set) => {
      let size = 0n;
      for (const range of set) {
        size += range.rangeEnd.value - range.rangeStart.value + 1n;
        if (rangeContains(range, range.gateway)) size -= 1n;
      }
      return size - BigInt(used.filter((ip) => set.some((r) => rangeContains(r, ip))).length);
    });
  });
  const full = free.findIndex((n) => n <= 0n);
  if (full >= 0) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `host-local: range set ${rangeSetText(config.rangeSets[full]!)} is full`,
      'no new container can get an address until addresses are released',
    );
  }
}

export const hostLocalPlugin: CniPlugin = { knownArgs: ['IP'], add, del, check, gc, status };
