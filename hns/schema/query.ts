/**
 * The query document HCN's enumerate and query calls take (hcn.md): {SchemaVersion, Flags,
 * Filter}, where Filter is a JSON object serialised to a *string*. Builds it from a typed filter
 * and reads HCN's enumerate answer (a JSON array of GUID strings). It must not decide what to
 * look for; the client does.
 */
import { HcnResponseError } from '../errors.ts';
import { normalizeGuid } from '../guid.ts';
import { parseJsonText } from './json-reader.ts';
import { type SchemaVersion, schemaV2 } from './version.ts';

/** HostComputeQuery.Flags: Detailed asks HNS for extra runtime detail (hcsshim). */
export const QUERY_FLAGS = { None: 0, Detailed: 1 } as const;

export interface HostComputeQuery {
  SchemaVersion: SchemaVersion;
  Flags: number;
  Filter?: string;
}

export interface QueryFilter {
  id?: string;
  name?: string;
  /** Endpoints on this network (HNS's key is "VirtualNetwork", as hcsshim sends it). */
  networkId?: string;
}

/** Filter keys in a fixed order, so the same filter always serialises to the same text. */
export function buildQuery(filter: QueryFilter = {}, flags: number = QUERY_FLAGS.None): HostComputeQuery {
  const keys: Record<string, string> = {};
  if (filter.id !== undefined) keys.ID = filter.id;
  if (filter.name !== undefined) keys.Name = filter.name;
  if (filter.networkId !== undefined) keys.VirtualNetwork = filter.networkId;
  const query: HostComputeQuery = { SchemaVersion: schemaV2(), Flags: flags };
  if (Object.keys(keys).length > 0) query.Filter = JSON.stringify(keys);
  return query;
}

/** HCN's enumerate answer: the IDs, in HCN's spelling. */
export function parseIdList(text: string, path: string): string[] {
  const value = text.trim() === '' ? [] : parseJsonText(text, path);
  if (!Array.isArray(value)) throw new HcnResponseError(path, 'expected a JSON array of GUIDs');
  return value.map((item, i) => {
    const id = typeof item === 'string' ? normalizeGuid(item) : undefined;
    if (!id) throw new HcnResponseError(`${path}[${i}]`, `not a GUID: ${JSON.stringify(item)}`);
    return id;
  });
}
