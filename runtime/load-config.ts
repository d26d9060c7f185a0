/**
 * Finding a network's configuration in a directory the way libcni's LoadNetworkConf does:
 * `.conflist` files first, in lexical order, then `.conf` and `.json` files in lexical order
 * (each lifted to a one-plugin list); the first whose `name` matches wins. A file that cannot be
 * read or parsed stops the search with an error naming it, as in libcni, so a broken file is
 * noticed rather than silently shadowing a network. A list may add plugins from
 * `<dir>/<network name>/*.conf` (1.1, unless loadOnlyInlinedPlugins). Reads files only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ErrorCode } from '../plugins/sdk/errors.ts';
import { decodeJsonObject } from '../plugins/sdk/input.ts';
import { ConfigFileError, NetworkNotFoundError } from './errors.ts';
import {
  type NetworkConfigList,
  type PluginConfig,
  parseNetworkList,
  parsePluginConfig,
  parseSingleConfig,
} from './network-config.ts';

const LIST_EXTENSIONS = ['.conflist'];
const SINGLE_EXTENSIONS = ['.conf', '.json'];

/** Go's filepath.Ext: the suffix from the last dot of the base name (".conflist" for ".conflist"). */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Files in `dir` with one of `extensions`, sorted by name (libcni ConfFiles + sort.Strings).
 * A missing directory holds no files; directories are skipped.
 */
export function configFiles(dir: string, extensions: readonly string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (isMissing(e)) return [];
    throw new ConfigFileError(ErrorCode.IoFailure, dir, 'cannot list the directory', (e as Error).message);
  }
  return names
    .filter((name) => extensions.includes(extensionOf(name)))
    .sort()
    .map((name) => join(dir, name))
    .filter((file) => {
      try {
        return !statSync(file).isDirectory();
      } catch {
        // A dangling link: reading it will report the problem with the file's name.
        return true;
      }
    });
}

function readConfigFile(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigFileError(ErrorCode.IoFailure, file, 'cannot read the file', (e as Error).message);
  }
}

/** Plugins a list keeps in `<dir>/<network>/*.conf`, in lexical order. */
function pluginsFromDirectory(confDir: string, network: string): PluginConfig[] {
  return configFiles(join(confDir, network), ['.conf']).map((file) =>
    parsePluginConfig(decodePluginFile(file), file),
  );
}

function decodePluginFile(file: string): unknown {
  try {
    return decodeJsonObject(readConfigFile(file), 'plugin configuration');
  } catch (e) {
    if (e instanceof ConfigFileError) throw e;
    const error = e as { code: number; msg: string; details?: string };
    throw new ConfigFileError(error.code, file, error.msg, error.details);
  }
}

/** Load one `.conflist` file, with its plugin directory unless loadOnlyInlinedPlugins. */
export function loadNetworkListFile(file: string): NetworkConfigList {
  const list = parseNetworkList(readConfigFile(file), file);
  list.file = file;
  // The network name is validated by the parser, so it is safe as a directory name here.
  if (!list.loadOnlyInlinedPlugins) list.plugins.push(...pluginsFromDirectory(dirname(file), list.name));
  if (list.plugins.length === 0) {
    throw new ConfigFileError(
      ErrorCode.InvalidConfig,
      file,
      'the network has no plugins',
      `add a "plugins" list, or plugin .conf files in ${join(dirname(file), list.name)}`,
    );
  }
  return list;
}

/** Load a single `.conf`/`.json` file as a one-plugin list. */
export function loadSingleConfigFile(file: string): NetworkConfigList {
  const list = parseSingleConfig(readConfigFile(file), file);
  list.file = file;
  return list;
}

/** The configuration of network `name` in `dir`, by libcni's search order. */
export function loadNetworkList(dir: string, name: string): NetworkConfigList {
  const seen: string[] = [];
  const lists = configFiles(dir, LIST_EXTENSIONS);
  for (const file of lists) {
    const list = loadNetworkListFile(file);
    if (list.name === name) return list;
    seen.push(`${list.name} (${basename(file)})`);
  }
  const singles = configFiles(dir, SINGLE_EXTENSIONS);
  for (const file of singles) {
    const list = loadSingleConfigFile(file);
    if (list.name === name) return list;
    seen.push(`${list.name} (${basename(file)})`);
  }
  const detail = seen.length
    ? `networks found: ${seen.join(', ')}`
    : 'the directory has no .conflist, .conf or .json files (set NETCONFPATH to the right directory)';
  throw new NetworkNotFoundError(dir, name, detail);
}
