/**
 * Reads a resolv.conf-style file into a CNI DNS block (nameserver, domain, search, options),
 * as host-local's `resolvConf` key asks. Unknown lines and comments are skipped.
 */
import { readFileSync } from 'node:fs';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { ResultDns } from '../sdk/result.ts';

export function readResolvConf(path: string): ResultDns {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `read resolvConf ${path}`, (e as Error).message);
  }
  const dns: ResultDns = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...values] = line.split(/\s+/);
    if (!key || values.length === 0) continue;
    if (key === 'nameserver') (dns.nameservers ??= []).push(values[0]!);
    else if (key === 'domain') dns.domain = values[0]!;
    else if (key === 'search') dns.search = values;
    else if (key === 'options') (dns.options ??= []).push(...values);
  }
  return dns;
}
