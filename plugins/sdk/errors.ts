/**
 * CNI error results: the one error type of the protocol (spec "Error" section) and the single
 * place where lower layers' errors are mapped to CNI codes. Messages name the field, variable
 * or object at fault and say what to check.
 */
import { isPlatformError } from '../../platform/errors.ts';

export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableDamaged: 51,
  /** First code of the plugin-specific range. */
  PluginSpecific: 100,
} as const;

export type ErrorCodeValue = number;

export class CniError extends Error {
  override readonly name = 'CniError';
  readonly code: ErrorCodeValue;
  readonly msg: string;
  readonly details?: string;

  constructor(code: ErrorCodeValue, msg: string, details?: string, options?: ErrorOptions) {
    super(details ? `${msg}: ${details}` : msg, options);
    this.code = code;
    this.msg = msg;
    if (details) this.details = details;
  }

  /** The spec's error result document. */
  toJSON(cniVersion: string): ErrorResult {
    const doc: ErrorResult = { cniVersion, code: this.code, msg: this.msg };
    if (this.details) doc.details = this.details;
    return doc;
  }
}

export interface ErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** Shorthand for the most common error: a config key with a bad value. */
export function invalidConfig(key: string, problem: string, details?: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid "${key}": ${problem}`, details);
}

/**
 * Map anything thrown during a command to a CniError. Platform errors keep their message;
 * unknown errors become I/O failures (code 5) rather than the Go skel's catch-all 999, so a
 * runtime always gets a code the spec defines.
 */
export function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  if (isPlatformError(error)) {
    const detail = error.detail;
    switch (error.kind) {
      case 'namespace-missing':
        return new CniError(ErrorCode.UnknownContainer, error.message, detail, { cause: error });
      case 'invalid':
        return new CniError(ErrorCode.InvalidConfig, error.message, detail, { cause: error });
      case 'unsupported':
        return new CniError(ErrorCode.UnsupportedField, error.message, detail, { cause: error });
      case 'conflict':
      case 'not-found':
      case 'io':
        return new CniError(ErrorCode.IoFailure, error.message, detail, { cause: error });
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CniError(ErrorCode.IoFailure, message, undefined, { cause: error });
}
