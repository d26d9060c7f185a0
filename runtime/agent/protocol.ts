/**
 * The wire format between the exec shim (shim.ts, perl) and the resident agent (server.ts).
 * Encoding and decoding only, with the size bounds; no sockets here.
 *
 * Request:  "CNA1", then three fields, each a 4-byte big-endian length and the bytes:
 *           the plugin type, the environment as `K=V\0` pairs, the stdin bytes.
 * Response: "CNA1", a 4-byte kind (0: the answer; 1: declined, nothing was done, the shim may
 *           run the plugin itself), a 4-byte exit code, then stdout and stderr as length-prefixed
 *           fields. The agent closes the connection after it.
 * perl writes these with `pack('a4 N/a* N/a* N/a*', ...)` and reads them with
 * `unpack('a4 N N N/a* N/a*', ...)`.
 */
import { MAX_INPUT_BYTES_PLUS_ONE } from '../../plugins/sdk/limits.ts';

export const MAGIC = 'CNA1';

/** A plugin type is a file name; 255 bytes is NAME_MAX. */
export const MAX_TYPE_BYTES = 255;
/** Linux caps one exec's arguments and environment together at a quarter of the stack limit, 2 MiB by default. */
export const MAX_ENV_BYTES = 2 * 1024 * 1024;
/**
 * The shim reads stdin as a plugin's own reader does (plugins/sdk/main.ts): 64 KiB at a time
 * until it has more than the SDK's limit, so the SDK reports the same error for too much.
 */
export const STDIN_READ_BYTES = 65536;
export const MAX_STDIN_BYTES = MAX_INPUT_BYTES_PLUS_ONE + STDIN_READ_BYTES - 1;

export const ResponseKind = {
  Answer: 0,
  /** The agent did not act (unknown type, too busy, shutting down): the shim may exec the plugin. */
  Declined: 1,
} as const;
export type ResponseKind = (typeof ResponseKind)[keyof typeof ResponseKind];

export interface AgentRequest {
  type: string;
  env: Record<string, string>;
  stdin: Uint8Array;
}

export interface AgentResponse {
  kind: ResponseKind;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A request that breaks the format or its bounds. */
export class ProtocolError extends Error {}

function field(data: Buffer, offset: number, limit: number, what: string): [Buffer, number] | undefined {
  if (data.length < offset + 4) return undefined;
  const length = data.readUInt32BE(offset);
  if (length > limit) throw new ProtocolError(`${what} is ${length} bytes; the limit is ${limit}`);
  if (data.length < offset + 4 + length) return undefined;
  return [data.subarray(offset + 4, offset + 4 + length), offset + 4 + length];
}

function parseEnvironment(bytes: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of bytes.toString('utf8').split('\0')) {
    const eq = pair.indexOf('=');
    // A name cannot be empty or contain "=" (POSIX); such an entry could not be in an environment.
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * The request in `data` once all of it has arrived; undefined while more is needed.
 * Throws ProtocolError as soon as the prefix already received breaks the format or a bound.
 */
export function decodeRequest(data: Buffer): AgentRequest | undefined {
  if (data.length < MAGIC.length) {
    if (!Buffer.from(MAGIC).subarray(0, data.length).equals(data))
      throw new ProtocolError('not a crosscni agent request');
    return undefined;
  }
  if (data.toString('latin1', 0, MAGIC.length) !== MAGIC)
    throw new ProtocolError('not a crosscni agent request');
  const type = field(data, MAGIC.length, MAX_TYPE_BYTES, 'plugin type');
  if (!type) return undefined;
  const env = field(data, type[1], MAX_ENV_BYTES, 'environment');
  if (!env) return undefined;
  const stdin = field(data, env[1], MAX_STDIN_BYTES, 'stdin');
  if (!stdin) return undefined;
  if (stdin[1] !== data.length) throw new ProtocolError('bytes after the end of the request');
  return { type: type[0].toString('utf8'), env: parseEnvironment(env[0]), stdin: stdin[0] };
}

function lengthPrefixed(bytes: Uint8Array): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, Buffer.from(bytes)];
}

export function encodeRequest(request: AgentRequest): Buffer {
  const env = Object.entries(request.env)
    .map(([k, v]) => `${k}=${v}\0`)
    .join('');
  return Buffer.concat([
    Buffer.from(MAGIC),
    ...lengthPrefixed(Buffer.from(request.type)),
    ...lengthPrefixed(Buffer.from(env)),
    ...lengthPrefixed(request.stdin),
  ]);
}

export function encodeResponse(response: AgentResponse): Buffer {
  const head = Buffer.alloc(MAGIC.length + 8);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32BE(response.kind, 4);
  head.writeUInt32BE(response.exitCode >>> 0, 8);
  return Buffer.concat([
    head,
    ...lengthPrefixed(Buffer.from(response.stdout)),
    ...lengthPrefixed(Buffer.from(response.stderr)),
  ]);
}

/** The response in `data`, or undefined when it is incomplete or malformed (the agent died while writing). */
export function decodeResponse(data: Buffer): AgentResponse | undefined {
  if (data.length < MAGIC.length + 12 || data.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  const kind = data.readUInt32BE(4);
  const exitCode = data.readUInt32BE(8);
  const stdout = field(data, 12, Number.MAX_SAFE_INTEGER, 'stdout');
  if (!stdout) return undefined;
  const stderr = field(data, stdout[1], Number.MAX_SAFE_INTEGER, 'stderr');
  if (!stderr || stderr[1] !== data.length) return undefined;
  return { kind: kind as ResponseKind, exitCode, stdout: stdout[0].toString(), stderr: stderr[0].toString() };
}
