/**
 * Validation of the free strings that others choose and that this suite uses as file names,
 * device names and rule comments: container ids, network names, interface names, plugin
 * types. Same rules as the reference library (pkg/utils/utils.go), so a name accepted by one
 * suite is accepted by the other.
 */
import { CniError, ErrorCode } from './errors.ts';

/** Container ids and network names: start alphanumeric, then alphanumerics, "_", "." or "-". */
const SAFE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME_BYTES = 15;

export function validateContainerId(id: string): void {
  if (id === '') throw new CniError(ErrorCode.UnknownContainer, 'CNI_CONTAINERID is empty');
  if (id.length > 1024 || !SAFE_NAME.test(id)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      'CNI_CONTAINERID has characters outside [a-zA-Z0-9_.-] or does not start with a letter or digit',
      truncate(id),
    );
  }
}

export function validateNetworkName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidConfig, 'invalid network config: "name" is required');
  if (name.length > 1024 || !SAFE_NAME.test(name)) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      'invalid network config: "name" may only hold [a-zA-Z0-9_.-] and must start with a letter or digit',
      truncate(name),
    );
  }
}

export function validateInterfaceName(ifname: string): void {
  const problem = interfaceNameProblem(ifname);
  if (problem) throw new CniError(ErrorCode.InvalidEnvironment, `CNI_IFNAME ${problem}`, truncate(ifname));
}

/** Why `ifname` is not a usable interface name, or undefined when it is. */
export function interfaceNameProblem(ifname: string): string | undefined {
  if (ifname === '') return 'is empty';
  if (Buffer.byteLength(ifname) > MAX_IFNAME_BYTES) return `is longer than ${MAX_IFNAME_BYTES} bytes`;
  if (ifname === '.' || ifname === '..') return 'is "." or ".."';
  if (/[/:\s]/u.test(ifname)) return 'contains "/", ":" or white space';
  return undefined;
}

/** A plugin type is an executable's name: never a path. */
export function pluginTypeProblem(type: string): string | undefined {
  if (type === '') return 'is empty';
  if (type.includes('/') || type.includes('\\')) return 'contains a path separator';
  if (type === '.' || type === '..' || type.includes('..')) return 'contains ".."';
  if (type.includes('\0')) return 'contains a NUL byte';
  return undefined;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
