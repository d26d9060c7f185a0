/**
 * The HostComputeNamespace document of HCN schema v2 (hcn.md): ID, NamespaceId (the compartment
 * number), Type, Resources, SchemaVersion, ReadyOnCreate. A builder for the create document and
 * a parser of HNS's answer. Which HNS versions want ReadyOnCreate (15.2 and later, per hcsshim)
 * is the caller's decision, not this module's.
 */
import { HcnResponseError } from '../errors.ts';
import { optArray, optBoolean, optInteger, optString, readObject, reqString } from './json-reader.ts';
import { type SchemaVersion, readSchemaVersion, schemaV2 } from './version.ts';

export type NamespaceType = 'Host' | 'HostDefault' | 'Guest' | 'GuestDefault';

export interface NamespaceResource {
  /** "Container" or "Endpoint". */
  Type: string;
  Data: { ID: string };
}

export interface HostComputeNamespace {
  ID?: string;
  NamespaceId?: number;
  Type?: NamespaceType;
  Resources?: NamespaceResource[];
  SchemaVersion?: SchemaVersion;
  ReadyOnCreate?: boolean;
}

export type HcnNamespace = HostComputeNamespace & { ID: string };

export interface NamespaceInput {
  /** Default Host: a process-isolated container's compartment on this host. */
  type?: NamespaceType;
  readyOnCreate?: boolean;
}

export function buildNamespace(input: NamespaceInput = {}): HostComputeNamespace {
  return {
    Type: input.type ?? 'Host',
    SchemaVersion: schemaV2(),
    ReadyOnCreate: input.readyOnCreate || undefined,
  };
}

const NAMESPACE_TYPES: readonly NamespaceType[] = ['Host', 'HostDefault', 'Guest', 'GuestDefault'];

function parseResource(value: unknown, path: string): NamespaceResource {
  const obj = readObject(value, path);
  const data = readObject(obj.Data, `${path}.Data`);
  // hcsshim reads the resource ID as "ID"; accept "Id" too, as HNS v1 spelled it.
  const id = optString(data, 'ID', `${path}.Data`) ?? optString(data, 'Id', `${path}.Data`);
  if (id === undefined) throw new HcnResponseError(`${path}.Data.ID`, 'missing');
  return { Type: reqString(obj, 'Type', path), Data: { ID: id } };
}

export function parseNamespace(value: unknown, path = 'namespace'): HcnNamespace {
  const obj = readObject(value, path);
  const type = optString(obj, 'Type', path);
  return {
    ID: reqString(obj, 'ID', path),
    NamespaceId: optInteger(obj, 'NamespaceId', path, { min: 0 }),
    Type: NAMESPACE_TYPES.find((t) => t === type),
    Resources: optArray(obj, 'Resources', path, parseResource),
    SchemaVersion: readSchemaVersion(obj, path),
    ReadyOnCreate: optBoolean(obj, 'ReadyOnCreate', path),
  };
}

/** IDs of the endpoints attached to the namespace. */
export function namespaceEndpointIds(namespace: HostComputeNamespace): string[] {
  return (namespace.Resources ?? []).filter((r) => r.Type === 'Endpoint').map((r) => r.Data.ID);
}
