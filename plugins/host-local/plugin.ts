/**
 * host-local IPAM: hands out addresses from configured ranges and remembers them in a
 * directory shared by every container of the network. Reads as config, ADD, DEL, CHECK, GC,
 * STATUS. Every command works under the directory's flock, so concurrent plugin processes (of
 * this suite or the reference one) never hand out one address twice. The bridge plugin runs
 * this same object in-process (plugins/attachment/ipam-client.ts).
 */
import { accessSync, constants } from 'node:fs';
import { formatIp, type IpAddress, ipEquals, parseCidr } from '../../platform/cidr.ts';
import type { AttachmentId } from '../../platform/contract.ts';
import { loadPlatform } from '../../platform/select.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result, ResultIp } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';
import { allocate } from './allocator.ts';
import { describeRequested, type HostLocalConfig, parseHostLocalConfig } from './config.ts';
import { rangeContains, rangeFor, rangeSetText, subnetCidr, usableCount } from './range.ts';
import { readResolvConf } from './resolv-conf.ts';
import { DiskStore } from './store.ts';

function owner(ctx: CommandContext): AttachmentId {
  return { containerId: ctx.containerId, ifname: ctx.ifname };
}

function openStore(config: HostLocalConfig, code: number = ErrorCode.IoFailure): DiskStore {
  const store = new DiskStore(config.dataDir, config.network);
  try {
    store.ensureDirectory();
  } catch (e) {
    throw new CniError(
      code,
      `create host-local data directory ${store.dir}`,
      `${(e as Error).message} (check "ipam.dataDir")`,
    );
  }
  return store;
}

/** Run `fn` on the network's store under its lock (the lock the reference takes too). */
async function withStore<T>(store: DiskStore, fn: (store: DiskStore) => T): Promise<T> {
  const platform = await loadPlatform();
  try {
    return await platform.withFileLock(store.lockPath, async () => fn(store));
  } finally {
    store.close();
  }
}

/** Addresses prevResult lists: where CHECK looks first. */
function hintedAddresses(ctx: CommandContext): IpAddress[] {
  return (ctx.config.prevResult?.ips ?? [])
    .map((ip) => parseCidr(ip.address)?.address)
    .filter((ip): ip is IpAddress => ip !== undefined);
}

/** The reference's prefix on allocation errors, so a message says which range set failed. */
function inRangeSet(index: number, e: unknown): unknown {
  if (!(e instanceof CniError)) return e;
  return new CniError(e.code, `failed to allocate for range ${index}: ${e.msg}`, e.details, { cause: e });
}

async function add(ctx: CommandContext): Promise<Result> {
  const config = parseHostLocalConfig(ctx);
  const me = owner(ctx);
  // Read before allocating, as the reference does: a failed ADD must not keep addresses.
  const dns = config.resolvConf ? readResolvConf(config.resolvConf) : undefined;
  const ips = await withStore(openStore(config), (store) => {
    // The spec forbids a second ADD for one attachment. The reference (allocator.go, Get)
    // looks the attachment up (GetByID) and refuses rather than handing out a second address;
    // so do we. Returning the held addresses instead would be unsafe: a caller whose later
    // step fails undoes the ADD, which would release the addresses of the live attachment.
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
        let allocation: ReturnType<typeof allocate>;
        try {
          allocation = allocate(store, set, index, me, wanted);
        } catch (e) {
          throw inRangeSet(index, e);
        }
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
    } catch (e) {
      store.releaseAddresses(me, reserved);
      throw e;
    }
    store.saveIndex();
    return taken;
  });
  const result: Result = { cniVersion: ctx.config.cniVersion, ips, routes: config.routes };
  if (dns) result.dns = dns;
  return result;
}

/** Release everything the attachment holds; succeeds when it holds nothing. */
async function del(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  await withStore(openStore(config), (store) => {
    store.release(owner(ctx));
    store.saveIndex();
  });
}

/** The attachment holds at least one address, whatever it is (the reference's CHECK). */
async function check(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  const me = owner(ctx);
  const holds = await withStore(openStore(config), (store) => store.holdsAny(me, hintedAddresses(ctx)));
  if (!holds) {
    throw new CniError(
      ErrorCode.IoFailure,
      `host-local: failed to find an address allocated to ${ctx.containerId}/${ctx.ifname} in ${config.dataDir}/${config.network}`,
      'the reservation is gone: DEL and ADD the attachment again',
    );
  }
}

/**
 * Release every reservation of this network whose attachment the runtime no longer lists.
 * Only this network's directory, and only its address files, are touched; an id-only file of
 * the reference's old format belongs to any interface of its container.
 */
async function gc(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  const valid = ctx.config.validAttachments;
  if (!valid) {
    // Without the list every reservation would look stale; refuse rather than release all.
    throw new CniError(ErrorCode.InvalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  }
  const keep = new Set(valid.map((a) => `${a.containerId}\0${a.ifname}`));
  const keepContainers = new Set(valid.map((a) => a.containerId));
  await withStore(openStore(config), (store) => {
    for (const { ip, owner: holder } of store.all()) {
      const legacy = holder.ifname === '';
      if (
        legacy ? keepContainers.has(holder.containerId) : keep.has(`${holder.containerId}\0${holder.ifname}`)
      ) {
        continue;
      }
      store.releaseAddresses(holder, [ip]);
    }
    store.releaseOwnerless();
    store.removeDebris();
  });
}

/**
 * Ready when the data directory is writable and every range set has a free address: an ADD
 * takes one address from each set, so one full set is enough to make every ADD fail.
 */
async function status(ctx: CommandContext): Promise<void> {
  const config = parseHostLocalConfig(ctx);
  const store = openStore(config, ErrorCode.PluginNotAvailable);
  try {
    accessSync(store.dir, constants.W_OK);
  } catch (e) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `host-local: data directory ${store.dir} is not writable`,
      `${(e as Error).message} (check "ipam.dataDir")`,
    );
  }
  const reserved = await withStore(store, (s) => s.reservedAddresses());
  config.rangeSets.forEach((set, index) => {
    const used = reserved.filter((ip) => set.some((r) => rangeContains(r, ip) && !ipEquals(ip, r.gateway)));
    if (BigInt(used.length) >= usableCount(set)) {
      throw new CniError(
        ErrorCode.PluginNotAvailable,
        `host-local: no IP addresses available in range set ${index}: ${rangeSetText(set)} (the range set is full)`,
        'no new container can get an address until addresses are released',
      );
    }
  });
}

export const hostLocalPlugin: CniPlugin = { knownArgs: ['IP'], add, del, check, gc, status };
