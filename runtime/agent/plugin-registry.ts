/**
 * The plugins a resident agent serves, by type: the same `plugins/<type>/plugin.ts` export each
 * executable's main.ts hands to runPluginMain. Loaders only; nothing is imported until asked.
 * test/linux/agent-registry.test.ts keeps this list equal to the plugins/<type>/main.ts entries.
 */
import type { CniPlugin } from '../../plugins/sdk/skel.ts';

export type PluginLoader = () => Promise<CniPlugin>;

export const AGENT_PLUGINS: Readonly<Record<string, PluginLoader>> = {
  bandwidth: async () => (await import('../../plugins/bandwidth/plugin.ts')).bandwidthPlugin,
  bridge: async () => (await import('../../plugins/bridge/plugin.ts')).bridgePlugin,
  'host-local': async () => (await import('../../plugins/host-local/plugin.ts')).hostLocalPlugin,
  loopback: async () => (await import('../../plugins/loopback/plugin.ts')).loopbackPlugin,
  nat: async () => (await import('../../plugins/nat/plugin.ts')).natPlugin,
  portmap: async () => (await import('../../plugins/portmap/plugin.ts')).portmapPlugin,
  sdnbridge: async () => (await import('../../plugins/sdnbridge/plugin.ts')).sdnbridgePlugin,
  static: async () => (await import('../../plugins/static/plugin.ts')).staticPlugin,
};
