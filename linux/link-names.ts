/**
 * Interface names: the kernel's rules for a valid name (checked up front so a bad config gets a
 * clear 'invalid' error instead of an EINVAL from netlink), and the random host-side veth
 * names the reference plugin uses ("veth" + 8 hex digits).
 */
import { randomBytes } from 'node:crypto';
import { PlatformError } from '../platform/errors.ts';

/** IFNAMSIZ - 1: the longest interface name the kernel accepts. */
export const MAX_IFNAME_BYTES = 15;

/** Throw PlatformError('invalid') unless `name` is a valid interface name (dev_valid_name). */
export function validateLinkName(name: string, what: string): void {
  const bytes = Buffer.byteLength(name);
  if (!name || bytes > MAX_IFNAME_BYTES || name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw new PlatformError(
      'invalid',
      `invalid ${what} "${name}": an interface name has 1 to ${MAX_IFNAME_BYTES} bytes, no "/", ":" or spaces`,
    );
  }
}

export function randomVethName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}
