/**
 * Reaching a container's web server the way a user does: an HTTP GET to an address and port on
 * the host, retried until a deadline because a freshly started container's server and a
 * freshly installed DNAT rule become ready a little after the runtime reports success. Also
 * picks a host port nobody listens on and the host's own IPv4 address (the one a port mapping
 * must answer on besides 127.0.0.1).
 */
import { get } from 'node:http';
import { createServer } from 'node:net';
import { randomInt } from 'node:crypto';
import { run } from './command.ts';

/** One GET; resolves with the body of a 200 answer. */
export function httpGet(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** GET until a 200 answer or the deadline; the error names the last failure. */
export async function waitForHttp(url: string, deadlineMs: number): Promise<string> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      return await httpGet(url, Math.min(2_000, Math.max(200, end - Date.now())));
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`GET ${url} failed for ${deadlineMs} ms: ${last instanceof Error ? last.message : last}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A TCP port below the ephemeral range that nothing on the host listens on right now. */
export async function freeHostPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = randomInt(20_000, 32_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free TCP port in 20000-32000');
}

/**
 * The host's primary IPv4 address: the source of its default route, else its first global
 * address. A published port must answer there too, not only on loopback.
 */
export function hostIPv4(): string | undefined {
  const routes = JSON.parse(run('ip', ['-4', '-j', 'route', 'show', 'default']) || '[]') as Array<{
    dev?: string;
    prefsrc?: string;
  }>;
  const links = JSON.parse(run('ip', ['-4', '-j', 'addr', 'show', 'scope', 'global']) || '[]') as Array<{
    ifname: string;
    addr_info?: Array<{ local: string }>;
  }>;
  const defaultDev = routes[0]?.dev;
  const preferred = links.find((l) => l.ifname === defaultDev) ?? links[0];
  return routes[0]?.prefsrc ?? preferred?.addr_info?.[0]?.local;
}
