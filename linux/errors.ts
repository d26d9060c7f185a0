/**
 * The typed errors of the Linux raw layers, one class per transport:
 * - NetlinkError: the kernel answered an rtnetlink/nfnetlink request with an errno.
 * - SyscallError: a libc call made through koffi (setns, mount, flock, ...) failed.
 * - CommandError: an external tool (nft, iptables) exited non-zero.
 * They carry what a program tests (errno name, exit code) and what a human reads (the tool's
 * stderr). `platformError` turns any of them into the PlatformError the contract promises, with
 * a message that says what was being done, to what, and what to check; it is the only place
 * that maps errno names to PlatformError kinds.
 */
import { getSystemErrorMap } from 'node:util';
import { PlatformError, type PlatformErrorKind } from '../platform/errors.ts';

/** errno number (positive) to its name and libc text, e.g. 19 → ['ENODEV', 'no such device']. */
export function describeErrno(errno: number): { code: string; text: string } {
  const entry = getSystemErrorMap().get(-Math.abs(errno));
  return entry ? { code: entry[0], text: entry[1] } : { code: `errno ${errno}`, text: `errno ${errno}` };
}

export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /** Positive errno, e.g. 17. */
  readonly errno: number;
  /** errno name, e.g. "EEXIST". */
  readonly code: string;
  /** The request that failed, e.g. "RTM_NEWLINK". */
  readonly operation: string;

  constructor(operation: string, errno: number) {
    const { code, text } = describeErrno(errno);
    super(`${operation}: ${text} (${code})`);
    this.errno = Math.abs(errno);
    this.code = code;
    this.operation = operation;
  }
}

export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;

  constructor(syscall: string, errno: number, what?: string) {
    const { code, text } = describeErrno(errno);
    super(`${syscall}${what ? ` ${what}` : ''}: ${text} (${code})`);
    this.errno = Math.abs(errno);
    this.code = code;
    this.syscall = syscall;
  }
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly command: string;
  /** Exit code, or undefined when the process could not be started or was killed. */
  readonly exitCode: number | undefined;
  readonly stderr: string;

  constructor(command: string, exitCode: number | undefined, stderr: string, options?: ErrorOptions) {
    const text = stderr.trim().split('\n')[0] || `exited with ${exitCode ?? 'a signal'}`;
    super(`${command}: ${text}`, options);
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** The errno name an error carries, if it is one of ours or a Node system error. */
export function errnoCode(e: unknown): string | undefined {
  if (e instanceof NetlinkError || e instanceof SyscallError) return e.code;
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') {
    return (e as NodeJS.ErrnoException).code;
  }
  return undefined;
}

export function hasErrno(e: unknown, ...codes: string[]): boolean {
  const code = errnoCode(e);
  return code !== undefined && codes.includes(code);
}

const KIND_BY_ERRNO: Record<string, PlatformErrorKind> = {
  EEXIST: 'conflict',
  EBUSY: 'conflict',
  EADDRINUSE: 'conflict',
  ENOTEMPTY: 'conflict',
  ENODEV: 'not-found',
  ENOENT: 'not-found',
  ENXIO: 'not-found',
  EINVAL: 'invalid',
  ERANGE: 'invalid',
  ENAMETOOLONG: 'invalid',
  EOPNOTSUPP: 'unsupported',
  // Linux's EOPNOTSUPP and ENOTSUP are one number; libuv names it ENOTSUP.
  ENOTSUP: 'unsupported',
  EAFNOSUPPORT: 'unsupported',
  EPROTONOSUPPORT: 'unsupported',
};

/** Hints for errnos whose cause is usually the same whatever was being done. */
const HINT_BY_ERRNO: Record<string, string> = {
  EPERM: 'does the plugin run as root with CAP_NET_ADMIN?',
  EACCES: 'does the plugin run as root with CAP_NET_ADMIN?',
  ENOTSUP: 'does the kernel have the feature (bridge, veth, nf_tables modules and options)?',
};

/**
 * Wrap a lower-layer failure as PlatformError: `doing` says what and to what ("create veth
 * veth1a2b3c4d for eth0"), `hint` what to check. PlatformErrors pass through unchanged.
 */
export function platformError(
  e: unknown,
  doing: string,
  hint?: string,
  kind?: PlatformErrorKind,
): PlatformError {
  if (e instanceof PlatformError) return e;
  const code = errnoCode(e);
  const reason =
    e instanceof NetlinkError || e instanceof SyscallError
      ? `${describeErrno(e.errno).text} (${e.code})`
      : e instanceof Error
        ? e.message
        : String(e);
  const why = hint ?? (code ? HINT_BY_ERRNO[code] : undefined);
  const message = `${doing}: ${reason}${why ? ` (${why})` : ''}`;
  const detail = e instanceof CommandError ? e.stderr.trim() || undefined : code;
  return new PlatformError(kind ?? (code ? (KIND_BY_ERRNO[code] ?? 'io') : 'io'), message, detail, {
    cause: e,
  });
}
