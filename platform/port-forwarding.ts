/**
 * Which forwardings a list of port mappings means for a container, OS-neutral and pure: each
 * mapping is forwarded to the container's first address of every family it applies to, as the
 * reference portmap plugin does. A hostIP restricts a mapping to its own family (the
 * unspecified addresses 0.0.0.0 and :: mean "any address of that family"); no hostIP means
 * every family the container has. Backends install exactly this list, and CHECK compares what
 * a backend reports with it, so both sides agree on what "the mappings are present" means.
 */
import { canonicalIp, parseCidr, parseIp } from './cidr.ts';
import { PlatformError } from './errors.ts';
import type { ForwardedPort, IpFamily, PortMappingSpec } from './types.ts';

/** The family of an IP or CIDR string, undefined when it is neither. */
export function familyOf(text: string): IpFamily | undefined {
  return (parseCidr(text)?.address ?? parseIp(text))?.family;
}

/** The first address of each family among `addresses` (CIDR or plain), as canonical plain IPs. */
export function firstAddressByFamily(addresses: string[]): Partial<Record<IpFamily, string>> {
  const first: Partial<Record<IpFamily, string>> = {};
  for (const text of addresses) {
    const plain = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
    const ip = canonicalIp(plain);
    const family = ip ? familyOf(ip) : undefined;
    if (ip && family && !first[family]) first[family] = ip;
  }
  return first;
}

/** A hostIP that only names a family: forwarded whatever the destination address. */
export function isUnspecifiedHostIp(hostIp: string | undefined): boolean {
  return (
    hostIp === undefined || hostIp === '' || canonicalIp(hostIp) === '0.0.0.0' || canonicalIp(hostIp) === '::'
  );
}

/** A key that identifies one forwarding's match: two forwardings with one key cannot coexist. */
export function forwardingKey(f: PortMappingSpec & { family: IpFamily }): string {
  const host = f.hostIp ? canonicalIp(f.hostIp) : '';
  return `${f.family}/${f.protocol}/${f.hostPort}/${isUnspecifiedHostIp(host) ? '*' : host}`;
}

export interface PlannedForwarding extends ForwardedPort {
  family: IpFamily;
}

/** The forwardings `mappings` mean for a container with `addresses`; 'invalid' on a clash. */
export function planForwardings(mappings: PortMappingSpec[], addresses: string[]): PlannedForwarding[] {
  const first = firstAddressByFamily(addresses);
  const planned = new Map<string, PlannedForwarding>();
  for (const mapping of mappings) {
    const hostIp = mapping.hostIp ? canonicalIp(mapping.hostIp) : undefined;
    const families: IpFamily[] = hostIp ? [familyOf(hostIp)!] : [4, 6];
    for (const family of families) {
      const containerIp = first[family];
      if (!containerIp) continue;
      const forwarding: PlannedForwarding = { ...mapping, family, containerIp };
      if (hostIp) forwarding.hostIp = hostIp;
      else delete forwarding.hostIp;
      const key = forwardingKey(forwarding);
      const earlier = planned.get(key);
      if (earlier && earlier.containerPort !== forwarding.containerPort) {
        throw new PlatformError(
          'invalid',
          `host port ${mapping.protocol}/${mapping.hostPort}${hostIp ? ` on ${hostIp}` : ''} is mapped to two container ports (${earlier.containerPort} and ${mapping.containerPort}): map it once`,
        );
      }
      planned.set(key, forwarding);
    }
  }
  return [...planned.values()];
}

/** The planned forwardings that `installed` lacks (compared by key, container address and port). */
export function missingForwardings(
  planned: PlannedForwarding[],
  installed: ForwardedPort[],
): PlannedForwarding[] {
  const present = new Set(
    installed.map((f) => {
      const family = familyOf(f.containerIp) ?? 4;
      return `${forwardingKey({ ...f, family })}>${canonicalIp(f.containerIp)}:${f.containerPort}`;
    }),
  );
  return planned.filter((f) => !present.has(`${forwardingKey(f)}>${f.containerIp}:${f.containerPort}`));
}
