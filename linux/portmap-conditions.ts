/**
 * The portmap plugin's `conditionsV4` / `conditionsV6`: extra matches a packet must meet to be
 * forwarded, written as iptables match arguments as the reference plugin documents them (e.g.
 * ["-s", "10.0.0.0/8", "!", "-i", "docker0"]). Parsed once into typed matches, then rendered
 * for nftables or handed to iptables as validated argument lists. Only the matches that make
 * sense before a DNAT are accepted (source, destination, input interface, each optionally
 * negated); anything else is refused with the option it met, never passed through, because the
 * text ends up inside an nft batch. Pure.
 */
import { parseCidr, parseIp } from '../platform/cidr.ts';
import { PlatformError } from '../platform/errors.ts';
import type { IpFamily } from '../platform/types.ts';

export interface PortCondition {
  field: 'saddr' | 'daddr' | 'iifname';
  negated: boolean;
  /** Addresses or prefixes (saddr/daddr), or one interface name ("+" suffix = any with that prefix). */
  values: string[];
}

const OPTIONS: Record<string, PortCondition['field']> = {
  '-s': 'saddr',
  '--source': 'saddr',
  '--src': 'saddr',
  '-d': 'daddr',
  '--destination': 'daddr',
  '--dst': 'daddr',
  '-i': 'iifname',
  '--in-interface': 'iifname',
};

const INTERFACE = /^[A-Za-z0-9_.@-]{1,15}\+?$/;

function refuse(key: string, problem: string): never {
  throw new PlatformError(
    'invalid',
    `${key}: ${problem} (supported: [!] -s|-d <address or CIDR>[,...], [!] -i <interface>)`,
  );
}

/** Parse one family's condition list; 'invalid' naming the first thing it cannot take. */
export function parseConditions(tokens: string[], family: IpFamily): PortCondition[] {
  const key = family === 4 ? 'conditionsV4' : 'conditionsV6';
  const out: PortCondition[] = [];
  for (let i = 0; i < tokens.length; i++) {
    let negated = false;
    if (tokens[i] === '!') {
      negated = true;
      i++;
    }
    const option = tokens[i];
    const field = option === undefined ? undefined : OPTIONS[option];
    if (!field) refuse(key, `cannot use "${option ?? '!'}" as a port forwarding condition`);
    const value = tokens[++i];
    if (value === undefined || value === '') refuse(key, `"${option}" needs a value`);
    if (field === 'iifname') {
      if (!INTERFACE.test(value)) refuse(key, `"${value}" is not an interface name`);
      out.push({ field, negated, values: [value] });
      continue;
    }
    const values = value.split(',');
    for (const v of values) {
      const parsed = parseCidr(v)?.address ?? parseIp(v);
      if (!parsed) refuse(key, `"${v}" is not an address or CIDR`);
      if (parsed.family !== family) refuse(key, `"${v}" is not an IPv${family} address`);
    }
    out.push({ field, negated, values });
  }
  return out;
}

/** nft match expressions for the conditions, in order, for a rule of `family`. */
export function nftConditions(conditions: PortCondition[], family: IpFamily): string {
  const ip = family === 4 ? 'ip' : 'ip6';
  return conditions
    .map((c) => {
      const op = c.negated ? '!= ' : '';
      if (c.field === 'iifname') {
        const name = c.values[0]!;
        return `iifname ${op}"${name.endsWith('+') ? `${name.slice(0, -1)}*` : name}"`;
      }
      const values = c.values.length === 1 ? c.values[0]! : `{ ${c.values.join(', ')} }`;
      return `${ip} ${c.field} ${op}${values}`;
    })
    .join(' ');
}

/** iptables arguments for the conditions (one address list per option, as iptables takes it). */
export function iptablesConditions(conditions: PortCondition[]): string[] {
  const option = { saddr: '-s', daddr: '-d', iifname: '-i' } as const;
  return conditions.flatMap((c) => [...(c.negated ? ['!'] : []), option[c.field], c.values.join(',')]);
}
