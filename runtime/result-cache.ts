/**
 * The attachment result cache in libcni's on-disk format, so entries written here are read by
 * containerd, CRI-O and podman and the other way round: one file per attachment at
 * `<cacheDir>/results/<network>-<containerID>-<ifname>` holding libcni's cachedInfo struct as
 * JSON, members in struct order (kind, containerId, config as base64, ifName, networkName,
 * netns, cniArgs, capabilityArgs, result), empty ones left out as `omitempty` does. Files are
 * written atomically (temp file + rename, 0600 in a 0700 directory). Names are checked before
 * any path is built. This module stores and reads entries; it runs no plugins.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../plugins/sdk/errors.ts';
import { isJsonObject } from '../plugins/sdk/fields.ts';
import type { JsonObject } from '../plugins/sdk/input.ts';
import { validateContainerId, validateInterfaceName, validateNetworkName } from '../plugins/sdk/names.ts';
import { ResultCacheError } from './errors.ts';
import { goMarshalStruct } from './go-json.ts';

/** libcni's CacheDir. */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const CACHE_KIND = 'cniCacheV1';

/** One cached attachment (libcni cachedInfo / NetworkAttachment). */
export interface CachedAttachment {
  containerId: string;
  ifname: string;
  network: string;
  netns?: string;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: JsonObject;
  /** The network configuration bytes the attachment was made with. */
  config: Uint8Array;
  /** The final ADD result document. */
  result?: JsonObject;
}

/** What a cache file held: a cniCacheV1 entry, or a bare result written by libcni before 0.7. */
export type CacheEntry =
  | { kind: 'v1'; attachment: CachedAttachment }
  | { kind: 'legacy'; result: JsonObject };

function fail(file: string, problem: string): never {
  throw new ResultCacheError(ErrorCode.DecodingFailure, file, problem);
}

function optionalString(doc: JsonObject, key: string, file: string): string | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(file, `"${key}" must be a string`);
  return v;
}

function readArgs(value: unknown, file: string): Array<[string, string]> | undefined {
  if (value === undefined || value === null) return undefined;
  const ok =
    Array.isArray(value) &&
    value.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'));
  if (!ok) fail(file, '"cniArgs" must be a list of [key, value] string pairs');
  return (value as Array<[string, string]>).map(([k, v]) => [k, v]);
}

/** Decode a cachedInfo document; undefined when it is not one (no kind, other kind). */
export function decodeCacheDocument(doc: JsonObject, file: string): CachedAttachment | undefined {
  if (doc.kind !== CACHE_KIND) return undefined;
  const config = optionalString(doc, 'config', file) ?? '';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(config)) fail(file, '"config" is not base64');
  const attachment: CachedAttachment = {
    containerId: optionalString(doc, 'containerId', file) ?? '',
    ifname: optionalString(doc, 'ifName', file) ?? '',
    network: optionalString(doc, 'networkName', file) ?? '',
    config: Buffer.from(config, 'base64'),
  };
  const netns = optionalString(doc, 'netns', file);
  if (netns) attachment.netns = netns;
  const cniArgs = readArgs(doc.cniArgs, file);
  if (cniArgs?.length) attachment.cniArgs = cniArgs;
  for (const key of ['capabilityArgs', 'result'] as const) {
    const value = doc[key];
    if (value === undefined || value === null) continue;
    if (!isJsonObject(value)) fail(file, `"${key}" must be an object`);
    if (key === 'result') attachment.result = value;
    else if (Object.keys(value).length) attachment.capabilityArgs = value;
  }
  return attachment;
}

/** The file's bytes exactly as libcni's json.Marshal(&cachedInfo) writes them. */
export function encodeCacheDocument(a: CachedAttachment): string {
  return goMarshalStruct([
    ['kind', CACHE_KIND],
    ['containerId', a.containerId],
    ['config', Buffer.from(a.config).toString('base64')],
    ['ifName', a.ifname],
    ['networkName', a.network],
    ['netns', a.netns || undefined],
    ['cniArgs', a.cniArgs?.length ? a.cniArgs : undefined],
    [
      'capabilityArgs',
      a.capabilityArgs && Object.keys(a.capabilityArgs).length ? a.capabilityArgs : undefined,
    ],
    ['result', a.result && Object.keys(a.result).length ? a.result : undefined],
  ]);
}

export class ResultCache {
  readonly resultsDir: string;

  constructor(readonly cacheDir: string = DEFAULT_CACHE_DIR) {
    this.resultsDir = join(cacheDir, 'results');
  }

  /** The entry's path; refuses names that are not safe as parts of a file name. */
  filePath(network: string, containerId: string, ifname: string): string {
    validateNetworkName(network);
    validateContainerId(containerId);
    validateInterfaceName(ifname);
    return join(this.resultsDir, `${network}-${containerId}-${ifname}`);
  }

  async write(attachment: CachedAttachment): Promise<string> {
    const file = this.filePath(attachment.network, attachment.containerId, attachment.ifname);
    // A dot name: libcni's listing skips what it cannot parse, and ours skips dot files.
    const temp = join(this.resultsDir, `.${randomBytes(8).toString('hex')}.tmp`);
    try {
      await mkdir(this.resultsDir, { recursive: true, mode: 0o700 });
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(encodeCacheDocument(attachment));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      return file;
    } catch (e) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new ResultCacheError(ErrorCode.IoFailure, file, 'cannot write the entry', (e as Error).message);
    }
  }

  /** The entry of one attachment, or undefined when there is none. */
  async read(network: string, containerId: string, ifname: string): Promise<CacheEntry | undefined> {
    const file = this.filePath(network, containerId, ifname);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ResultCacheError(ErrorCode.IoFailure, file, 'cannot read the entry', (e as Error).message);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      fail(file, `not JSON (${(e as Error).message})`);
    }
    if (!isJsonObject(doc)) fail(file, 'not a JSON object');
    const attachment = decodeCacheDocument(doc, file);
    return attachment ? { kind: 'v1', attachment } : { kind: 'legacy', result: doc };
  }

  /** Remove one attachment's entry; succeeds when there is none. */
  async remove(network: string, containerId: string, ifname: string): Promise<void> {
    const file = this.filePath(network, containerId, ifname);
    try {
      await rm(file, { force: true });
    } catch (e) {
      throw new ResultCacheError(ErrorCode.IoFailure, file, 'cannot remove the entry', (e as Error).message);
    }
  }

  /**
   * Every readable cniCacheV1 entry, optionally of one network, in file name order
   * (libcni GetCachedAttachments). Unreadable or foreign files are skipped, as libcni does.
   */
  async list(network?: string): Promise<CachedAttachment[]> {
    let names: string[];
    try {
      names = (await readdir(this.resultsDir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ResultCacheError(ErrorCode.IoFailure, this.resultsDir, 'cannot list', (e as Error).message);
    }
    const found: CachedAttachment[] = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const file = join(this.resultsDir, name);
      try {
        const doc: unknown = JSON.parse(await readFile(file, 'utf8'));
        const attachment = isJsonObject(doc) ? decodeCacheDocument(doc, file) : undefined;
        if (!attachment?.ifname || !attachment.network) continue;
        if (network === undefined || attachment.network === network) found.push(attachment);
      } catch {
        // not an entry we can use: skipped, as libcni skips it
      }
    }
    return found;
  }
}
