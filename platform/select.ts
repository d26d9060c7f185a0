/**
 * Picks the Platform implementation for this process. The only module in platform/ that knows
 * linux/ and hns/ exist; it loads them with a dynamic import() so a run loads only its own OS's
 * code (and VERSION, which needs no platform, loads neither).
 *
 * The choice comes from the environment of the invocation being served, never from
 * process.env while one is: a resident agent serves many invocations in one process, each with
 * its own environment (plugins/sdk/skel.ts wraps every invocation in
 * `withInvocationEnvironment`). Outside an invocation (tests, the demo) process.env is used.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Platform } from './contract.ts';

export type PlatformChoice = 'linux' | 'windows';

type Environment = Readonly<Record<string, string | undefined>>;

const invocationEnvironment = new AsyncLocalStorage<Environment>();

/** Platforms made so far, by choice and the environment settings that shaped them. */
const cached = new Map<string, Platform>();

/** Run `fn` with `env` as the environment every platform choice inside it reads. */
export function withInvocationEnvironment<T>(env: Environment, fn: () => T): T {
  return invocationEnvironment.run(env, fn);
}

/** The environment of the invocation being served, or process.env outside one. */
export function currentEnvironment(): Environment {
  return invocationEnvironment.getStore() ?? process.env;
}

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
