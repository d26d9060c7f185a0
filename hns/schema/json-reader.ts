/**
 * Reading HNS's JSON answers into typed values at the edge: each reader checks one field's type
 * and names the field's path when it is wrong (HcnResponseError). Members not asked for are
 * ignored, so newer HNS versions that add keys still parse. Readers must not coerce (a string
 * "6" is not the number 6) nor default a missing required field.
 */
import { HcnResponseError } from '../errors.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON.parse for an HNS answer; malformed text is a response error naming `path`. */
export function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HcnResponseError(path, `not valid JSON (${(e as Error).message})`);
  }
}

export function readObject(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) throw new HcnResponseError(path, `expected an object, got ${describe(value)}`);
  return value;
}

export function optString(obj: JsonObject, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    throw new HcnResponseError(`${path}.${key}`, `expected a string, got ${describe(v)}`);
  return v;
}

export function reqString(obj: JsonObject, key: string, path: string): string {
  const v = optString(obj, key, path);
  if (v === undefined) throw new HcnResponseError(`${path}.${key}`, 'missing');
  return v;
}

export interface NumberRange {
  min?: number;
  max?: number;
}

/** Integers only: every number in HCN's schema v2 is an integer (ports, flags, metrics). */
export function optInteger(
  obj: JsonObject,
  key: string,
  path: string,
  range: NumberRange = {},
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new HcnResponseError(`${path}.${key}`, `expected an integer, got ${describe(v)}`);
  }
  if ((range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max)) {
    throw new HcnResponseError(
      `${path}.${key}`,
      `${v} is out of range [${range.min ?? ''}, ${range.max ?? ''}]`,
    );
  }
  return v;
}

export function optBoolean(obj: JsonObject, key: string, path: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean')
    throw new HcnResponseError(`${path}.${key}`, `expected a boolean, got ${describe(v)}`);
  return v;
}

/** An optional array whose elements `each` reads; HNS writes an empty list as [] or null. */
export function optArray<T>(
  obj: JsonObject,
  key: string,
  path: string,
  each: (value: unknown, path: string) => T,
): T[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v))
    throw new HcnResponseError(`${path}.${key}`, `expected an array, got ${describe(v)}`);
  return v.map((item, i) => each(item, `${path}.${key}[${i}]`));
}

export function optObject<T>(
  obj: JsonObject,
  key: string,
  path: string,
  read: (value: JsonObject, path: string) => T,
): T | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  return read(readObject(v, `${path}.${key}`), `${path}.${key}`);
}

export function readStringItem(value: unknown, path: string): string {
  if (typeof value !== 'string')
    throw new HcnResponseError(path, `expected a string, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
