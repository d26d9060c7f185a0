/**
 * Reads a resolv.conf-style file into a CNI DNS block, as host-local's `resolvConf` key asks,
 * with the reference's rules (host-local/dns.go) so both suites give the same `dns`: a line
 * is a comment only when it starts with '#' or ';'; `nameserver` and `domain` take their first
 * value; `search` and `options` lines accumulate every value; other lines are ignored.
 */
import { readFileSync } from 'node:fs';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { ResultDns } from '../sdk/result.ts';

export function parseResolvConf(text: string): ResultDns {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  let domain: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [key, ...values] = line.split(/\s+/);
    if (!key || values.length === 0) continue;
    if (key === 'nameserver') nameservers.push(values[0]!);
    else if (key === 'domain') domain = values[0]!;
    else if (key === 'search') search.push(...values);
    else if (key === 'options') options.push(...values);
  }
  const dns: ResultDns = {};
  if (nameservers.length) dns.nameservers = nameservers;
  if (domain) dns.domain = domain;
  if (search.length) dns.search = search;
  if (options.length) dns.options = options;
  return dns;
}

export function readResolvConf(path: string): ResultDns {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CniError(
      ErrorCode.IoFailure,
      `read resolvConf ${path}`,
      `${(e as Error).message} (check "ipam.resolvConf")`,
    );
  }
  return parseResolvConf(text);
}
