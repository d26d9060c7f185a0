/**
 * Operational log of plugin invocations: one JSON line per command with the container id,
 * network, command, outcome and duration. Written only where the operator asks for it
 * (config `logFile`/`logLevel`, or CROSSCNI_LOG_FILE / CROSSCNI_LOG_LEVEL, which win), never
 * to stdout (the protocol's), and capped in size by rotating to `<file>.1`. Logging must
 * never make a command fail, so every error here is swallowed.
 */
import { appendFileSync, renameSync, statSync } from 'node:fs';
import type { Environment } from './env.ts';
import type { JsonObject } from './input.ts';

export type LogLevel = 'error' | 'info' | 'debug';
const LEVELS: Record<LogLevel, number> = { error: 0, info: 1, debug: 2 };
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;

export interface LogSettings {
  /** Absolute path; absent means stderr. */
  file?: string;
  level: LogLevel;
  maxBytes: number;
}

function asLevel(value: unknown): LogLevel | undefined {
  return typeof value === 'string' && value in LEVELS ? (value as LogLevel) : undefined;
}

/** Where and how much to log, or undefined when nothing was asked for. */
export function logSettings(env: Environment, doc: JsonObject | undefined): LogSettings | undefined {
  const file = env.CROSSCNI_LOG_FILE || (typeof doc?.logFile === 'string' ? doc.logFile : undefined);
  const level = asLevel(env.CROSSCNI_LOG_LEVEL) ?? asLevel(doc?.logLevel);
  if (!file && !level) return undefined;
  const maxBytes =
    typeof doc?.logMaxBytes === 'number' && doc.logMaxBytes > 0 ? doc.logMaxBytes : DEFAULT_LOG_MAX_BYTES;
  const settings: LogSettings = { level: level ?? 'info', maxBytes };
  if (file) settings.file = file;
  return settings;
}

export interface InvocationRecord {
  plugin?: string;
  command: string;
  containerId?: string;
  network?: string;
  ifname?: string;
  netns?: string;
  durationMs: number;
  exitCode: number;
  code?: number;
  msg?: string;
}

/** `writeStderr` receives the line when no log file is set: the invocation's stderr. */
export function logInvocation(
  settings: LogSettings | undefined,
  record: InvocationRecord,
  writeStderr: (text: string) => void = (text) => process.stderr.write(text),
): void {
  if (!settings) return;
  const level: LogLevel = record.exitCode === 0 ? 'info' : 'error';
  if (LEVELS[level] > LEVELS[settings.level]) return;
  const line = `${JSON.stringify({ time: new Date().toISOString(), level, ...record })}\n`;
  try {
    if (!settings.file) {
      writeStderr(line);
      return;
    }
    try {
      if (statSync(settings.file).size + line.length > settings.maxBytes) {
        renameSync(settings.file, `${settings.file}.1`);
      }
    } catch {
      // no file yet
    }
    appendFileSync(settings.file, line, { mode: 0o600 });
  } catch {
    // A log that cannot be written must not fail the command.
  }
}
