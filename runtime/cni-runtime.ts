/**
 * Running a network list for one attachment, as libcni's CNIConfig does (libcni/api.go): ADD in
 * order, each plugin getting the previous one's result, the final result cached; CHECK and DEL
 * with the cached result as prevResult, DEL in reverse order and then dropping the cache entry;
 * GC (stale cached attachments deleted, then every plugin told which attachments are valid);
 * STATUS; VERSION. Every result a plugin prints is read with the SDK's parseResult and handed on
 * in the list's cniVersion. ADD does not roll back on failure: as with libcni, the caller runs DEL.
 */
import type { AttachmentId } from '../platform/contract.ts';
import { convertResult, type ResultDocument } from '../plugins/sdk/convert.ts';
import type { Environment } from '../plugins/sdk/env.ts';
import { CniError, ErrorCode, toCniError } from '../plugins/sdk/errors.ts';
import type { JsonObject } from '../plugins/sdk/input.ts';
import { validateNetworkName } from '../plugins/sdk/names.ts';
import { parseResult, type Result } from '../plugins/sdk/result.ts';
import { CURRENT_VERSION, versionAtLeast } from '../plugins/sdk/version.ts';
import { GarbageCollectionError, PluginFailedError, ResultCacheError } from './errors.ts';
import type { NetworkConfigList } from './network-config.ts';
import { callPlugin, type PluginCaller, type StderrListener } from './plugin-call.ts';
import { type RuntimeConf, validateRuntimeConf } from './plugin-env.ts';
import { pluginStdin } from './plugin-stdin.ts';
import { type CachedAttachment, DEFAULT_CACHE_DIR, ResultCache } from './result-cache.ts';
import { decodeVersionInfo, LEGACY_PLUGIN_INFO, type PluginInfo } from './version-info.ts';

export interface RuntimeOptions {
  /** Directories searched for plugin executables (CNI_PATH), in order. */
  pluginDirs: readonly string[];
  /** Root of the result cache; default /var/lib/cni as libcni. */
  cacheDir?: string;
  /** The environment plugins inherit (CNI_* are set on top); default process.env. */
  env?: Environment;
  /** Per plugin execution. */
  timeoutMs?: number;
  /** Gets what a plugin wrote to stderr (libcni passes it through to its own stderr). */
  onPluginStderr?: StderrListener;
}

export interface GcArgs {
  /**
   * The attachments still in use. Cached attachments of the network not listed are deleted.
   * Absent: every cached attachment is stale and plugins get no list (libcni with nil GCArgs).
   */
  validAttachments?: readonly AttachmentId[];
}

export class CniRuntime {
  readonly cache: ResultCache;
  private readonly caller: PluginCaller;

  constructor(options: RuntimeOptions) {
    this.cache = new ResultCache(options.cacheDir ?? DEFAULT_CACHE_DIR);
    this.caller = {
      pluginDirs: [...options.pluginDirs],
      env: options.env ?? process.env,
      timeoutMs: options.timeoutMs,
      onPluginStderr: options.onPluginStderr,
    };
  }

  /** ADD every plugin in order; caches and returns the final result (in the list's version). */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<Result> {
    checkAttachment(list, rt);
    let result: Result | undefined;
    for (const plugin of list.plugins) {
      const prevResult = result && convertResult(result, list.cniVersion);
      const stdin = pluginStdin(list, plugin, { prevResult, capabilityArgs: rt.capabilityArgs });
      result = await callPlugin(
        this.caller,
        { network: list.name, pluginType: plugin.type, command: 'ADD', stdin, rt },
        (output) => {
          if (!output) throw new CniError(ErrorCode.DecodingFailure, 'printed no result for ADD');
          return parseResult(output, list.cniVersion);
        },
      );
    }
    // A list has at least one plugin, so there is a result here.
    const final = { ...result!, cniVersion: list.cniVersion };
    await this.cache.write(cacheEntry(list, rt, convertResult(final, list.cniVersion)));
    return final;
  }

  /** CHECK every plugin in order against the cached result (spec 0.4.0 and later). */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw new CniError(
        ErrorCode.IncompatibleVersion,
        `network "${list.name}" has cniVersion ${list.cniVersion}, which does not support the CHECK command`,
        'CHECK needs cniVersion 0.4.0 or later',
      );
    }
    if (list.disableCheck) return;
    checkAttachment(list, rt);
    const cached = await this.getCachedResult(list, rt);
    if (!cached) {
      throw new CniError(
        ErrorCode.UnknownContainer,
        `network "${list.name}" has no cached result for container ${rt.containerId} interface ${rt.ifname}`,
        `was it added? (cache: ${this.cache.resultsDir})`,
      );
    }
    const prevResult = convertResult(cached, list.cniVersion);
    for (const plugin of list.plugins) {
      const stdin = pluginStdin(list, plugin, { prevResult, capabilityArgs: rt.capabilityArgs });
      await callPlugin(this.caller, {
        network: list.name,
        pluginType: plugin.type,
        command: 'CHECK',
        stdin,
        rt,
      });
    }
  }

  /**
   * DEL every plugin in reverse order, with the cached result as prevResult (0.4.0 and later; an
   * unreadable entry is dropped and DEL goes on without it), then remove the cache entry.
   */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    checkAttachment(list, rt);
    let prevResult: ResultDocument | undefined;
    if (versionAtLeast(list.cniVersion, '0.4.0')) {
      try {
        const cached = await this.getCachedResult(list, rt);
        if (cached) prevResult = convertResult(cached, list.cniVersion);
      } catch {
        // libcni drops an entry it cannot use and deletes without it; DEL must not hinge on it.
        await this.cache.remove(list.name, rt.containerId, rt.ifname).catch(() => undefined);
      }
    }
    for (const plugin of [...list.plugins].reverse()) {
      const stdin = pluginStdin(list, plugin, { prevResult, capabilityArgs: rt.capabilityArgs });
      await callPlugin(this.caller, {
        network: list.name,
        pluginType: plugin.type,
        command: 'DEL',
        stdin,
        rt,
      });
    }
    await this.cache.remove(list.name, rt.containerId, rt.ifname);
  }

  /**
   * Delete the network's cached attachments that are not valid, then (1.1.0 and later) ask every
   * plugin to release what belongs to no valid attachment. Goes on after failures and reports
   * them all. Does nothing when the list sets disableGC.
   */
  async gcNetworkList(list: NetworkConfigList, args: GcArgs = {}): Promise<void> {
    if (list.disableGC) return;
    validateNetworkName(list.name);
    const failures: CniError[] = [];
    const valid = new Set((args.validAttachments ?? []).map((a) => attachmentKey(a.containerId, a.ifname)));
    let cached: CachedAttachment[] = [];
    try {
      cached = await this.cache.list(list.name);
    } catch (e) {
      failures.push(toCniError(e));
    }
    for (const attachment of cached) {
      if (valid.has(attachmentKey(attachment.containerId, attachment.ifname))) continue;
      try {
        await this.delNetworkList(list, staleRuntimeConf(attachment));
      } catch (e) {
        const error = toCniError(e);
        failures.push(
          new CniError(
            error.code,
            `delete stale attachment ${attachment.containerId} ${attachment.ifname}: ${error.msg}`,
            error.details,
          ),
        );
      }
    }
    if (versionAtLeast(list.cniVersion, '1.1.0')) {
      for (const plugin of list.plugins) {
        const stdin = pluginStdin(list, plugin, { validAttachments: args.validAttachments });
        try {
          await callPlugin(this.caller, {
            network: list.name,
            pluginType: plugin.type,
            command: 'GC',
            stdin,
          });
        } catch (e) {
          failures.push(toCniError(e));
        }
      }
    }
    if (failures.length) throw new GarbageCollectionError(list.name, failures);
  }

  /** STATUS of every plugin in order, stopping at the first not ready (1.1.0 and later; else a no-op). */
  async getStatusNetworkList(list: NetworkConfigList): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return;
    for (const plugin of list.plugins) {
      const stdin = pluginStdin(list, plugin);
      await callPlugin(this.caller, {
        network: list.name,
        pluginType: plugin.type,
        command: 'STATUS',
        stdin,
      });
    }
  }

  /** The versions a plugin (found by type in the plugin directories) supports. */
  async getVersionInfo(pluginType: string): Promise<PluginInfo> {
    const stdin = JSON.stringify({ cniVersion: CURRENT_VERSION });
    try {
      return await callPlugin(this.caller, { network: '', pluginType, command: 'VERSION', stdin }, (output) =>
        decodeVersionInfo(output, pluginType),
      );
    } catch (e) {
      // libcni's rule for plugins older than the VERSION command.
      if (e instanceof PluginFailedError && e.pluginError.msg === 'unknown CNI_COMMAND: VERSION') {
        return { ...LEGACY_PLUGIN_INFO };
      }
      throw e;
    }
  }

  /** The cached result of an attachment read into the newest model, or undefined when there is none. */
  async getCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<Result | undefined> {
    const entry = await this.cache.read(list.name, rt.containerId, rt.ifname);
    if (!entry) return undefined;
    const file = this.cache.filePath(list.name, rt.containerId, rt.ifname);
    const document = entry.kind === 'v1' ? entry.attachment.result : entry.result;
    if (!document) throw new ResultCacheError(ErrorCode.DecodingFailure, file, 'the entry holds no result');
    try {
      return parseResult(document, list.cniVersion);
    } catch (e) {
      const error = toCniError(e);
      throw new ResultCacheError(error.code, file, `unusable result: ${error.msg}`, error.details);
    }
  }

  /** Cached attachments, of one network or of all (libcni GetCachedAttachments). */
  async getCachedAttachments(network?: string): Promise<CachedAttachment[]> {
    return this.cache.list(network);
  }
}

/** Names are used in cache file names and by plugins as device and file names: check them first. */
function checkAttachment(list: NetworkConfigList, rt: RuntimeConf): void {
  validateNetworkName(list.name);
  validateRuntimeConf(rt);
}

/** Container ids and ifnames never hold "/", so the pair is unambiguous. */
function attachmentKey(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}

function staleRuntimeConf(attachment: CachedAttachment): RuntimeConf {
  const rt: RuntimeConf = {
    containerId: attachment.containerId,
    netns: attachment.netns ?? '',
    ifname: attachment.ifname,
  };
  if (attachment.cniArgs) rt.args = attachment.cniArgs;
  if (attachment.capabilityArgs) rt.capabilityArgs = attachment.capabilityArgs;
  return rt;
}

function cacheEntry(list: NetworkConfigList, rt: RuntimeConf, result: JsonObject): CachedAttachment {
  const entry: CachedAttachment = {
    containerId: rt.containerId,
    ifname: rt.ifname,
    network: list.name,
    config: list.bytes,
    result,
  };
  if (rt.netns) entry.netns = rt.netns;
  if (rt.args?.length) entry.cniArgs = rt.args.map(([k, v]) => [k, v]);
  if (rt.capabilityArgs && Object.keys(rt.capabilityArgs).length)
    entry.capabilityArgs = { ...rt.capabilityArgs };
  return entry;
}
