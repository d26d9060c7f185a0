/**
 * GUIDs as HCN spells and takes them: text "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" (HNS answers
 * in upper case; callers may use either case or braces) and the Windows GUID struct
 * {Data1 uint32, Data2 uint16, Data3 uint16, Data4 uint8[8]} that REFGUID points at. Pure
 * conversion; it must not generate IDs (HCN chooses them when given the zero GUID).
 */

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/** The GUID struct's fields, in the shape koffi marshals into the C struct. */
export interface GuidFields {
  Data1: number;
  Data2: number;
  Data3: number;
  Data4: number[];
}

const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** HCN's spelling of `text` (upper case, no braces), or undefined when it is not a GUID. */
export function normalizeGuid(text: string): string | undefined {
  const m = GUID_TEXT.exec(text);
  if (!m || text.startsWith('{') !== text.endsWith('}')) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toUpperCase();
}

export function isGuid(text: string): boolean {
  return normalizeGuid(text) !== undefined;
}

/** Whether two GUID texts name the same object (HNS is case-insensitive about them). */
export function sameGuid(a: string, b: string): boolean {
  const x = normalizeGuid(a);
  return x !== undefined && x === normalizeGuid(b);
}

/** The struct for `text`; the text's byte order is the struct's field order (Data1 first). */
export function guidToFields(text: string): GuidFields {
  const norm = normalizeGuid(text);
  if (!norm) throw new TypeError(`not a GUID: ${JSON.stringify(text)}`);
  const hex = norm.replaceAll('-', '');
  const data4: number[] = [];
  for (let i = 16; i < 32; i += 2) data4.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return {
    Data1: Number.parseInt(hex.slice(0, 8), 16),
    Data2: Number.parseInt(hex.slice(8, 12), 16),
    Data3: Number.parseInt(hex.slice(12, 16), 16),
    Data4: data4,
  };
}

export function fieldsToGuid(fields: GuidFields): string {
  const h = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
  const d4 = fields.Data4.map((b) => h(b, 2)).join('');
  return `${h(fields.Data1, 8)}-${h(fields.Data2, 4)}-${h(fields.Data3, 4)}-${d4.slice(0, 4)}-${d4.slice(4)}`;
}
