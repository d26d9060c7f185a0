/**
 * The one error type backends throw. Plugins and the SDK map `kind` to CNI error codes in one
 * place (plugins/sdk/errors.ts); messages say what was being done, to what, and what to check.
 */

export type PlatformErrorKind =
  /** The namespace named by CNI_NETNS does not exist or is not a namespace. */
  | 'namespace-missing'
  /** A named object (network, endpoint, device) does not exist. */
  | 'not-found'
  /** The requested state conflicts with what exists (name taken, address in use, ...). */
  | 'conflict'
  /** The request is malformed for this OS (bad name, impossible combination). */
  | 'invalid'
  /** This OS or its version cannot do what was asked. */
  | 'unsupported'
  /** The OS refused or failed (errno, HRESULT). */
  | 'io';

export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  readonly kind: PlatformErrorKind;
  /** errno name, HRESULT, or tool output that explains the failure. */
  readonly detail?: string;

  constructor(kind: PlatformErrorKind, message: string, detail?: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.detail = detail;
  }
}

export function isPlatformError(e: unknown, kind?: PlatformErrorKind): e is PlatformError {
  return e instanceof PlatformError && (kind === undefined || e.kind === kind);
}
