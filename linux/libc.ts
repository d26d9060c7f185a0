/**
 * The few libc calls Node does not offer, bound through koffi: setns and unshare (network
 * namespaces), mount and umount2 (pinning a namespace to a file), flock (file locks) and
 * fstatfs (is this fd a namespace?), and getsockname / getsockopt / setsockopt for the socket options
 * the netlink package does not expose. Raw transport only: each function makes one call and
 * throws SyscallError with the errno on failure; deciding what a failure means is the
 * callers' job. All calls are synchronous and act on the calling thread, which is what setns
 * needs (namespace membership is per thread).
 */
import { endianness } from 'node:os';
import koffi from 'koffi';
import { SyscallError } from './errors.ts';

export const CLONE_NEWNET = 0x40000000;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 2;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
/** statfs f_type of the namespace filesystem (linux/magic.h). */
export const NSFS_MAGIC = 0x6e736673;

type IntCall = (...args: unknown[]) => number;

interface Libc {
  setns: IntCall;
  unshare: IntCall;
  mount: IntCall;
  umount2: IntCall;
  flock: IntCall;
  fstatfs: IntCall;
  getsockname: IntCall;
  getsockopt: IntCall;
  setsockopt: IntCall;
}

let libc: Libc | undefined;

// Bound on first use, not at import: VERSION and GC-only runs never pay for it.
function bound(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    setns: lib.func('int setns(int fd, int nstype)'),
    unshare: lib.func('int unshare(int flags)'),
    mount: lib.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)',
    ),
    umount2: lib.func('int umount2(const char *target, int flags)'),
    flock: lib.func('int flock(int fd, int operation)'),
    fstatfs: lib.func('int fstatfs(int fd, _Out_ void *buf)'),
    getsockname: lib.func('int getsockname(int fd, _Out_ void *addr, _Inout_ uint32_t *len)'),
    getsockopt: lib.func(
      'int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *len)',
    ),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
  };
  return libc;
}

function check(result: number, syscall: string, what?: string): void {
  if (result === -1) throw new SyscallError(syscall, koffi.errno(), what);
}

export function setns(fd: number, nstype: number, what?: string): void {
  check(bound().setns(fd, nstype), 'setns', what);
}

export function unshare(flags: number): void {
  check(bound().unshare(flags), 'unshare');
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number): void {
  check(bound().mount(source, target, fstype, flags, null), 'mount', target);
}

export function umount2(target: string, flags: number): void {
  check(bound().umount2(target, flags), 'umount2', target);
}

/** flock(2); with LOCK_NB returns false instead of throwing when the lock is held elsewhere. */
export function flock(fd: number, operation: number, what?: string): boolean {
  const result = bound().flock(fd, operation);
  if (result === 0) return true;
  const errno = koffi.errno();
  if ((operation & LOCK_NB) !== 0 && errno === 11 /* EWOULDBLOCK */) return false;
  throw new SyscallError('flock', errno, what);
}

/** The filesystem magic (statfs f_type) of the file behind `fd`. */
export function filesystemType(fd: number, what?: string): number {
  // struct statfs is at most 120 bytes on 64-bit ABIs; f_type is its first member, a C long.
  const buf = Buffer.alloc(256);
  check(bound().fstatfs(fd, buf), 'fstatfs', what);
  const le = endianness() === 'LE';
  if (koffi.sizeof('long') === 4) return le ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
  return Number((le ? buf.readBigUInt64LE(0) : buf.readBigUInt64BE(0)) & 0xffffffffn);
}

/** The raw socket address of `fd` (sockaddr bytes), or undefined when it is not a socket. */
export function socketAddress(fd: number): Buffer | undefined {
  const buf = Buffer.alloc(128);
  const len = [buf.length];
  if (bound().getsockname(fd, buf, len) === -1) return undefined;
  return buf.subarray(0, Math.min(len[0]!, buf.length));
}

/** An int socket option of `fd`. */
export function socketOption(fd: number, level: number, name: number): number {
  const buf = Buffer.alloc(4);
  const len = [4];
  check(bound().getsockopt(fd, level, name, buf, len), 'getsockopt');
  return endianness() === 'LE' ? buf.readInt32LE(0) : buf.readInt32BE(0);
}

/** Set an int socket option of `fd`. */
export function setSocketOption(fd: number, level: number, name: number, value: number): void {
  const buf = Buffer.alloc(4);
  if (endianness() === 'LE') buf.writeInt32LE(value, 0);
  else buf.writeInt32BE(value, 0);
  check(bound().setsockopt(fd, level, name, buf, 4), 'setsockopt');
}
