/**
 * Network namespaces: open the one CNI_NETNS names (and say clearly when it is not one), run
 * synchronous code inside it, hand out netlink sockets bound to it, and create or delete named
 * namespaces the way `ip netns add/del` does.
 *
 * Namespace membership is per thread. Everything that must happen "inside" (setns, creating a
 * netlink socket, opening /proc/sys files) runs synchronously on the calling thread between
 * entering and leaving, before any await, so the event loop never runs JavaScript while the
 * main thread sits in a container's namespace. Sockets keep acting on the namespace they were
 * created in, so the async work happens afterwards. Every fd and socket opened here is closed
 * before the helper returns.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PlatformError } from '../platform/errors.ts';
import { hasErrno, platformError } from './errors.ts';
import {
  CLONE_NEWNET,
  filesystemType,
  MNT_DETACH,
  MS_BIND,
  MS_REC,
  MS_SHARED,
  mount,
  NSFS_MAGIC,
  setns,
  umount2,
  unshare,
} from './libc.ts';
import { RtnlSocket } from './rtnl.ts';

/** Where named namespaces live, as iproute2 keeps them. */
export const NETNS_RUN_DIR = '/run/netns';
const CURRENT_NETNS = '/proc/thread-self/ns/net';
const NETNS_HINT = 'expected a network namespace path such as /var/run/netns/<name> or /proc/<pid>/ns/net';

/** An open network namespace: its fd (also usable as IFLA_NET_NS_FD) and the path it came from. */
export interface Netns {
  readonly path: string;
  readonly fd: number;
}

/** Open the namespace at `path`; PlatformError('namespace-missing') when it is not one. */
export function openNetns(path: string): Netns {
  if (!path) {
    throw new PlatformError('namespace-missing', 'no network namespace given (CNI_NETNS is empty)');
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (e) {
    if (hasErrno(e, 'ENOENT', 'ENOTDIR')) {
      throw new PlatformError(
        'namespace-missing',
        `network namespace ${path} does not exist (was the container stopped or its namespace deleted?)`,
      );
    }
    throw platformError(e, `open network namespace ${path}`);
  }
  try {
    if (filesystemType(fd, path) !== NSFS_MAGIC) {
      const what = fstatSync(fd).isDirectory() ? 'a directory' : 'a file that is not a namespace';
      throw new PlatformError(
        'namespace-missing',
        `${path} is not a network namespace: it is ${what} (${NETNS_HINT})`,
      );
    }
    // CNI_NETNS naming the plugin's own (the host's) namespace, e.g. /proc/self/ns/net or
    // /proc/1/ns/net, would turn "configure the container" into "configure the host", and DEL's
    // "delete CNI_IFNAME in the container" into deleting any host device of that name (cni0,
    // a tunnel device, ...). No container lives there: refuse it as not a container's namespace,
    // which DEL treats as "nothing of ours is in it".
    if (sameNamespace(fd, CURRENT_NETNS)) {
      throw new PlatformError(
        'namespace-missing',
        `${path} is the host's own network namespace, not a container's (${NETNS_HINT})`,
      );
    }
  } catch (e) {
    closeSync(fd);
    throw platformError(e, `check network namespace ${path}`);
  }
  return { path, fd };
}

/** Whether the namespace open at `fd` is the one at `path` (nsfs inodes identify namespaces). */
function sameNamespace(fd: number, path: string): boolean {
  const a = fstatSync(fd);
  const b = statSync(path);
  return a.dev === b.dev && a.ino === b.ino;
}

export function closeNetns(ns: Netns): void {
  closeSync(ns.fd);
}

/**
 * Run `fn` synchronously with the calling thread inside `ns`, and come back whatever happens.
 * `fn` must not be async: the thread leaves the namespace as soon as it returns.
 */
export function inNetns<T>(ns: Netns, fn: () => T): T {
  const saved = openSync(CURRENT_NETNS, constants.O_RDONLY);
  try {
    try {
      setns(ns.fd, CLONE_NEWNET, ns.path);
    } catch (e) {
      if (hasErrno(e, 'EINVAL')) {
        throw new PlatformError('namespace-missing', `${ns.path} is not a network namespace (${NETNS_HINT})`);
      }
      throw platformError(e, `enter network namespace ${ns.path}`);
    }
    try {
      const result = fn();
      if (result instanceof Promise) throw new TypeError('inNetns: fn must be synchronous');
      return result;
    } finally {
      // Failing to come back would leave every later call in the container's namespace:
      // there is no safe way to continue, so this throws over anything else.
      setns(saved, CLONE_NEWNET, 'back to the original namespace');
    }
  } finally {
    closeSync(saved);
  }
}

/** Run `fn` with the namespace at `path` open; its fd is closed afterwards. */
export async function withNetns<T>(path: string, fn: (ns: Netns) => Promise<T>): Promise<T> {
  const ns = openNetns(path);
  try {
    return await fn(ns);
  } finally {
    closeNetns(ns);
  }
}

/** A netlink socket bound to `ns`, created from inside it. */
export function openNetlinkIn(ns: Netns): RtnlSocket {
  return inNetns(ns, () => RtnlSocket.open());
}

/** Run `fn` with a netlink socket inside the namespace at `path`; socket and fd are closed after. */
export async function withNetlinkIn<T>(
  path: string,
  fn: (sock: RtnlSocket, ns: Netns) => Promise<T>,
): Promise<T> {
  return withNetns(path, async (ns) => {
    const sock = openNetlinkIn(ns);
    try {
      return await fn(sock, ns);
    } finally {
      sock.close();
    }
  });
}

/** Run `fn` with a netlink socket in the caller's (host) namespace. */
export async function withHostNetlink<T>(fn: (sock: RtnlSocket) => Promise<T>): Promise<T> {
  const sock = RtnlSocket.open();
  try {
    return await fn(sock);
  } finally {
    sock.close();
  }
}

function validNamespaceName(name: string): void {
  if (
    !name ||
    name.length > 64 ||
    name.includes('/') ||
    name === '.' ||
    name === '..' ||
    name.includes('\0')
  ) {
    throw new PlatformError(
      'invalid',
      `invalid namespace name "${name}": use 1 to 64 characters without "/", not "." or ".."`,
    );
  }
}

/** Make /run/netns a shared mount so namespace mounts made here show up in other mount namespaces. */
function shareRunDir(): void {
  try {
    mount('', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC);
  } catch (e) {
    // EINVAL: not a mount point yet. Bind it onto itself first, as iproute2 does.
    if (!hasErrno(e, 'EINVAL')) throw e;
    mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_BIND | MS_REC);
    mount('', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC);
  }
}

/** `ip netns add <name>`: a new network namespace pinned at /run/netns/<name>; returns the path. */
export async function createNamespace(name: string): Promise<string> {
  validNamespaceName(name);
  const path = join(NETNS_RUN_DIR, name);
  try {
    mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
    shareRunDir();
  } catch (e) {
    throw platformError(e, `prepare ${NETNS_RUN_DIR} for network namespaces`);
  }
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL, 0o444));
  } catch (e) {
    if (hasErrno(e, 'EEXIST')) {
      throw new PlatformError('conflict', `network namespace ${path} already exists (delete it first)`);
    }
    throw platformError(e, `create network namespace file ${path}`);
  }
  try {
    const saved = openSync(CURRENT_NETNS, constants.O_RDONLY);
    try {
      unshare(CLONE_NEWNET);
      try {
        mount(CURRENT_NETNS, path, 'none', MS_BIND);
      } finally {
        setns(saved, CLONE_NEWNET, 'back to the original namespace');
      }
    } finally {
      closeSync(saved);
    }
  } catch (e) {
    try {
      unlinkSync(path);
    } catch {
      // the error below is what matters
    }
    throw platformError(e, `create network namespace ${path}`);
  }
  return path;
}

/** `ip netns del`: unpin the namespace at a path under /run/netns (or a bare name); idempotent. */
export async function deleteNamespace(namespace: string): Promise<void> {
  const path = namespace.includes('/') ? namespace : join(NETNS_RUN_DIR, namespace);
  const dir = dirname(path);
  if (dir !== NETNS_RUN_DIR && dir !== '/var/run/netns') {
    throw new PlatformError(
      'invalid',
      `refusing to delete ${path}: only namespaces under ${NETNS_RUN_DIR} are managed here`,
    );
  }
  validNamespaceName(basename(path));
  try {
    umount2(path, MNT_DETACH);
  } catch (e) {
    // EINVAL: not mounted (half-made or already unmounted); ENOENT: already gone.
    if (!hasErrno(e, 'EINVAL', 'ENOENT')) throw platformError(e, `unmount network namespace ${path}`);
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw platformError(e, `remove network namespace file ${path}`);
  }
}
