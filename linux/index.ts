/**
 * The Linux Platform: rtnetlink for links, addresses and routes (rtnl.ts), setns through koffi
 * for namespaces (namespace.ts), /proc/sys for forwarding and interface settings (sysctl.ts),
 * nftables (or iptables) for outbound NAT, MAC spoof filtering and ACLs (netfilter.ts,
 * mac-spoof.ts, acl.ts),
 * flock for file locks, nftables DNAT for port mappings (port-mappings.ts), tc over rtnetlink for
 * bandwidth limits (bandwidth.ts). This file only composes them; platform/select.ts loads it with a
 * dynamic import on Linux, so nothing here runs on Windows.
 */
import type { AttachmentId, Platform } from '../platform/contract.ts';
import type { AttachmentTarget } from '../platform/types.ts';
import { collectAcls } from './acl.ts';
import { collectBandwidth, inspectBandwidth, removeBandwidth, setBandwidth } from './bandwidth.ts';
import { createEndpoint, deleteEndpoint, inspectEndpoint } from './endpoint.ts';
import { withFileLock } from './file-lock.ts';
import { collectHostPorts } from './host-port-tag.ts';
import { inspectLoopback, setLoopback } from './loopback.ts';
import { createNamespace, deleteNamespace } from './namespace.ts';
import { collectMacSpoof } from './mac-spoof.ts';
import { collectOutboundNat } from './netfilter.ts';
import { deleteNetwork, ensureNetwork, inspectNetwork } from './network.ts';
import {
  addPortMappings,
  collectPortMappings,
  readPortMappings,
  removePortMappings,
} from './port-mappings.ts';
import { platformError } from './errors.ts';

const attachmentOf = (t: AttachmentTarget): AttachmentId => ({
  containerId: t.containerId,
  ifname: t.ifname,
});

/** For a resident process (the agent): keep nfnetlink sockets across invocations (nfnl-socket.ts). */
export { keepNfnlSockets } from './nfnl-socket.ts';

export function createLinuxPlatform(): Platform {
  return {
    os: 'linux',
    ensureNetwork,
    inspectNetwork,
    deleteNetwork,
    createEndpoint,
    inspectEndpoint,
    deleteEndpoint,
    // Every step runs even if an earlier one failed (GC cleans up as much as it can); the first
    // failure is the answer.
    async collectGarbage(network, deviceName, valid) {
      const steps: Array<() => Promise<unknown>> = [
        // Veths of deleted namespaces vanish with them; a namespace still held keeps its veth.
        () => collectHostPorts(network, deviceName, valid),
        () => collectOutboundNat(network, valid),
        () =>
          collectMacSpoof(network, valid).catch((e: unknown) => {
            throw platformError(e, `collect stale MAC spoof filters of network "${network}"`);
          }),
        () =>
          collectAcls(network, valid).catch((e: unknown) => {
            throw platformError(e, `collect stale ACLs of network "${network}"`);
          }),
        // Forwardings the nat/sdnbridge plugins set up through EndpointSpec.portMappings.
        () => collectPortMappings(network, valid),
      ];
      const failures: unknown[] = [];
      for (const step of steps) await step().catch((e: unknown) => failures.push(e));
      if (failures.length) throw failures[0];
    },
    addPortMappings: (target, mappings, options) =>
      addPortMappings(target.network, attachmentOf(target), target.addresses, mappings, options),
    removePortMappings: (target, mappings) =>
      removePortMappings(target.network, attachmentOf(target), mappings),
    inspectPortMappings: (target, mappings) =>
      readPortMappings(target.network, attachmentOf(target), mappings),
    collectPortMappings,
    setBandwidth,
    removeBandwidth,
    inspectBandwidth,
    collectBandwidth,
    setLoopback,
    inspectLoopback,
    withFileLock,
    createNamespace,
    deleteNamespace,
  };
}
