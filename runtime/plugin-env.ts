/**
 * The environment of one plugin call, as libcni's invoke.Args.AsEnv builds it: the runtime's own
 * environment (PATH and the rest, so a plugin can find its tools and interpreter) with all six
 * CNI_* variables set on top, empty when a command has no value for them. Also the
 * per-attachment parameters (RuntimeConf) and their checks. Pure: nothing here touches the OS.
 */
import { delimiter } from 'node:path';
import type { Environment } from '../plugins/sdk/env.ts';
import { CniError, ErrorCode } from '../plugins/sdk/errors.ts';
import { validateContainerId, validateInterfaceName } from '../plugins/sdk/names.ts';
import type { CapabilityArgs } from './plugin-stdin.ts';

export type { Environment } from '../plugins/sdk/env.ts';

/** One attachment's parameters (libcni RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  /** CNI_NETNS: a netns path on Linux, an HCN namespace GUID on Windows; may be "" for DEL. */
  netns: string;
  ifname: string;
  /** CNI_ARGS as ordered key/value pairs. */
  args?: ReadonlyArray<readonly [string, string]>;
  /** Offered to each plugin's runtimeConfig, filtered by its declared capabilities. */
  capabilityArgs?: CapabilityArgs;
}

export type PluginCommand = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS' | 'VERSION';

/** "K=V;K=V", refusing pairs that would change meaning once joined. */
export function formatCniArgs(args: ReadonlyArray<readonly [string, string]> = []): string {
  return args
    .map(([key, value]) => {
      if (key === '' || /[=;]/.test(key) || value.includes(';')) {
        throw new CniError(
          ErrorCode.InvalidEnvironment,
          `CNI_ARGS pair ${JSON.stringify([key, value])} cannot be passed`,
          'keys must be non-empty without "=" or ";", values without ";"',
        );
      }
      return `${key}=${value}`;
    })
    .join(';');
}

/** Container id and interface name are used in file names and device names: check them first. */
export function validateRuntimeConf(rt: RuntimeConf): void {
  validateContainerId(rt.containerId);
  validateInterfaceName(rt.ifname);
}

export interface CallParameters {
  command: PluginCommand;
  pluginDirs: readonly string[];
  /** Absent for GC, STATUS and VERSION, which name no attachment. */
  rt?: RuntimeConf;
}

export function pluginEnvironment(base: Environment, call: CallParameters): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  env.CNI_COMMAND = call.command;
  env.CNI_CONTAINERID = call.rt?.containerId ?? '';
  env.CNI_NETNS = call.rt?.netns ?? '';
  env.CNI_ARGS = formatCniArgs(call.rt?.args);
  env.CNI_IFNAME = call.rt?.ifname ?? '';
  env.CNI_PATH = call.pluginDirs.join(delimiter);
  if (call.command === 'VERSION') {
    // libcni sets placeholders that plugins built on old skel versions insist on.
    env.CNI_NETNS = 'dummy';
    env.CNI_IFNAME = 'dummy';
    env.CNI_PATH = 'dummy';
  }
  return env;
}
