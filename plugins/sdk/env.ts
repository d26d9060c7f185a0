/**
 * The CNI_* environment of one invocation, read and checked per command exactly as the spec
 * requires: ADD and CHECK need the container id, netns, ifname and path; DEL the same but the
 * netns may be empty; STATUS and GC need only the path; VERSION needs nothing.
 */
import { CniError, ErrorCode } from './errors.ts';
import { type CniArgs, parseCniArgs } from './args.ts';
import { validateContainerId, validateInterfaceName } from './names.ts';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Invocation {
  command: CniCommand;
  /** "" for VERSION, STATUS and GC. */
  containerId: string;
  /** "" when the runtime gave none (DEL may), and for VERSION, STATUS and GC. */
  netns: string;
  ifname: string;
  args: CniArgs;
  path: string[];
  env: Environment;
}

type Variable = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

const REQUIRED: Record<CniCommand, readonly Variable[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

export function readCommand(env: Environment): CniCommand {
  const command = env.CNI_COMMAND;
  if (!command) throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_COMMAND is not set');
  if (!COMMANDS.includes(command as CniCommand)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_COMMAND "${command}" is not a CNI command`,
      `expected one of ${COMMANDS.join(', ')}`,
    );
  }
  return command as CniCommand;
}

export function readInvocation(env: Environment, command: CniCommand): Invocation {
  const missing = REQUIRED[command].filter((name) => !env[name]);
  if (missing.length) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `required environment variables missing for ${command}: ${missing.join(', ')}`,
    );
  }
  const perContainer = command === 'ADD' || command === 'CHECK' || command === 'DEL';
  const invocation: Invocation = {
    command,
    containerId: perContainer ? (env.CNI_CONTAINERID ?? '') : '',
    netns: perContainer ? (env.CNI_NETNS ?? '') : '',
    ifname: perContainer ? (env.CNI_IFNAME ?? '') : '',
    args: parseCniArgs(env.CNI_ARGS),
    path: splitPath(env.CNI_PATH ?? ''),
    env,
  };
  if (perContainer) {
    validateContainerId(invocation.containerId);
    validateInterfaceName(invocation.ifname);
  }
  return invocation;
}

function splitPath(value: string): string[] {
  const separator = process.platform === 'win32' ? ';' : ':';
  return value.split(separator).filter((dir) => dir !== '');
}
