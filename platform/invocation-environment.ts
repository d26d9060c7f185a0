/**
 * The environment of the plugin invocation being served, carried through its async calls. A
 * resident agent serves many invocations at once in one process, each with its own
 * environment; code below the plugins that must read a setting (platform/select.ts:
 * CROSSCNI_PLATFORM and the HCN transport) reads it here, never from process.env while an
 * invocation runs. plugins/sdk/skel.ts enters it for every invocation. Outside one (tests,
 * the demo) process.env is the environment.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type Environment = Readonly<Record<string, string | undefined>>;

const current = new AsyncLocalStorage<Environment>();

/** Run `fn` with `env` as the environment of everything it calls, awaited work included. */
export function withInvocationEnvironment<T>(env: Environment, fn: () => T): T {
  // An exec'd plugin's environment is the process's own, which currentEnvironment() gives
  // anyway. AsyncLocalStorage costs every promise of the invocation a few µs once entered, so
  // only a process serving other environments (the agent) enters it.
  if (env === process.env && current.getStore() === undefined) return fn();
  return current.run(env, fn);
}

/** The environment of the invocation being served, or process.env outside one. */
export function currentEnvironment(): Environment {
  return current.getStore() ?? process.env;
}
