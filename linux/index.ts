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
      await collectAcls(network, valid).catch((e: unknown) => {
        throw platformError(e, `collect stale ACLs of network "${network}"`);
      });
      // Forwardings the nat/sdnbridge plugins set up through EndpointSpec.portMappings.
      await collectPortMappings(network, valid);
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
