/**
 * The Linux Platform: rtnetlink for links, addresses and routes (rtnl.ts), setns through koffi
 * for namespaces (namespace.ts), /proc/sys for forwarding and interface settings (sysctl.ts),
 * nftables (or iptables) for outbound NAT and MAC spoof filtering (netfilter.ts, mac-spoof.ts),
 * flock for file locks. This file only composes them; platform/select.ts loads it with a
 * dynamic import on Linux, so nothing here runs on Windows.
 */
import type { Platform } from '../platform/contract.ts';
import { createEndpoint, deleteEndpoint, inspectEndpoint } from './endpoint.ts';
import { withFileLock } from './file-lock.ts';
import { inspectLoopback, setLoopback } from './loopback.ts';
import { createNamespace, deleteNamespace } from './namespace.ts';
import { collectMacSpoof } from './mac-spoof.ts';
import { collectOutboundNat } from './netfilter.ts';
import { deleteNetwork, ensureNetwork, inspectNetwork } from './network.ts';
import { platformError } from './errors.ts';

export function createLinuxPlatform(): Platform {
  return {
    os: 'linux',
    ensureNetwork,
    inspectNetwork,
    deleteNetwork,
    createEndpoint,
    inspectEndpoint,
    deleteEndpoint,
    // Veths of deleted namespaces vanish with them; what outlives a container is netfilter state.
    async collectGarbage(network, _deviceName, valid) {
      await collectOutboundNat(network, valid);
      await collectMacSpoof(network, valid).catch((e: unknown) => {
        throw platformError(e, `collect stale MAC spoof filters of network "${network}"`);
      });
    },
    setLoopback,
    inspectLoopback,
    withFileLock,
    createNamespace,
    deleteNamespace,
  };
}
