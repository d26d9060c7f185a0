/**
 * The resident agent: one long-lived process that answers plugin calls forwarded by the exec
 * shims over a root-only unix socket, each with `invokePlugin(load, env, stdin)`, the same pure
 * call a plugin executable makes (DESIGN.md "One invocation = one pure call"). It owns the
 * socket and the bookkeeping around a call (bounds, watchdog, in-flight limit, shutdown); what
 * a call does is the SDK's and the plugins'.
 *
 * Safety between concurrent calls: every call gets its own environment (the platform choice
 * reads it through platform/select.ts) and its own stderr; namespace entry is synchronous in
 * linux/namespace.ts (`inNetns`), so no JavaScript of another call runs while the thread is in a
 * container's namespace, and after every call the agent checks that its thread is back in the
 * namespace it started in (if not, it stops serving: see `onFatal`). It never writes to stdout.
 */
import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { CniError, ErrorCode, toCniError } from '../../plugins/sdk/errors.ts';
import { invokePlugin } from '../../plugins/sdk/skel.ts';
import { CURRENT_VERSION, isSupportedVersion } from '../../plugins/sdk/version.ts';
import { AGENT_PLUGINS, type PluginLoader } from './plugin-registry.ts';
import {
  type AgentRequest,
  type AgentResponse,
  decodeRequest,
  encodeResponse,
  ProtocolError,
  ResponseKind,
} from './protocol.ts';

export const DEFAULT_SOCKET_PATH = '/run/crosscni/agent.sock';
/** libcni sets no timeout of its own; execPlugin's default bounds a call the same way. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/** Beyond this many calls at once the agent declines and the shims run the plugins themselves. */
export const DEFAULT_MAX_IN_FLIGHT = 64;
/** A client that has not sent its whole request by then is dropped. */
const REQUEST_READ_TIMEOUT_MS = 10_000;
const CURRENT_NETNS = '/proc/thread-self/ns/net';

export interface AgentOptions {
  socketPath?: string;
  /** The plugins served, by type; default every crosscni plugin. */
  plugins?: Readonly<Record<string, PluginLoader>>;
  requestTimeoutMs?: number;
  maxInFlight?: number;
  /** The agent's own diagnostics (one line each); default stderr. */
  log?: (line: string) => void;
  /**
   * Called when the process must not serve any more calls (its thread is left in another
   * namespace). The agent has already stopped accepting; the CLI exits after in-flight calls.
   */
  onFatal?: (reason: string) => void;
}

export interface RunningAgent {
  readonly socketPath: string;
  /** Calls being served now. */
  inFlight(): number;
  /** Stop accepting (the socket goes away, so shims fall back to exec), then wait for calls in flight. */
  close(): Promise<void>;
}

/** Refuse a socket directory others can enter: the socket is the host's networking, as root. */
function ensureSocketDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory()) throw new Error(`agent socket directory ${dir} is not a directory`);
  if (uid !== undefined && stat.uid !== uid) {
    throw new Error(
      `agent socket directory ${dir} belongs to uid ${stat.uid}, not to this process (uid ${uid})`,
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new Error(
      `agent socket directory ${dir} has mode ${(stat.mode & 0o777).toString(8)}; it must be 700 (chmod 700 ${dir}, or choose another --socket)`,
    );
  }
}

/** Whether something answers on `path` (another agent), so starting a second one is refused. */
function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The cniVersion to write an agent-made error in: the config's when it is one crosscni speaks. */
function errorVersion(stdin: Uint8Array): string {
  const match = /"cniVersion"\s*:\s*"([0-9.]+)"/.exec(Buffer.from(stdin.subarray(0, 4096)).toString());
  return match?.[1] && isSupportedVersion(match[1]) ? match[1] : CURRENT_VERSION;
}

function errorAnswer(error: CniError, version: string): AgentResponse {
  return {
    kind: ResponseKind.Answer,
    exitCode: 1,
    stdout: `${JSON.stringify(error.toJSON(version))}\n`,
    stderr: '',
  };
}

const DECLINED: AgentResponse = { kind: ResponseKind.Declined, exitCode: 0, stdout: '', stderr: '' };

function namespaceInode(): string {
  const stat = statSync(CURRENT_NETNS);
  return `${stat.dev}:${stat.ino}`;
}

export async function startAgent(options: AgentOptions = {}): Promise<RunningAgent> {
  const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
  const plugins = options.plugins ?? AGENT_PLUGINS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const homeNamespace = namespaceInode();
  let inFlight = 0;
  let closing = false;
  const idle: Array<() => void> = [];

  ensureSocketDirectory(dirname(socketPath));
  try {
    const existing = lstatSync(socketPath);
    if (!existing.isSocket()) throw new Error(`${socketPath} exists and is not a socket; remove it first`);
    if (await someoneListens(socketPath)) throw new Error(`another agent already listens on ${socketPath}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }

  async function serve(request: AgentRequest): Promise<AgentResponse> {
    const load = plugins[request.type];
    // Declined calls were not acted on: the shim runs the plugin's own executable instead.
    if (closing || !load || inFlight >= maxInFlight) return DECLINED;
    inFlight++;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<AgentResponse>((resolve) => {
      timer = setTimeout(() => {
        const command = request.env.CNI_COMMAND ?? '';
        log(
          `crosscni agent: ${request.type} ${command} ${request.env.CNI_CONTAINERID ?? ''} still running after ${requestTimeoutMs} ms; answered "try again later"`,
        );
        const error = new CniError(
          ErrorCode.TryAgainLater,
          `crosscni agent: ${request.type} ${command} did not finish within ${requestTimeoutMs} ms`,
          'the call may still complete in the agent; retry, or DEL the attachment',
        );
        resolve(errorAnswer(error, errorVersion(request.stdin)));
      }, requestTimeoutMs);
    });
    // The call counts as in flight until it settles, also after the watchdog answered for it.
    const call = invokePlugin(load, request.env, request.stdin, {
      stderr: (text) => {
        stderr += text;
      },
    })
      .then(
        (output): AgentResponse => ({
          kind: ResponseKind.Answer,
          exitCode: output.exitCode,
          stdout: output.stdout,
          stderr,
        }),
        // invokePlugin turns every error into a CNI error result; this is a last resort.
        (e: unknown) => errorAnswer(toCniError(e), errorVersion(request.stdin)),
      )
      .finally(() => {
        clearTimeout(timer);
        inFlight--;
        checkNamespace();
        if (inFlight === 0) for (const wake of idle.splice(0)) wake();
      });
    return Promise.race([call, watchdog]);
  }

  function checkNamespace(): void {
    let now: string;
    try {
      now = namespaceInode();
    } catch (e) {
      now = `unknown (${(e as Error).message})`;
    }
    if (now === homeNamespace || closing) return;
    const reason = `crosscni agent: the agent's thread is in network namespace ${now}, not its own (${homeNamespace}); it stops serving`;
    log(reason);
    void stop();
    options.onFatal?.(reason);
  }

  function onConnection(conn: Socket): void {
    const chunks: Buffer[] = [];
    let answered = false;
    conn.setTimeout(REQUEST_READ_TIMEOUT_MS, () => conn.destroy());
    // A shim killed by its runtime's timeout leaves a closed socket: nothing to tell anyone.
    conn.on('error', () => undefined);
    const reply = (response: AgentResponse): void => {
      if (!conn.destroyed) conn.end(encodeResponse(response));
    };
    conn.on('data', (chunk: Buffer) => {
      if (answered) return;
      chunks.push(chunk);
      let request: AgentRequest | undefined;
      try {
        request = decodeRequest(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      } catch (e) {
        answered = true;
        const message = e instanceof ProtocolError ? e.message : String(e);
        reply(
          errorAnswer(
            new CniError(ErrorCode.IoFailure, `crosscni agent: bad request: ${message}`),
            CURRENT_VERSION,
          ),
        );
        return;
      }
      if (chunks.length > 1 && request === undefined) chunks.splice(0, chunks.length, Buffer.concat(chunks));
      if (!request) return;
      answered = true;
      conn.setTimeout(0);
      void serve(request).then(reply);
    });
  }

  // The shim half-closes after its request (shutdown SHUT_WR); the answer still has to go back.
  const server = createServer({ allowHalfOpen: true }, onConnection);
  server.on('error', (e) => log(`crosscni agent: socket error: ${e.message}`));
  // Listen on a private name, make it root-only, then rename it into place: the socket never
  // exists at its public path with looser permissions.
  const staging = join(dirname(socketPath), `.agent-${process.pid}-${Date.now()}.sock`);
  await listen(server, staging);
  chmodSync(staging, 0o600);
  renameSync(staging, socketPath);
  const ours = lstatSync(socketPath);

  async function stop(): Promise<void> {
    if (!closing) {
      closing = true;
      server.close();
      try {
        const now = lstatSync(socketPath);
        // Only our own socket: a newer agent may have taken the path meanwhile.
        if (now.ino === ours.ino && now.dev === ours.dev) unlinkSync(socketPath);
      } catch {
        // already gone
      }
    }
    if (inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve));
  }

  return { socketPath, inFlight: () => inFlight, close: stop };
}

/** Load every plugin and the platform now, so the first call pays no module loading. */
export async function preloadPlugins(
  plugins: Readonly<Record<string, PluginLoader>> = AGENT_PLUGINS,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [type, load] of Object.entries(plugins)) {
    try {
      await load();
    } catch (e) {
      problems.push(`${type}: ${(e as Error).message}`);
    }
  }
  try {
    await (await import('../../platform/select.ts')).loadPlatform();
  } catch (e) {
    problems.push(`platform: ${(e as Error).message}`);
  }
  return problems;
}
