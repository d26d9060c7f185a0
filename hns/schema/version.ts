/**
 * The schema version every HCN v2 document carries. crosscni writes {Major:2,Minor:0} only;
 * reading accepts any 2.x because HNS answers with the minor version it implements.
 */
import { HcnResponseError } from '../errors.ts';
import { type JsonObject, optInteger, readObject } from './json-reader.ts';

export interface SchemaVersion {
  Major: number;
  Minor: number;
}

export function schemaV2(): SchemaVersion {
  return { Major: 2, Minor: 0 };
}

/** The document's SchemaVersion if it has one; a major version other than 2 is refused. */
export function readSchemaVersion(obj: JsonObject, path: string): SchemaVersion | undefined {
  const raw = obj.SchemaVersion;
  if (raw === undefined || raw === null) return undefined;
  const sv = readObject(raw, `${path}.SchemaVersion`);
  const major = optInteger(sv, 'Major', `${path}.SchemaVersion`);
  const minor = optInteger(sv, 'Minor', `${path}.SchemaVersion`) ?? 0;
  if (major !== 2)
    throw new HcnResponseError(`${path}.SchemaVersion.Major`, `expected 2, got ${String(major)}`);
  return { Major: major, Minor: minor };
}
