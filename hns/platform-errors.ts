/**
 * The one place HCN-layer errors become the platform's PlatformError, whose kind the CNI SDK maps
 * to CNI error codes. Messages say what was being done, to what, and what to check; HNS's own
 * text and HRESULT travel in `detail` and the original error in `cause`. It must not decide
 * whether a failure is acceptable (a DEL treating "not found" as done decides that itself).
 */
import { PlatformError, type PlatformErrorKind } from '../platform/errors.ts';
import { HcnError, HcnResponseError, HcnTransportError } from './errors.ts';
import { formatHresult, type HcnErrorCode } from './hresult.ts';

const KIND_OF: Record<HcnErrorCode, PlatformErrorKind> = {
  notFound: 'not-found',
  alreadyExists: 'conflict',
  inUse: 'conflict',
  invalidArgument: 'invalid',
  unsupported: 'unsupported',
  other: 'io',
};

const HINT: Partial<Record<HcnErrorCode, string>> = {
  notFound: 'was it deleted meanwhile?',
  inUse: 'delete its endpoints first',
  unsupported: 'is this HNS version too old for the requested feature?',
};

/** `doing` reads as a clause: "create HCN endpoint crosscni_c1_eth0 on network nat". */
export function toPlatformError(e: unknown, doing: string): PlatformError {
  if (e instanceof PlatformError) return e;
  if (e instanceof HcnError) {
    const hint = HINT[e.code] ? ` (${HINT[e.code]})` : '';
    const detail = `${e.hresultName ?? ''} ${formatHresult(e.hresult)} ${e.record}`.trim();
    return new PlatformError(KIND_OF[e.code], `${doing}: ${e.message}${hint}`, detail, { cause: e });
  }
  if (e instanceof HcnTransportError) {
    return new PlatformError('io', `${doing}: ${e.message}`, `transport ${e.transport}`, { cause: e });
  }
  if (e instanceof HcnResponseError) {
    return new PlatformError('io', `${doing}: ${e.message}`, e.path, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new PlatformError('io', `${doing}: ${message}`, undefined, { cause: e });
}

/** Runs `fn`, turning whatever it throws into a PlatformError about `doing`. */
export async function asPlatformError<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toPlatformError(e, doing);
  }
}
