/**
 * Network configuration as the runtime sees it: parsing a network list (`.conflist`) or a single
 * plugin configuration (`.conf`, `.json`) from bytes, and lifting a single configuration to a
 * one-plugin list, with libcni's rules (libcni/conf.go: NetworkConfFromBytes,
 * NetworkPluginConfFromBytes, ConfListFromConf). Every error names the file. This module reads
 * no files and runs no plugins.
 */
import { ErrorCode } from '../plugins/sdk/errors.ts';
import { isJsonObject } from '../plugins/sdk/fields.ts';
import { decodeJsonObject, type JsonObject } from '../plugins/sdk/input.ts';
import { pluginTypeProblem, validateNetworkName } from '../plugins/sdk/names.ts';
import {
  type CniVersion,
  compareVersions,
  DEFAULT_VERSION,
  isSupportedVersion,
  SUPPORTED_VERSIONS,
} from '../plugins/sdk/version.ts';
import { ConfigFileError } from './errors.ts';
import { goMarshal } from './go-json.ts';

/** One plugin of a list, as configured. */
export interface PluginConfig {
  /** The executable's name, checked to be a name and not a path. */
  type: string;
  /** Capability names the plugin declares with `true` (`capabilities` key). */
  capabilities: readonly string[];
  /** The plugin object exactly as configured; the runtime injects into a copy of it. */
  raw: Readonly<JsonObject>;
  /** Where it was defined, for messages: a file, with the plugin's index when in a list. */
  source: string;
}

export interface NetworkConfigList {
  name: string;
  /** The version every plugin is called with (the highest supported of cniVersion/cniVersions). */
  cniVersion: CniVersion;
  disableCheck: boolean;
  disableGC: boolean;
  /** 1.1: when false, plugins in `<conf dir>/<name>/*.conf` are appended to the list. */
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The bytes libcni caches with each attachment: the file, or the lifted list for a `.conf`. */
  bytes: Uint8Array;
  /** The file it was read from, when it was read from one. */
  file?: string;
}

function decode(bytes: Uint8Array, source: string, what: string): JsonObject {
  try {
    return decodeJsonObject(bytes, what);
  } catch (e) {
    const error = e as { code: number; msg: string; details?: string };
    throw new ConfigFileError(error.code, source, error.msg, error.details);
  }
}

function invalid(source: string, problem: string, details?: string): never {
  throw new ConfigFileError(ErrorCode.InvalidConfig, source, problem, details);
}

function readName(doc: JsonObject, source: string): string {
  if (doc.name === undefined) invalid(source, '"name" is missing');
  if (typeof doc.name !== 'string') invalid(source, '"name" must be a string');
  try {
    validateNetworkName(doc.name);
  } catch (e) {
    const error = e as { msg: string; details?: string };
    invalid(source, error.msg, error.details);
  }
  return doc.name;
}

/** libcni accepts true/false and the strings "true"/"false" (any case) for list switches. */
function readSwitch(doc: JsonObject, key: string, source: string): boolean {
  const value = doc[key];
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && ['true', 'false'].includes(value.toLowerCase())) {
    return value.toLowerCase() === 'true';
  }
  return invalid(source, `"${key}" must be true or false`, `got ${JSON.stringify(value)}`);
}

/**
 * The list's version: `cniVersion`, or with 1.1's `cniVersions` the highest of both that this
 * runtime supports (libcni skips versions newer than its own; we also skip ones we cannot speak).
 */
function readListVersion(doc: JsonObject, source: string): CniVersion {
  const declared = doc.cniVersion;
  if (declared !== undefined && declared !== null && typeof declared !== 'string') {
    invalid(source, '"cniVersion" must be a string');
  }
  const candidates: string[] = declared ? [declared] : [];
  const versions = doc.cniVersions;
  if (versions !== undefined && versions !== null) {
    if (!Array.isArray(versions)) invalid(source, '"cniVersions" must be an array of version strings');
    versions.forEach((v, i) => {
      if (typeof v !== 'string' || !/^\d+\.\d+\.\d+$/.test(v)) {
        invalid(source, `"cniVersions[${i}]" is not a version such as "1.1.0"`, JSON.stringify(v));
      }
      candidates.push(v);
    });
  }
  if (candidates.length === 0) return DEFAULT_VERSION;
  const usable = candidates.filter(isSupportedVersion).sort(compareVersions);
  const chosen = usable[usable.length - 1];
  if (!chosen) unsupportedVersion(source, candidates);
  return chosen;
}

function unsupportedVersion(source: string, versions: readonly string[]): never {
  const problem =
    versions.length === 1
      ? `cniVersion "${versions[0]}" is not supported`
      : `none of the versions ${versions.map((v) => `"${v}"`).join(', ')} is supported`;
  throw new ConfigFileError(
    ErrorCode.IncompatibleVersion,
    source,
    problem,
    `this runtime speaks ${SUPPORTED_VERSIONS.join(', ')}`,
  );
}

/** Parse one plugin object (of a list, or a whole `.conf`). */
export function parsePluginConfig(value: unknown, source: string): PluginConfig {
  if (!isJsonObject(value)) invalid(source, 'a plugin configuration must be a JSON object');
  const type = value.type;
  if (type === undefined || type === null || type === '') {
    invalid(source, '"type" is missing', 'each plugin needs the name of its executable in "type"');
  }
  if (typeof type !== 'string') invalid(source, '"type" must be a string');
  const problem = pluginTypeProblem(type);
  if (problem) invalid(source, `"type" ${problem}`, JSON.stringify(type));
  if (value.name !== undefined && value.name !== null && typeof value.name !== 'string') {
    invalid(source, '"name" must be a string');
  }
  const capabilities: string[] = [];
  const declared = value.capabilities;
  if (declared !== undefined && declared !== null) {
    if (!isJsonObject(declared)) invalid(source, '"capabilities" must be an object of true/false values');
    for (const [name, enabled] of Object.entries(declared)) {
      if (typeof enabled !== 'boolean') invalid(source, `"capabilities.${name}" must be true or false`);
      if (enabled) capabilities.push(name);
    }
  }
  const ipam = value.ipam;
  if (ipam !== undefined && ipam !== null) {
    if (!isJsonObject(ipam)) invalid(source, '"ipam" must be an object');
    if (ipam.type !== undefined && typeof ipam.type !== 'string')
      invalid(source, '"ipam.type" must be a string');
  }
  return { type, capabilities, raw: value, source };
}

/**
 * Parse a network list. `plugins` may be absent when the list loads its plugins from a
 * directory (loadOnlyInlinedPlugins false); the loader checks that the list ends up non-empty.
 */
export function parseNetworkList(bytes: Uint8Array, source: string): NetworkConfigList {
  const doc = decode(bytes, source, 'network configuration list');
  const name = readName(doc, source);
  const cniVersion = readListVersion(doc, source);
  const list: NetworkConfigList = {
    name,
    cniVersion,
    disableCheck: readSwitch(doc, 'disableCheck', source),
    disableGC: readSwitch(doc, 'disableGC', source),
    loadOnlyInlinedPlugins: readSwitch(doc, 'loadOnlyInlinedPlugins', source),
    plugins: [],
    bytes,
  };
  const plugins = doc.plugins;
  if (plugins === undefined || plugins === null) {
    if (list.loadOnlyInlinedPlugins) {
      invalid(source, '"loadOnlyInlinedPlugins" is true but there is no "plugins" list');
    }
    return list;
  }
  if (!Array.isArray(plugins)) invalid(source, '"plugins" must be an array of plugin configurations');
  if (plugins.length === 0) invalid(source, '"plugins" is empty', 'a network needs at least one plugin');
  list.plugins = plugins.map((p, i) => parsePluginConfig(p, `${source} plugins[${i}]`));
  return list;
}

/**
 * Parse a single plugin configuration file and lift it to a one-plugin list with the file's
 * name and cniVersion. The list's bytes are what libcni's ConfListFromConf marshals (and so
 * caches): {"cniVersion","name","plugins":[the config]} with sorted keys.
 */
export function parseSingleConfig(bytes: Uint8Array, source: string): NetworkConfigList {
  const doc = decode(bytes, source, 'network configuration');
  if (doc.type === undefined && doc.plugins !== undefined) {
    invalid(source, 'holds a network list ("plugins"), which libcni reads only from .conflist files');
  }
  const plugin = parsePluginConfig(doc, source);
  const name = readName(doc, source);
  const declared = doc.cniVersion;
  if (declared !== undefined && declared !== null && typeof declared !== 'string') {
    invalid(source, '"cniVersion" must be a string');
  }
  const version = declared || DEFAULT_VERSION;
  if (!isSupportedVersion(version)) unsupportedVersion(source, [version]);
  const lifted = goMarshal({ cniVersion: declared ?? '', name, plugins: [doc] });
  return {
    name,
    cniVersion: version,
    disableCheck: false,
    disableGC: false,
    loadOnlyInlinedPlugins: true,
    plugins: [plugin],
    bytes: Buffer.from(lifted),
  };
}
