/**
 * nat: the windows-container-networking `nat` plugin's config, on Linux and Windows alike. A
 * private switch the host routes and NATs for: an HCN NAT network on Windows, a bridge holding
 * the gateway with outbound masquerade on Linux; endpoints get the requested addresses, DNS,
 * and the runtime's port mappings (HCN PortMapping policies; DNAT on Linux). Outbound NAT always
 * applies, never towards the network's own subnets. The story (config, ADD, DEL, CHECK, GC,
 * STATUS) is shared with sdnbridge in plugins/attachment/switch-plugin.ts; the config
 * reference is docs/plugins/nat.md.
 */
import { switchPlugin } from '../attachment/switch-plugin.ts';

export const natPlugin = switchPlugin('nat');
