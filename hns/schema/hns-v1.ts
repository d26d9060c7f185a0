/**
 * The few HNS v1 and HCS documents crosscni needs besides the v2 schema: the HCS modify request
 * that hot-attaches or detaches an endpoint to a container (hcsshim's
 * ResourceModificationRequestResponse, whose Go fields Resource/Request/Data are sent as
 * "ResourceType"/"RequestType"/"Settings"), and readers for two HNS v1 answers' Output: an
 * endpoint's SharedContainers (hcsshim's IsAttached) and GET /globals/version (hcsshim's
 * GetHNSGlobals). The rest of a v1 endpoint is not read: the v2 schema describes endpoints.
 */
import { HcnResponseError } from '../errors.ts';
import { normalizeGuid } from '../guid.ts';
import { type JsonObject, optArray, optInteger, readObject, readStringItem } from './json-reader.ts';

export interface ContainerNetworkRequest {
  ResourceType: 'Network';
  RequestType: 'Add' | 'Remove';
  /** The HNS endpoint's ID. */
  Settings: string;
}

export function containerNetworkRequest(
  request: 'Add' | 'Remove',
  endpointId: string,
): ContainerNetworkRequest {
  const id = normalizeGuid(endpointId);
  if (!id) throw new TypeError(`not an endpoint GUID: ${JSON.stringify(endpointId)}`);
  return { ResourceType: 'Network', RequestType: request, Settings: id };
}

/** The container IDs an HNS v1 endpoint answer lists as attached (absent: none). */
export function readSharedContainers(value: unknown, path: string): string[] {
  const endpoint: JsonObject = readObject(value, path);
  return optArray(endpoint, 'SharedContainers', path, readStringItem) ?? [];
}

export interface HnsVersion {
  Major: number;
  Minor: number;
}

export function readHnsVersion(value: unknown, path: string): HnsVersion {
  const version = readObject(value, path);
  const major = optInteger(version, 'Major', path, { min: 0 });
  if (major === undefined) throw new HcnResponseError(`${path}.Major`, 'is missing');
  return { Major: major, Minor: optInteger(version, 'Minor', path, { min: 0 }) ?? 0 };
}

/** True when `have` is at least `need` (hcsshim's hcn version checks compare Major, then Minor). */
export function atLeast(have: HnsVersion, need: HnsVersion): boolean {
  return have.Major > need.Major || (have.Major === need.Major && have.Minor >= need.Minor);
}
