/**
 * The plugin side of the protocol: one invocation is a function of (environment, stdin) to
 * (stdout, exit code). It reads the command, answers VERSION without loading the plugin,
 * checks the environment and config for the command, calls the plugin, and prints exactly one
 * JSON document: the result converted to the config's cniVersion, or the spec's error result.
 * No process.exit, no global state: the same function can serve many invocations in one
 * process, and tests call it directly.
 */
import type { NetConf } from './config.ts';
import { convertResult } from './convert.ts';
import { type CniCommand, type Environment, type Invocation, readCommand, readInvocation } from './env.ts';
import { CniError, ErrorCode, toCniError } from './errors.ts';
import type { JsonObject } from './input.ts';
import type { Result } from './result.ts';
import { CURRENT_VERSION, isSupportedVersion, SUPPORTED_VERSIONS, versionAtLeast } from './version.ts';
import { withInvocationEnvironment } from '../../platform/invocation-environment.ts';

export interface CommandContext extends Invocation {
  config: NetConf;
  /** The config bytes exactly as received, for delegating to IPAM plugins. */
  stdin: Uint8Array;
}

export interface CniPlugin {
  /** CNI_ARGS keys this plugin understands (others fail unless IgnoreUnknown=1). */
  readonly knownArgs?: readonly string[];
  add(ctx: CommandContext): Promise<Result>;
  del(ctx: CommandContext): Promise<void>;
  check(ctx: CommandContext): Promise<void>;
  /** Absent: the plugin is always ready. */
  status?(ctx: CommandContext): Promise<void>;
  /** Absent: the plugin keeps no per-attachment state. */
  gc?(ctx: CommandContext): Promise<void>;
}

export interface PluginOutput {
  stdout: string;
  exitCode: number;
}

/** Minimum spec version per command (CHECK arrived in 0.4.0, STATUS and GC in 1.1.0). */
const MINIMUM_VERSION: Partial<Record<CniCommand, string>> = { CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' };

function answer(doc: unknown, exitCode = 0): PluginOutput {
  return { stdout: `${JSON.stringify(doc)}\n`, exitCode };
}

function errorOutput(error: unknown, cniVersion: string): PluginOutput {
  return answer(toCniError(error).toJSON(cniVersion), 1);
}

/** The version to write an error in: the config's when it is one we speak, else the newest. */
function versionForErrors(stdin: Uint8Array): string {
  try {
    const match = /"cniVersion"\s*:\s*"([0-9.]+)"/.exec(Buffer.from(stdin.subarray(0, 4096)).toString());
    if (match?.[1] && isSupportedVersion(match[1])) return match[1];
  } catch {
    // fall through to the newest version
  }
  return CURRENT_VERSION;
}

/** The VERSION answer; also used by the VERSION stub (version-stub.ts), so both print the same bytes. */
export function versionAnswer(stdin: Uint8Array): PluginOutput {
  let requested: string = CURRENT_VERSION;
  if (stdin.length > 0 && stdin.length < 65536) {
    try {
      const doc = JSON.parse(Buffer.from(stdin).toString()) as { cniVersion?: unknown };
      if (typeof doc.cniVersion === 'string' && isSupportedVersion(doc.cniVersion))
        requested = doc.cniVersion;
    } catch {
      // VERSION answers whatever it is asked with; a bad stdin only loses the echo.
    }
  }
  return answer({ cniVersion: requested, supportedVersions: SUPPORTED_VERSIONS });
}

export interface InvokeOptions {
  /**
   * Where this invocation's diagnostics (the operational log when it goes to stderr) are
   * written; default the process's stderr. A resident agent passes one per request, so each
   * invocation's stderr reaches its own caller.
   */
  stderr?: (text: string) => void;
}

/**
 * Run one invocation. `loadPlugin` is called only for commands that need the plugin. Everything
 * inside reads `env`, never process.env: platform choices go through the invocation's
 * environment (platform/select.ts), so concurrent invocations in one process stay apart.
 */
export async function invokePlugin(
  loadPlugin: () => Promise<CniPlugin>,
  env: Environment,
  stdin: Uint8Array,
  options: InvokeOptions = {},
): Promise<PluginOutput> {
  const started = performance.now();
  const seen: Seen = {};
  const output = await withInvocationEnvironment(env, () => runCommand(loadPlugin, env, stdin, seen));
  const wantsLog = env.CROSSCNI_LOG_FILE || env.CROSSCNI_LOG_LEVEL || seen.doc?.logFile || seen.doc?.logLevel;
  if (seen.command && seen.command !== 'VERSION' && wantsLog) {
    const { logInvocation, logSettings } = await import('./log.ts');
    const settings = logSettings(env, seen.doc);
    if (settings) {
      const error =
        output.exitCode !== 0 ? (JSON.parse(output.stdout) as { code?: number; msg?: string }) : {};
      logInvocation(
        settings,
        {
          plugin: typeof seen.doc?.type === 'string' ? seen.doc.type : undefined,
          command: seen.command,
          containerId: env.CNI_CONTAINERID,
          network: typeof seen.doc?.name === 'string' ? seen.doc.name : undefined,
          ifname: env.CNI_IFNAME,
          netns: env.CNI_NETNS,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          exitCode: output.exitCode,
          code: error.code,
          msg: error.msg,
        },
        options.stderr,
      );
    }
  }
  return output;
}

/** What the command got as far as reading, for the log. */
interface Seen {
  command?: CniCommand;
  doc?: JsonObject;
}

async function runCommand(
  loadPlugin: () => Promise<CniPlugin>,
  env: Environment,
  stdin: Uint8Array,
  seen: Seen,
): Promise<PluginOutput> {
  let errorVersion = versionForErrors(stdin);
  let command: CniCommand;
  try {
    command = readCommand(env);
    seen.command = command;
  } catch (e) {
    return errorOutput(e, errorVersion);
  }
  if (command === 'VERSION') return versionAnswer(stdin);
  try {
    // Loaded lazily so that VERSION, and errors found before this point, cost no module loads.
    const [{ decodeJsonObject }, { parseNetConf }, { checkCniArgs }] = await Promise.all([
      import('./input.ts'),
      import('./config.ts'),
      import('./args.ts'),
    ]);
    const invocation = readInvocation(env, command);
    const doc = decodeJsonObject(stdin, 'network configuration on stdin');
    seen.doc = doc;
    // Decoded, the top-level cniVersion is known for sure (the text scan may have met a prevResult's).
    errorVersion =
      typeof doc.cniVersion === 'string' && isSupportedVersion(doc.cniVersion)
        ? doc.cniVersion
        : CURRENT_VERSION;
    const config = parseNetConf(doc);
    const minimum = MINIMUM_VERSION[command];
    if (minimum && !versionAtLeast(config.cniVersion, minimum)) {
      throw new CniError(
        ErrorCode.IncompatibleVersion,
        `config version ${config.cniVersion} does not allow ${command}`,
        `${command} needs cniVersion ${minimum} or later`,
      );
    }
    const plugin = await loadPlugin();
    checkCniArgs(invocation.args, plugin.knownArgs ?? []);
    const ctx: CommandContext = { ...invocation, config, stdin };
    switch (command) {
      case 'ADD': {
        const result = await plugin.add(ctx);
        return answer(convertResult(result, config.cniVersion));
      }
      case 'DEL':
        await plugin.del(ctx);
        return { stdout: '', exitCode: 0 };
      case 'CHECK':
        await plugin.check(ctx);
        return { stdout: '', exitCode: 0 };
      case 'STATUS':
        await plugin.status?.(ctx);
        return { stdout: '', exitCode: 0 };
      case 'GC':
        await plugin.gc?.(ctx);
        return { stdout: '', exitCode: 0 };
    }
  } catch (e) {
    return errorOutput(e, errorVersion);
  }
}
