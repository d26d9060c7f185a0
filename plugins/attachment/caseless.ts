/**
 * Case-insensitive key lookup for config dialects written for Go plugins. Go's encoding/json
 * matches object keys to struct fields ignoring case, so configs written for
 * microsoft/windows-container-networking spell the same key "AdditionalArgs" or
 * "additionalArgs", "GW" or "gw", "Exceptions" or "exceptions", and all of them work there.
 * These helpers find such keys whatever their case and hand back typed `Fields`, so the
 * message of a wrong type still names the key (with its canonical spelling). Pure.
 */
import { Fields } from '../sdk/fields.ts';
import type { JsonObject } from '../sdk/input.ts';

/** The value of `key` in `obj`, matched exactly first and then ignoring case (as Go does). */
export function caselessValue(obj: JsonObject, key: string): unknown {
  if (obj[key] !== undefined) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

/** Whether `obj` has `key` in any case (with a non-null value). */
export function hasCaseless(obj: JsonObject, key: string): boolean {
  const v = caselessValue(obj, key);
  return v !== undefined && v !== null;
}

/**
 * `Fields` over the keys of `fields` named in `keys`, found ignoring case and stored under the
 * canonical spelling given; other keys are left out. Messages keep the original path.
 */
export function caselessFields(fields: Fields, keys: readonly string[]): Fields {
  const normalised: JsonObject = {};
  for (const key of keys) {
    const v = caselessValue(fields.obj, key);
    if (v !== undefined) normalised[key] = v;
  }
  return new Fields(normalised, fields.path);
}
