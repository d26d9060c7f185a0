/**
 * The typed errors of the HCN layer, one class per way things go wrong:
 * - HcnError: HCN answered a call with a failing HRESULT or a non-empty error record.
 * - HcnResponseError: HCN answered, but the answer is not the document the schema promises.
 * - HcnTransportError: the call never reached HCN (library not loadable, PowerShell not
 *   runnable, unreadable PowerShell output).
 * These carry what a program needs to decide (code, HRESULT, operation, object) and what a human
 * needs to fix it (HNS's own error text). Mapping them to PlatformError or CNI error codes is the
 * Windows platform's job, not this module's.
 */
import {
  type HcnErrorCode,
  classifyHresult,
  describeHresult,
  formatHresult,
  toUnsignedHresult,
} from './hresult.ts';

export interface HcnErrorDetails {
  /** The HCN function that failed, e.g. "HcnCreateEndpoint". */
  operation: string;
  /** What it was done to, e.g. `endpoint "c1_eth0"` or `network 6F0B...`. */
  object: string;
  /** The HRESULT as returned (signed or unsigned; stored unsigned). */
  hresult: number;
  /** HNS's error record, JSON text as returned; empty when there was none. */
  record: string;
}

export class HcnError extends Error {
  override readonly name = 'HcnError';
  readonly operation: string;
  readonly object: string;
  /** Unsigned, e.g. 0x80070490; 0 when HCN returned success with an error record. */
  readonly hresult: number;
  /** Symbolic name where documented ("ERROR_NOT_FOUND", "HCN_E_INVALID_JSON"). */
  readonly hresultName?: string;
  readonly code: HcnErrorCode;
  readonly record: string;
  /** The human text inside the record ("Error" member), or the record itself. */
  readonly recordMessage: string;

  constructor(details: HcnErrorDetails) {
    const hresult = toUnsignedHresult(details.hresult);
    const info = describeHresult(hresult);
    const recordMessage = errorRecordMessage(details.record);
    const reason = recordMessage || info?.description || 'HCN reported a failure';
    const code = info ? `${formatHresult(hresult)} ${info.name}` : formatHresult(hresult);
    super(`${details.operation} ${details.object}: ${reason} (HRESULT ${code})`);
    this.operation = details.operation;
    this.object = details.object;
    this.hresult = hresult;
    this.hresultName = info?.name;
    this.code = classifyHresult(hresult);
    this.record = details.record;
    this.recordMessage = recordMessage;
  }

  get notFound(): boolean {
    return this.code === 'notFound';
  }

  get alreadyExists(): boolean {
    return this.code === 'alreadyExists';
  }
}

export function isHcnError(e: unknown, code?: HcnErrorCode): e is HcnError {
  return e instanceof HcnError && (code === undefined || e.code === code);
}

/**
 * HNS records look like {"Success":false,"Error":"...","ErrorCode":...}, HCS results like
 * {"Error":<HRESULT>,"ErrorMessage":"..."}; anything else is shown as is.
 */
export function errorRecordMessage(record: string): string {
  const text = record.trim();
  if (!text) return '';
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'Error' in parsed && typeof parsed.Error === 'string') {
      return parsed.Error.trim();
    }
    if (
      parsed &&
      typeof parsed === 'object' &&
      'ErrorMessage' in parsed &&
      typeof parsed.ErrorMessage === 'string'
    ) {
      return parsed.ErrorMessage.trim();
    }
  } catch {
    // Not JSON: HNS's text is still the best explanation there is.
  }
  return text;
}

export class HcnResponseError extends Error {
  override readonly name = 'HcnResponseError';
  /** Where in the document the problem is, e.g. "endpoint.IpConfigurations[0].PrefixLength". */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`HNS answer ${path}: ${problem} (is this HNS newer or older than the schema v2 crosscni knows?)`);
    this.path = path;
  }
}

export class HcnTransportError extends Error {
  override readonly name = 'HcnTransportError';
  readonly transport: 'ffi' | 'powershell';

  constructor(transport: 'ffi' | 'powershell', message: string, options?: ErrorOptions) {
    super(message, options);
    this.transport = transport;
  }
}
