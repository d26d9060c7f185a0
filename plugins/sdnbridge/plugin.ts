/**
 * sdnbridge: the windows-container-networking `sdnbridge` plugin's config, on Linux and Windows
 * alike. Containers join the L2 segment of the adapter named by `master`: an HCN L2Bridge
 * network on that adapter on Windows, a bridge that carries the uplink on Linux. Endpoint
 * policies come from AdditionalArgs: OutBoundNAT with its exceptions (masquerade on Linux), SDN
 * routes (routes through the host), ACLs (nftables filter rules per endpoint on Linux). The
 * story (config, ADD, DEL, CHECK, GC, STATUS) is shared with nat in
 * plugins/attachment/switch-plugin.ts; the config reference is docs/plugins/sdnbridge.md.
 */
import { switchPlugin } from '../attachment/switch-plugin.ts';

export const sdnbridgePlugin = switchPlugin('sdnbridge');
