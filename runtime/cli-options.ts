/**
 * What a `crosscni` command line and environment ask for, read the way cnitool reads them:
 * NETCONFPATH, CNI_PATH, CNI_IFNAME (or -i/--ifname), CNI_ARGS, CAP_ARGS, and a container id
 * derived from the netns path unless CNI_CONTAINERID is set. Parsing only: nothing is loaded
 * or executed here.
 */
import { createHash } from 'node:crypto';
import { delimiter, isAbsolute, resolve } from 'node:path';
import type { AttachmentId } from '../platform/contract.ts';
import { parseCniArgs } from '../plugins/sdk/args.ts';
import type { Environment } from '../plugins/sdk/env.ts';
import { CniError } from '../plugins/sdk/errors.ts';
import { decodeJsonObject } from '../plugins/sdk/input.ts';
import { DEFAULT_CACHE_DIR } from './result-cache.ts';
import type { RuntimeConf } from './plugin-env.ts';

export const COMMANDS = [
  'add',
  'check',
  'del',
  'gc',
  'status',
  'version',
  'plugins',
  'demo',
  'install',
  'doctor',
  'agent',
  'help',
] as const;
export type CliCommand = (typeof COMMANDS)[number];

const WINDOWS = process.platform === 'win32';
export const DEFAULT_NETCONF_PATH = WINDOWS ? 'C:\\Program Files\\containerd\\cni\\conf' : '/etc/cni/net.d';
export const DEFAULT_CNI_PATH = WINDOWS ? 'C:\\opt\\cni\\bin' : '/opt/cni/bin';

/**
 * A problem with how crosscni itself was run (not a CNI error): printed as a plain line, with
 * `exitCode` as the process's exit status.
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A command line that cannot be run; printed with a pointer to --help. */
export class UsageError extends CliError {
  constructor(problem: string) {
    super(problem, 2);
  }
}

/** Where the CLI writes; the process's streams in production, buffers in tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface CommandLine {
  command: CliCommand;
  /** Arguments after the command, flags removed. */
  operands: string[];
  ifname?: string;
  cacheDir?: string;
  /** gc --valid CONTAINERID:IFNAME (repeatable). */
  valid?: AttachmentId[];
  /** plugins/doctor --json */
  json: boolean;
  /** install/doctor --bin-dir, --conf-dir; doctor --data-dir (host-local's dataDir). */
  binDir?: string;
  confDir?: string;
  dataDir?: string;
  /** install --conflist FILE */
  conflist?: string;
  /** install --force: replace files crosscni did not write. */
  force?: boolean;
  /** install --agent: the agent layout (exec shims, Node executables in crosscni-node/). */
  agent?: boolean;
  /** agent --socket PATH */
  socket?: string;
}

function parseValid(value: string): AttachmentId {
  // Neither a container id nor an interface name may contain ":", so the split is unambiguous.
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new UsageError(`--valid takes CONTAINERID:IFNAME, not "${value}"`);
  }
  return { containerId: value.slice(0, colon), ifname: value.slice(colon + 1) };
}

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const words: string[] = [];
  const line: Omit<CommandLine, 'command' | 'operands'> = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return { command: 'help', operands: [], json: false };
      case '-i':
      case '--ifname':
        line.ifname = value();
        break;
      case '--cache-dir':
        line.cacheDir = value();
        break;
      case '--valid':
        line.valid = [...(line.valid ?? []), parseValid(value())];
        break;
      case '--json':
        line.json = true;
        break;
      case '--bin-dir':
        line.binDir = value();
        break;
      case '--conf-dir':
        line.confDir = value();
        break;
      case '--data-dir':
        line.dataDir = value();
        break;
      case '--conflist':
        line.conflist = value();
        break;
      case '--force':
        line.force = true;
        break;
      case '--agent':
        line.agent = true;
        break;
      case '--socket':
        line.socket = value();
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
        words.push(arg);
    }
  }
  const [command, ...operands] = words;
  if (command === undefined) throw new UsageError('no command given');
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new UsageError(`unknown command "${command}"`);
  return { ...line, command: command as CliCommand, operands };
}

/** cnitool's container id: "cnitool-" and the first 10 bytes of SHA-512 of the netns path, in hex. */
export function cnitoolContainerId(netns: string): string {
  return `cnitool-${createHash('sha512').update(netns).digest('hex').slice(0, 20)}`;
}

/** The netns as plugins get it: an absolute path (cnitool's filepath.Abs); a Windows GUID as is. */
export function netnsArgument(value: string): string {
  if (WINDOWS && /^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$/.test(value)) return value;
  return isAbsolute(value) ? value : resolve(value);
}

export interface Settings {
  netconfPath: string;
  pluginDirs: string[];
  cacheDir: string;
}

export function readSettings(env: Environment, line: CommandLine): Settings {
  const pluginDirs = (env.CNI_PATH || DEFAULT_CNI_PATH).split(delimiter).filter((d) => d !== '');
  return {
    netconfPath: env.NETCONFPATH || DEFAULT_NETCONF_PATH,
    pluginDirs,
    cacheDir: line.cacheDir ?? (env.CNI_CACHE_DIR || DEFAULT_CACHE_DIR),
  };
}

/** CAP_ARGS: a JSON object of capability arguments. */
function readCapabilityArgs(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    return decodeJsonObject(Buffer.from(text), 'CAP_ARGS');
  } catch (e) {
    const error = e as CniError;
    throw new CniError(
      error.code,
      error.msg,
      'CAP_ARGS must be a JSON object such as {"portMappings":[...]}',
    );
  }
}

/** The attachment an add/check/del names: netns from the command line, the rest from the environment. */
export function readRuntimeConf(env: Environment, line: CommandLine, netnsOperand: string): RuntimeConf {
  const netns = netnsArgument(netnsOperand);
  const rt: RuntimeConf = {
    containerId: env.CNI_CONTAINERID || cnitoolContainerId(netns),
    netns,
    ifname: line.ifname ?? (env.CNI_IFNAME || 'eth0'),
  };
  const args = [...parseCniArgs(env.CNI_ARGS).entries()];
  if (args.length) rt.args = args;
  const capabilityArgs = readCapabilityArgs(env.CAP_ARGS);
  if (capabilityArgs) rt.capabilityArgs = capabilityArgs;
  return rt;
}
