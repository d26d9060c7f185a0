/**
 * JSON text the way Go's encoding/json writes it for values decoded into map[string]any: object
 * keys sorted, no white space, and "<", ">", "&", U+2028, U+2029 escaped. libcni re-marshals every
 * plugin config through such maps (InjectConf, ConfListFromConf), so plugins, cache files and
 * lifted configs come out byte-for-byte as a Go runtime would write them. This module only
 * formats; it never validates or reads input.
 */

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

export function goQuote(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

/** Marshal `value` with sorted object keys at every level. `undefined` members are left out. */
export function goMarshal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(goMarshal).join(',')}]`;
  if (value instanceof Uint8Array) return goQuote(Buffer.from(value).toString('base64'));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return goMarshalStruct(entries);
  }
  return 'null';
}

/**
 * Marshal an object whose members keep the given order, as Go writes a struct (field order),
 * with each member's value marshalled by `goMarshal`.
 */
export function goMarshalStruct(members: ReadonlyArray<readonly [string, unknown]>): string {
  const parts = members.filter(([, v]) => v !== undefined).map(([k, v]) => `${goQuote(k)}:${goMarshal(v)}`);
  return `{${parts.join(',')}}`;
}
