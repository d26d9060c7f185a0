/**
 * Running a network configuration list for one command as libcni does, on top of a runner's
 * way of invoking one plugin (an executable on Linux, invokePlugin in this process for the
 * emulated Windows): ADD through the plugins in order, each getting the previous result as
 * prevResult; CHECK in order with the cached result; DEL in reverse order (with the cached
 * result when there is one); GC with the valid attachments. runtimeConfig carries the
 * capability arguments a plugin declares. Stops at the first failing plugin, as libcni does.
 */
import type { NetworkList } from './bridge-loopback-scenarios.ts';

export interface PluginAnswer {
  exitCode: number;
  stdout: string;
  stderr?: string;
}

/** Runs plugin `type` with the CNI_* environment and the config on stdin. */
export type InvokePlugin = (
  type: string,
  env: Record<string, string>,
  config: Record<string, unknown>,
) => Promise<PluginAnswer>;

export interface ChainCall {
  command: 'ADD' | 'CHECK' | 'DEL' | 'GC';
  containerId?: string;
  netns?: string;
  ifname?: string;
  cniPath: string;
  prevResult?: Record<string, unknown>;
  valid?: Array<{ containerID: string; ifname: string }>;
  capabilityArgs?: Record<string, unknown>;
}

export interface ChainOutcome {
  exitCode: number;
  /** The last plugin's document: the result of ADD, or the error of the failing plugin. */
  doc?: Record<string, unknown>;
  /** Which plugin answered last, and its stderr, for failure messages. */
  plugin: string;
  stderr: string;
}

function pluginConfig(list: NetworkList, plugin: Record<string, unknown>, call: ChainCall, prev?: unknown) {
  const config: Record<string, unknown> = { cniVersion: list.cniVersion, name: list.name, ...plugin };
  const capabilities = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig = Object.fromEntries(
    Object.entries(call.capabilityArgs ?? {}).filter(([key]) => capabilities[key] === true),
  );
  if (Object.keys(runtimeConfig).length) config.runtimeConfig = runtimeConfig;
  if (prev !== undefined) config.prevResult = prev;
  if (call.valid) config['cni.dev/valid-attachments'] = call.valid;
  return config;
}

function environment(call: ChainCall): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: call.command, CNI_PATH: call.cniPath };
  if (call.command === 'GC') return env;
  env.CNI_CONTAINERID = call.containerId ?? '';
  env.CNI_NETNS = call.netns ?? '';
  env.CNI_IFNAME = call.ifname ?? '';
  return env;
}

export async function runChain(
  list: NetworkList,
  call: ChainCall,
  invoke: InvokePlugin,
): Promise<ChainOutcome> {
  const plugins = call.command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
  let prev: unknown = call.command === 'ADD' ? undefined : call.prevResult;
  let last: ChainOutcome = { exitCode: 0, plugin: '', stderr: '' };
  for (const plugin of plugins) {
    const type = String(plugin.type);
    const answer = await invoke(type, environment(call), pluginConfig(list, plugin, call, prev));
    const doc = answer.stdout.trim() ? (JSON.parse(answer.stdout) as Record<string, unknown>) : undefined;
    last = { exitCode: answer.exitCode, doc, plugin: type, stderr: answer.stderr ?? '' };
    if (answer.exitCode !== 0) return last;
    if (call.command === 'ADD') prev = doc;
  }
  return last;
}
