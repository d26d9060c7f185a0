/**
 * One plugin execution on behalf of a network: find the executable by `type` in the plugin
 * directories, run it with the CNI environment and the given stdin (through the SDK's
 * execPlugin: no shell, bounded output), and turn any failure into a PluginFailedError naming
 * the network, plugin and command. Knows nothing about lists, results or the cache.
 */
import type { Environment } from '../plugins/sdk/env.ts';
import { toCniError } from '../plugins/sdk/errors.ts';
import { execPlugin } from '../plugins/sdk/exec-plugin.ts';
import { findPlugin } from '../plugins/sdk/find-plugin.ts';
import type { JsonObject } from '../plugins/sdk/input.ts';
import { PluginFailedError } from './errors.ts';
import { type PluginCommand, pluginEnvironment, type RuntimeConf } from './plugin-env.ts';

export type StderrListener = (pluginType: string, command: PluginCommand, text: string) => void;

export interface PluginCaller {
  pluginDirs: readonly string[];
  env: Environment;
  timeoutMs?: number;
  onPluginStderr?: StderrListener;
}

export interface PluginCall {
  /** The network the call is for ("" for VERSION), for messages. */
  network: string;
  pluginType: string;
  command: PluginCommand;
  stdin: string;
  rt?: RuntimeConf;
}

/**
 * Run the call and return the plugin's output document (undefined when it printed nothing).
 * `interpret` runs on the output inside the same error wrapping, so a bad result is reported
 * against the plugin that printed it.
 */
export async function callPlugin<T = JsonObject | undefined>(
  caller: PluginCaller,
  call: PluginCall,
  interpret: (output: JsonObject | undefined) => T = (output) => output as T,
): Promise<T> {
  try {
    const file = findPlugin(call.pluginType, caller.pluginDirs);
    const env = pluginEnvironment(caller.env, {
      command: call.command,
      pluginDirs: caller.pluginDirs,
      rt: call.rt,
    });
    const run = await execPlugin(file, env, Buffer.from(call.stdin), caller.timeoutMs);
    if (run.stderr && caller.onPluginStderr) caller.onPluginStderr(call.pluginType, call.command, run.stderr);
    return interpret(run.output);
  } catch (e) {
    throw new PluginFailedError(call.network, call.pluginType, call.command, toCniError(e));
  }
}
