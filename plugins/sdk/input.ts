/**
 * Decoding untrusted bytes into a JSON object with limits: size, UTF-8 validity, nesting
 * depth, and "must be an object". Used for stdin (plugin side) and for plugin output
 * (runtime side). Errors are CNI decoding failures (code 6) that say what was wrong.
 */
import { CniError, ErrorCode } from './errors.ts';
import { MAX_INPUT_BYTES, MAX_JSON_DEPTH } from './limits.ts';

export type JsonObject = Record<string, unknown>;

/** Reject nesting deeper than `limit` before JSON.parse can recurse into it. */
function checkDepth(text: string, limit: number, what: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b /* { [ */) {
      if (++depth > limit) {
        throw new CniError(ErrorCode.DecodingFailure, `${what} is nested deeper than ${limit} levels`);
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** Decode `bytes` as one JSON object. `what` names the input in messages ("network configuration"). */
export function decodeJsonObject(bytes: Uint8Array, what: string): JsonObject {
  if (bytes.length > MAX_INPUT_BYTES) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `${what} is ${bytes.length} bytes; the limit is ${MAX_INPUT_BYTES} bytes (1 MiB)`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CniError(ErrorCode.DecodingFailure, `${what} is not valid UTF-8`);
  }
  if (text.trim() === '') throw new CniError(ErrorCode.DecodingFailure, `${what} is empty`);
  checkDepth(text, MAX_JSON_DEPTH, what);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `${what} is not valid JSON`, (e as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new CniError(ErrorCode.DecodingFailure, `${what} must be a JSON object, not ${kind}`);
  }
  return value as JsonObject;
}
