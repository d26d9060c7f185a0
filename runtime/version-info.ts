/**
 * Reading a plugin's VERSION answer as libcni's version.PluginDecoder does: `cniVersion` is
 * required; `supportedVersions` is required too, except that a 0.2.0 answer without it means
 * "0.1.0 and 0.2.0". A plugin too old to know VERSION supports 0.1.0. Pure decoding.
 */
import { CniError, ErrorCode } from '../plugins/sdk/errors.ts';
import type { JsonObject } from '../plugins/sdk/input.ts';

export interface PluginInfo {
  /** The version the plugin answered in. */
  cniVersion: string;
  supportedVersions: string[];
}

export function decodeVersionInfo(doc: JsonObject | undefined, plugin: string): PluginInfo {
  const problem = (what: string) =>
    new CniError(ErrorCode.DecodingFailure, `plugin ${plugin}: VERSION answer ${what}`);
  if (!doc) throw problem('is empty');
  const cniVersion = doc.cniVersion;
  if (typeof cniVersion !== 'string' || cniVersion === '') throw problem('has no "cniVersion"');
  const supported = doc.supportedVersions;
  if (supported === undefined || supported === null || (Array.isArray(supported) && supported.length === 0)) {
    if (cniVersion === '0.2.0') return { cniVersion, supportedVersions: ['0.1.0', '0.2.0'] };
    throw problem('has no "supportedVersions"');
  }
  if (!Array.isArray(supported) || supported.some((v) => typeof v !== 'string')) {
    throw problem('has a "supportedVersions" that is not a list of strings');
  }
  return { cniVersion, supportedVersions: supported as string[] };
}

/** libcni's answer for plugins that reject the VERSION command itself. */
export const LEGACY_PLUGIN_INFO: PluginInfo = { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] };
