/**
 * Netlink strict checking (NETLINK_GET_STRICT_CHK, Linux 4.20+) for the netlink package's
 * sockets, which do not expose their fd: with it the kernel honours the filters in a dump
 * request (RTM_GETADDR by ifa_index, RTM_GETROUTE by table and RTA_OIF, RTM_GETLINK by
 * IFLA_MASTER), so a dump of one link's addresses costs the same on a host with 5 or 500
 * interfaces. Callers still filter what comes back: on older kernels the option is refused
 * and the dump is host-wide.
 */
import { readdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { setSocketOption, socketAddress, socketOption } from './libc.ts';

const AF_NETLINK = 16;
const SOL_SOCKET = 1;
const SO_PROTOCOL = 38;
const SOL_NETLINK = 270;
const NETLINK_GET_STRICT_CHK = 12;

/**
 * Turn strict checking on for this process's netlink sockets of `protocol` bound to `port`
 * that do not have it yet. Sockets in different namespaces can share a port; every request
 * crosscni makes is valid under strict checking, so turning it on for a twin does no harm.
 * Returns whether at least one socket has it on afterwards.
 */
export function enableStrictCheck(protocol: number, port: number): boolean {
  let enabled = false;
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return false;
  }
  for (const entry of fds) {
    const fd = Number(entry);
    const address = socketAddress(fd);
    // struct sockaddr_nl: u16 family, u16 pad, u32 nl_pid, u32 nl_groups (host order).
    if (!address || address.length < 12) continue;
    const le = endianness() === 'LE';
    if ((le ? address.readUInt16LE(0) : address.readUInt16BE(0)) !== AF_NETLINK) continue;
    if ((le ? address.readUInt32LE(4) : address.readUInt32BE(4)) !== port) continue;
    try {
      if (socketOption(fd, SOL_SOCKET, SO_PROTOCOL) !== protocol) continue;
      if (socketOption(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK) === 0)
        setSocketOption(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      enabled = true;
    } catch {
      // ENOPROTOOPT: a kernel older than 4.20; the caller's own filtering covers it.
    }
  }
  return enabled;
}
