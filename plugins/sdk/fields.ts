/**
 * Typed reading of config objects: each getter checks one key's type and range and throws an
 * "invalid network config" error (code 7) naming the key's full path. Plugins parse their
 * config once through these, so a wrong type never travels further than the edge.
 */
import { parseCidr, parseIp } from '../../platform/cidr.ts';
import { CniError, ErrorCode } from './errors.ts';
import type { JsonObject } from './input.ts';

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class Fields {
  constructor(
    readonly obj: JsonObject,
    /** Path of `obj` inside the config, for messages: "" for the top level, "ipam." below. */
    readonly path = '',
  ) {}

  private fail(key: string, problem: string): never {
    throw new CniError(ErrorCode.InvalidConfig, `invalid network config: "${this.path}${key}" ${problem}`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  string(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(key, `must be a string, not ${describe(v)}`);
    return v;
  }

  requiredString(key: string): string {
    const v = this.string(key);
    if (v === undefined || v === '') this.fail(key, 'is required');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, not ${describe(v)}`);
    return v;
  }

  int(key: string, min: number, max: number): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v))
      this.fail(key, `must be an integer, not ${describe(v)}`);
    if (v < min || v > max) this.fail(key, `must be between ${min} and ${max}, not ${v}`);
    return v;
  }

  /** An IP address; returns it as written (validated). */
  ip(key: string): string | undefined {
    const v = this.string(key);
    if (v === undefined || v === '') return undefined;
    if (!parseIp(v)) this.fail(key, `must be an IP address, not "${v}"`);
    return v;
  }

  cidr(key: string): string | undefined {
    const v = this.string(key);
    if (v === undefined || v === '') return undefined;
    if (!parseCidr(v)) this.fail(key, `must be an address in CIDR notation (e.g. 10.1.0.0/16), not "${v}"`);
    return v;
  }

  object(key: string): Fields | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (!isJsonObject(v)) this.fail(key, `must be an object, not ${describe(v)}`);
    return new Fields(v, `${this.path}${key}.`);
  }

  array(key: string): unknown[] | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.fail(key, `must be an array, not ${describe(v)}`);
    return v;
  }

  objectArray(key: string): Fields[] | undefined {
    return this.array(key)?.map((item, i) => {
      if (!isJsonObject(item)) this.fail(`${key}[${i}]`, `must be an object, not ${describe(item)}`);
      return new Fields(item, `${this.path}${key}[${i}].`);
    });
  }

  stringArray(key: string): string[] | undefined {
    return this.array(key)?.map((item, i) => {
      if (typeof item !== 'string') this.fail(`${key}[${i}]`, `must be a string, not ${describe(item)}`);
      return item;
    });
  }

  /** Fail with a message about `key` (for cross-field rules the getters cannot see). */
  invalid(key: string, problem: string): never {
    this.fail(key, problem);
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
