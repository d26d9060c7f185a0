/**
 * `crosscni agent`: the process around the agent server. Starts it, loads every plugin once,
 * and stops it on SIGTERM/SIGINT or after an error nothing can be trusted after (an uncaught
 * exception, a thread left in a container's namespace): the socket goes first, so new calls
 * find no agent and the shims run the Node plugins, then calls in flight get a grace period.
 * A supervisor (systemd, a DaemonSet) restarts it. Its own lines go to stderr, never stdout.
 */
import { join } from 'node:path';
import { CliError, type CliIo } from '../cli-options.ts';
import { NODE_DIR } from '../install-agent.ts';
import { AGENT_PLUGINS } from './plugin-registry.ts';
import { DEFAULT_SOCKET_PATH, preloadPlugins, startAgent } from './server.ts';

/** How long calls in flight may finish after a stop was asked for. */
const STOP_GRACE_MS = 30_000;
/** Exit status after a fatal error (EX_SOFTWARE). */
const FATAL_STATUS = 70;

export interface AgentProcess {
  socketPath?: string;
  io: CliIo;
}

export async function runAgent({ socketPath = DEFAULT_SOCKET_PATH, io }: AgentProcess): Promise<number> {
  const log = (line: string): void => io.stderr(`${line}\n`);
  let stop: (status: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    stop = resolve;
  });
  // Resident: the platform may keep handles across calls (a DEL then does not wait ~18 ms for
  // the close of its nfnetlink socket); docs/agent.md "DEL and nfnetlink".
  await (await import('../../platform/select.ts')).keepHandlesAcrossInvocations();
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent({ socketPath, log, onFatal: () => stop(FATAL_STATUS) });
  } catch (e) {
    throw new CliError(`crosscni agent: cannot serve on ${socketPath}: ${(e as Error).message}`);
  }
  process.on('uncaughtException', (e) => {
    log(`crosscni agent: uncaught error, stopping: ${e.stack ?? e}`);
    stop(FATAL_STATUS);
  });
  // A rejection nobody awaited belongs to one call that has already been answered: note it, go on.
  process.on('unhandledRejection', (reason) => log(`crosscni agent: unhandled rejection: ${String(reason)}`));
  process.once('SIGTERM', () => stop(0));
  process.once('SIGINT', () => stop(0));
  for (const problem of await preloadPlugins()) log(`crosscni agent: cannot preload ${problem}`);
  log(`crosscni agent: serving ${Object.keys(AGENT_PLUGINS).join(', ')} on ${socketPath}`);

  const status = await stopped;
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    agent.close(),
    new Promise<void>((resolve) => {
      grace = setTimeout(resolve, STOP_GRACE_MS);
    }),
  ]);
  clearTimeout(grace);
  if (agent.inFlight() > 0) log(`crosscni agent: stopping with ${agent.inFlight()} call(s) unfinished`);
  log('crosscni agent: stopped');
  // A call stuck past its watchdog may still hold timers or sockets: do not wait for it.
  setTimeout(() => process.exit(), 100).unref();
  return status;
}

/** What to do after `crosscni install --agent`. */
export function agentInstallHint(binDir: string): string {
  return `exec shims installed; start the agent as root (they run the Node plugins until it listens):
  ${join(binDir, NODE_DIR, 'crosscni')} agent    # or the systemd unit deploy/crosscni-agent.service
restart the agent after every upgrade: it keeps the code it started with
`;
}
