/**
 * The part of every plugin's stdin that the protocol defines: cniVersion, name, type, ipam,
 * dns, args, runtimeConfig, prevResult, and GC's valid-attachment list. Plugins parse their own
 * keys from `fields`; unknown keys are ignored as the spec requires.
 */
import type { AttachmentId } from '../../platform/contract.ts';
import { CniError, ErrorCode } from './errors.ts';
import { Fields } from './fields.ts';
import type { JsonObject } from './input.ts';
import { pluginTypeProblem, validateNetworkName } from './names.ts';
import { type Result, type ResultDns, parseDns, parseResult } from './result.ts';
import { parseRuntimeConfig, type RuntimeConfig } from './runtime-config.ts';
import { type CniVersion, DEFAULT_VERSION, isSupportedVersion, SUPPORTED_VERSIONS } from './version.ts';

export interface IpamConf {
  type: string;
  /** The whole `ipam` object, for the IPAM plugin's own keys. */
  fields: Fields;
}

export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  ipam?: IpamConf;
  dns?: ResultDns;
  args?: JsonObject;
  runtimeConfig: RuntimeConfig;
  prevResult?: Result;
  /** GC only: the attachments the runtime still uses. */
  validAttachments?: AttachmentId[];
  /** Typed access to every top-level key, for the plugin's own options. */
  fields: Fields;
}

/** The config's cniVersion, validated; "" means 0.1.0 as in the reference library. */
export function readVersion(doc: JsonObject): CniVersion {
  const declared = doc.cniVersion;
  if (declared !== undefined && declared !== null && typeof declared !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, 'network configuration: "cniVersion" must be a string');
  }
  const version = declared || DEFAULT_VERSION;
  if (!isSupportedVersion(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `incompatible CNI versions: config is "${version}", plugin supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return version;
}

function parseValidAttachments(fields: Fields): AttachmentId[] | undefined {
  // libcni before 1.2 sent the list as "cni.dev/attachments", the name in early 1.1 drafts.
  const list = fields.objectArray('cni.dev/valid-attachments') ?? fields.objectArray('cni.dev/attachments');
  return list?.map((item) => ({
    containerId: item.requiredString('containerID'),
    ifname: item.requiredString('ifname'),
  }));
}

/** A plugin `type` is an executable's name; refuse paths at the edge, before any work is done. */
function pluginType(fields: Fields, key: string): string {
  const type = fields.requiredString(key);
  const problem = pluginTypeProblem(type);
  if (problem) fields.invalid(key, problem);
  return type;
}

export function parseNetConf(doc: JsonObject): NetConf {
  const cniVersion = readVersion(doc);
  const fields = new Fields(doc);
  const name = fields.string('name') ?? '';
  validateNetworkName(name);
  const type = pluginType(fields, 'type');
  const conf: NetConf = {
    cniVersion,
    name,
    type,
    runtimeConfig: parseRuntimeConfig(doc.runtimeConfig),
    fields,
  };
  // An ipam object without a type means "no IPAM" (layer-2 only), as in the reference plugins.
  const ipam = fields.object('ipam');
  const ipamType = ipam?.string('type') && pluginType(ipam, 'type');
  if (ipam && ipamType) conf.ipam = { type: ipamType, fields: ipam };
  try {
    const dns = parseDns(doc.dns);
    if (dns) conf.dns = dns;
  } catch (e) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid network config: ${(e as CniError).msg}`);
  }
  const args = fields.object('args');
  if (args) conf.args = args.obj;
  if (doc.prevResult !== undefined && doc.prevResult !== null) {
    conf.prevResult = parseResult(doc.prevResult, cniVersion);
  }
  const valid = parseValidAttachments(fields);
  if (valid) conf.validAttachments = valid;
  return conf;
}
