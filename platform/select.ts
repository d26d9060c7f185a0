/**
 * Picks the Platform implementation for this process. The only module in platform/ that knows
 * linux/ and hns/ exist; it loads them with a dynamic import() so a run loads only its own OS's
 * code (and VERSION, which needs no platform, loads neither).
 *
 * The choice comes from the environment of the invocation being served, never from
 * process.env while one is (invocation-environment.ts): a resident agent serves many
 * invocations in one process, each with its own environment.
 */
import type { Platform } from './contract.ts';
import { currentEnvironment, type Environment } from './invocation-environment.ts';

export type PlatformChoice = 'linux' | 'windows';

/** Platforms made so far, by choice and the environment settings that shaped them. */
const cached = new Map<string, Platform>();

/**
 * The platform for `choice`, default from `CROSSCNI_PLATFORM` or the OS. Tests choose
 * 'windows' on Linux to run the HCN backend against the emulator.
 */
export async function loadPlatform(choice?: PlatformChoice): Promise<Platform> {
  const env = currentEnvironment();
  const wanted = choice ?? platformFromEnvironment(env);
  // The HCN transport is chosen from the environment when the platform is made: one platform
  // per transport setting, so one invocation's CROSSCNI_HCN_* never serves another.
  const key =
    wanted === 'linux'
      ? 'linux'
      : `windows\0${env.CROSSCNI_HCN_TRANSPORT ?? ''}\0${env.CROSSCNI_HCN_LIBRARY ?? ''}`;
  const known = cached.get(key);
  if (known) return known;
  const platform =
    wanted === 'linux'
      ? (await import('../linux/index.ts')).createLinuxPlatform()
      : (await import('../hns/index.ts')).createWindowsPlatform({ env });
  cached.set(key, platform);
  return platform;
}

function platformFromEnvironment(env: Environment): PlatformChoice {
  const forced = env.CROSSCNI_PLATFORM;
  if (forced === 'linux' || forced === 'windows') return forced;
  return process.platform === 'win32' ? 'windows' : 'linux';
}

/**
 * For a process that serves many invocations (the resident agent): call once at its start, in
 * the host's namespaces, before serving. Lets the platform keep OS handles open across
 * invocations where closing them costs every call time: on Linux the nfnetlink sockets, whose
 * close after an nf_tables deletion waits for an RCU grace period (linux/nfnl-socket.ts).
 * Plugin execs never call it: they close every handle before they return.
 */
export async function keepHandlesAcrossInvocations(choice?: PlatformChoice): Promise<void> {
  if ((choice ?? platformFromEnvironment(currentEnvironment())) !== 'linux') return;
  (await import('../linux/index.ts')).keepNfnlSockets();
}
