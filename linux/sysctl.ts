/**
 * Kernel settings under /proc/sys that the platform owns: IP forwarding on the host, and the
 * per-interface IPv6/ARP settings of a container interface. Files under /proc/sys/net belong to
 * the network namespace of the thread that opens them, so the per-interface functions must be
 * called inside `inNetns` (they are synchronous for that reason). Values are only written when
 * they differ, which keeps repeated ADDs from touching the host's settings.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpFamily } from '../platform/types.ts';
import { hasErrno, platformError } from './errors.ts';

/** The /proc/sys path of a setting given as segments (interface names may contain dots). */
function sysctlPath(segments: string[]): string {
  for (const s of segments) {
    if (!s || s.includes('/') || s === '.' || s === '..') throw new Error(`invalid sysctl segment "${s}"`);
  }
  return join('/proc/sys', ...segments);
}

/** The current value, or undefined when the setting does not exist (module not loaded, no such interface). */
export function readSysctl(segments: string[]): string | undefined {
  try {
    return readFileSync(sysctlPath(segments), 'utf8').trim();
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** Set a value; returns false when the setting does not exist. */
export function writeSysctl(segments: string[], value: string): boolean {
  const current = readSysctl(segments);
  if (current === undefined) return false;
  if (current !== value) writeFileSync(sysctlPath(segments), value);
  return true;
}

/** Write and ignore failure: for settings the reference plugin also sets best-effort. */
function tryWriteSysctl(segments: string[], value: string): void {
  try {
    writeSysctl(segments, value);
  } catch {
    // best effort, as in the reference plugin (older kernels lack some of these)
  }
}

/** Make the host forward packets for each family (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding). */
export function enableForwarding(families: IpFamily[]): void {
  for (const family of new Set(families)) {
    const segments =
      family === 4 ? ['net', 'ipv4', 'ip_forward'] : ['net', 'ipv6', 'conf', 'all', 'forwarding'];
    try {
      if (!writeSysctl(segments, '1') && family === 6) {
        throw new Error('IPv6 is disabled on this host');
      }
    } catch (e) {
      throw platformError(e, `enable IPv${family} forwarding (${segments.join('.')}=1)`);
    }
  }
}

/**
 * The host owns the routes of a bridge it gives a gateway address: router advertisements
 * arriving on it must not add routes (the reference plugin sets accept_ra=0 on its bridge).
 */
export function ignoreRouterAdvertisements(ifname: string): void {
  tryWriteSysctl(['net', 'ipv6', 'conf', ifname, 'accept_ra'], '0');
}

export interface ContainerInterfaceSettings {
  /** Run IPv6 duplicate address detection. */
  dad: boolean;
  /** IPv6 addresses will be assigned: IPv6 must be enabled on the interface and on lo. */
  ipv6: boolean;
}

/**
 * Settings of a container interface, applied before it is brought up, as the reference bridge
 * plugin does: DAD on or off (accept_dad, enhanced_dad), gratuitous ARP on up (arp_notify),
 * IPv6 enabled when it gets IPv6 addresses, and no router advertisements on an interface whose
 * routes are configured statically. Call inside the container's namespace.
 */
export function configureContainerInterface(ifname: string, settings: ContainerInterfaceSettings): void {
  const v6 = (name: string) => ['net', 'ipv6', 'conf', ifname, name];
  if (settings.dad) {
    tryWriteSysctl(v6('enhanced_dad'), '1');
    tryWriteSysctl(v6('accept_dad'), '1');
  } else {
    tryWriteSysctl(v6('accept_dad'), '0');
  }
  tryWriteSysctl(['net', 'ipv4', 'conf', ifname, 'arp_notify'], '1');
  if (!settings.ipv6) return;
  tryWriteSysctl(v6('accept_ra'), '0');
  for (const iface of ['lo', ifname]) {
    const segments = ['net', 'ipv6', 'conf', iface, 'disable_ipv6'];
    try {
      writeSysctl(segments, '0');
    } catch (e) {
      throw platformError(e, `enable IPv6 on ${iface} (${segments.join('.')}=0)`);
    }
  }
}
