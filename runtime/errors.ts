/**
 * The runtime side's errors. All are CniErrors (so a caller can print any of them as the spec's
 * error document and test `code`), with fields saying which file, network or plugin was involved.
 * They keep CniError's `name` (the SDK types it as a literal); tell them apart with instanceof.
 * This module holds no logic beyond composing messages.
 */
import { CniError, ErrorCode, type ErrorCodeValue } from '../plugins/sdk/errors.ts';

/** A configuration file that cannot be read or is not a valid network configuration. */
export class ConfigFileError extends CniError {
  readonly file: string;

  constructor(code: ErrorCodeValue, file: string, problem: string, details?: string) {
    super(code, `${file}: ${problem}`, details);
    this.file = file;
  }
}

/** No configuration in `dir` defines the network `network`. */
export class NetworkNotFoundError extends CniError {
  readonly dir: string;
  readonly network: string;

  constructor(dir: string, network: string, detail: string) {
    super(ErrorCode.InvalidConfig, `no network configuration named "${network}" in ${dir}`, detail);
    this.dir = dir;
    this.network = network;
  }
}

export type RuntimeCommand = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS' | 'VERSION';

/**
 * A plugin of a list failed. Keeps the plugin's own code and details and says which plugin of
 * which network failed on which command, as libcni's "plugin type=... failed (add)" does.
 */
export class PluginFailedError extends CniError {
  /** "" for VERSION, which is asked of a plugin rather than of a network. */
  readonly network: string;
  readonly pluginType: string;
  readonly command: RuntimeCommand;
  /** The error the plugin (or finding/starting it) produced. */
  readonly pluginError: CniError;

  constructor(network: string, pluginType: string, command: RuntimeCommand, pluginError: CniError) {
    super(
      pluginError.code,
      `${network ? `network "${network}": ` : ''}plugin type="${pluginType}" failed (${command}): ${pluginError.msg}`,
      pluginError.details,
      { cause: pluginError },
    );
    this.network = network;
    this.pluginType = pluginType;
    this.command = command;
    this.pluginError = pluginError;
  }
}

/** The result cache could not be written, or an entry in it could not be read. */
export class ResultCacheError extends CniError {
  readonly file: string;

  constructor(code: ErrorCodeValue, file: string, problem: string, details?: string) {
    super(code, `result cache ${file}: ${problem}`, details);
    this.file = file;
  }
}

/** GC goes on after a failure (as libcni does); every failure is kept here. */
export class GarbageCollectionError extends CniError {
  readonly network: string;
  readonly failures: readonly CniError[];

  constructor(network: string, failures: readonly CniError[]) {
    const first = failures[0];
    super(
      first?.code ?? ErrorCode.IoFailure,
      `network "${network}": garbage collection had ${failures.length} failure(s)`,
      failures.map((f) => f.message).join('; '),
    );
    this.network = network;
    this.failures = failures;
  }
}
