/**
 * `crosscni plugins [BIN-DIR]`: the executables of a plugin directory and what each answers to
 * VERSION, so an operator can see at a glance what a CNI_PATH directory offers. Runs only the
 * VERSION command, a few plugins at a time; never runs the crosscni CLI itself.
 */
import { accessSync, constants, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from '../plugins/sdk/env.ts';
import { CniError, ErrorCode } from '../plugins/sdk/errors.ts';
import { CniRuntime } from './cni-runtime.ts';
import type { PluginInfo } from './version-info.ts';

export interface PluginListing {
  /** The plugin's type: its file name (without .exe on Windows). */
  type: string;
  file: string;
  info?: PluginInfo;
  /** Why VERSION gave no usable answer. */
  error?: string;
}

const CONCURRENCY = 4;
const VERSION_TIMEOUT_MS = 15_000;

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    if (process.platform === 'win32') return file.toLowerCase().endsWith('.exe');
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string | undefined): boolean {
  if (!b) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Executables in `dir`, sorted by name, leaving out `self` (the running CLI). */
export function pluginExecutables(dir: string, self?: string): Array<{ type: string; file: string }> {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot list plugin directory ${dir}`, (e as Error).message);
  }
  return names
    .map((name) => ({ type: name.replace(/\.exe$/i, ''), file: join(dir, name) }))
    .filter(({ file }) => isExecutableFile(file) && !sameFile(file, self));
}

export async function listPlugins(dir: string, env: Environment, self?: string): Promise<PluginListing[]> {
  const runtime = new CniRuntime({ pluginDirs: [dir], env, timeoutMs: VERSION_TIMEOUT_MS });
  const found = pluginExecutables(dir, self);
  const listings: PluginListing[] = [];
  for (let i = 0; i < found.length; i += CONCURRENCY) {
    const batch = found.slice(i, i + CONCURRENCY);
    listings.push(
      ...(await Promise.all(
        batch.map(async ({ type, file }): Promise<PluginListing> => {
          try {
            return { type, file, info: await runtime.getVersionInfo(type) };
          } catch (e) {
            return { type, file, error: e instanceof CniError ? e.message : String(e) };
          }
        }),
      )),
    );
  }
  return listings;
}

export function formatPluginTable(dir: string, listings: readonly PluginListing[]): string {
  if (listings.length === 0) return `no plugin executables in ${dir}\n`;
  const width = Math.max(6, ...listings.map((l) => l.type.length)) + 2;
  const rows = listings.map((l) => {
    const answer = l.info
      ? l.info.supportedVersions.join(' ')
      : `not a CNI plugin? VERSION failed: ${l.error}`;
    return `${l.type.padEnd(width)}${answer}`;
  });
  return `${'PLUGIN'.padEnd(width)}CNI VERSIONS\n${rows.join('\n')}\n`;
}
