/**
 * The stdin of one plugin call, built as libcni's buildOneConfig / injectRuntimeConfig /
 * InjectConf build it: the plugin's configured object with the list's `name` and `cniVersion`,
 * the `prevResult` when there is one, and a `runtimeConfig` holding only the capability
 * arguments the plugin declares (replacing any configured `runtimeConfig` only when there is
 * something to inject). Keys are re-marshalled in sorted order, as Go writes its maps. Pure.
 */
import type { JsonObject } from '../plugins/sdk/input.ts';
import type { AttachmentId } from '../platform/contract.ts';
import { goMarshal } from './go-json.ts';
import type { NetworkConfigList, PluginConfig } from './network-config.ts';

/** Capability arguments (CONVENTIONS.md `runtimeConfig` keys): portMappings, bandwidth, ips, ... */
export type CapabilityArgs = Readonly<Record<string, unknown>>;

/** Only the capability arguments `plugin` declares with `true`, or undefined when none apply. */
export function runtimeConfigFor(
  plugin: PluginConfig,
  capabilityArgs?: CapabilityArgs,
): JsonObject | undefined {
  if (!capabilityArgs) return undefined;
  const config: JsonObject = {};
  for (const capability of plugin.capabilities) {
    if (Object.hasOwn(capabilityArgs, capability) && capabilityArgs[capability] !== undefined) {
      config[capability] = capabilityArgs[capability];
    }
  }
  return Object.keys(config).length ? config : undefined;
}

export interface InjectedKeys {
  /** The previous plugin's result (ADD), or the cached result (CHECK, DEL), in the list's version. */
  prevResult?: JsonObject;
  capabilityArgs?: CapabilityArgs;
  /** GC only: the attachments still in use. */
  validAttachments?: readonly AttachmentId[];
}

/** The JSON text a plugin of `list` gets on stdin. */
export function pluginStdin(
  list: NetworkConfigList,
  plugin: PluginConfig,
  inject: InjectedKeys = {},
): string {
  const config: JsonObject = { ...plugin.raw, name: list.name, cniVersion: list.cniVersion };
  if (inject.prevResult) config.prevResult = inject.prevResult;
  const runtimeConfig = runtimeConfigFor(plugin, inject.capabilityArgs);
  if (runtimeConfig) config.runtimeConfig = runtimeConfig;
  if (inject.validAttachments) {
    // The spec's GC key, with the spec's spelling of the members (types.GCAttachment).
    config['cni.dev/valid-attachments'] = inject.validAttachments.map((a) => ({
      containerID: a.containerId,
      ifname: a.ifname,
    }));
  }
  return goMarshal(config);
}
