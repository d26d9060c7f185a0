/**
 * The runtime side of CNI (what libcni is for Go runtimes): load a network configuration, run
 * its plugins for an attachment, keep the result cache. The public API is re-exported here and
 * nowhere else; the CLI (cli.ts) is one user of it.
 */
export { CniRuntime, type GcArgs, type RuntimeOptions } from './cni-runtime.ts';
export {
  ConfigFileError,
  GarbageCollectionError,
  NetworkNotFoundError,
  PluginFailedError,
  ResultCacheError,
  type RuntimeCommand,
} from './errors.ts';
export { configFiles, loadNetworkList, loadNetworkListFile, loadSingleConfigFile } from './load-config.ts';
export {
  type NetworkConfigList,
  type PluginConfig,
  parseNetworkList,
  parsePluginConfig,
  parseSingleConfig,
} from './network-config.ts';
export type { StderrListener } from './plugin-call.ts';
export { type Environment, formatCniArgs, type PluginCommand, type RuntimeConf } from './plugin-env.ts';
export { type CapabilityArgs, pluginStdin, runtimeConfigFor } from './plugin-stdin.ts';
export {
  CACHE_KIND,
  type CacheEntry,
  type CachedAttachment,
  DEFAULT_CACHE_DIR,
  decodeCacheDocument,
  encodeCacheDocument,
  ResultCache,
} from './result-cache.ts';
export { decodeVersionInfo, type PluginInfo } from './version-info.ts';
