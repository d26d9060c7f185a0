/**
 * Outbound NAT (the contract's OutboundNatSpec) on Linux: picks the backend and drives it.
 * nftables is the default (netfilter-nft.ts); iptables (netfilter-iptables.ts) is used when the
 * operator names it or when `nft` is not installed. ADD on a network whose rules are in place
 * adds its set elements over nfnetlink; otherwise it contributes its nft commands to the
 * caller's batch, so an endpoint's whole netfilter setup is one `nft -f -`. DEL and GC work per
 * network and never touch another network's state.
 */
import type { AttachmentId } from '../platform/contract.ts';
import { PlatformError } from '../platform/errors.ts';
import type { OutboundNatSpec } from '../platform/types.ts';
import { platformError } from './errors.ts';
import {
  addMasqueradeIptables,
  collectMasqueradeIptables,
  iptablesAvailable,
  removeMasqueradeIptables,
} from './netfilter-iptables.ts';
import {
  addMasqueradeDirect,
  collectMasqueradeNft,
  type MasqueradeEntry,
  masqueradeAddCommands,
  readMasqueradeNft,
  removeAttachmentMasqueradeNft,
  removeMasqueradeNft,
} from './netfilter-nft.ts';
import { nftChainExists } from './nfnl.ts';
import { nftPath } from './nft.ts';

export type NatBackend = 'nftables' | 'iptables';

/** The backend for a spec: the one named if it is installed, else nftables, else iptables. */
export function natBackend(mechanism?: string): NatBackend {
  const hasNft = nftPath() !== undefined;
  if (mechanism === 'iptables' && iptablesAvailable()) return 'iptables';
  if (hasNft) return 'nftables';
  if (iptablesAvailable()) return 'iptables';
  throw new PlatformError(
    'unsupported',
    'set up outbound NAT: neither nft nor iptables is installed',
    'install the nftables package',
  );
}

/**
 * Masquerade `addresses` of one attachment. nftables: adds the set elements now when the
 * network's rules are in place, else appends to `batch` (the caller applies it); iptables:
 * applies now. Returns the backend used, for undo.
 */
export async function addOutboundNat(
  batch: string[],
  network: string,
  attachment: AttachmentId,
  addresses: string[],
  spec: OutboundNatSpec,
): Promise<NatBackend> {
  const backend = natBackend(spec.mechanism);
  if (backend === 'nftables') {
    // The common ADD: the network's rules are in place, so only its set elements change.
    try {
      if (await addMasqueradeDirect(network, attachment, addresses, spec.exceptions)) return backend;
    } catch (e) {
      throw platformError(e, `masquerade ${addresses.join(', ')} on network "${network}"`);
    }
    batch.push(...masqueradeAddCommands(network, attachment, addresses, spec.exceptions));
    return backend;
  }
  try {
    await addMasqueradeIptables(network, attachment, addresses, spec.exceptions);
  } catch (e) {
    throw platformError(e, `set up iptables masquerade for ${addresses.join(', ')} on network "${network}"`);
  }
  return backend;
}

/**
 * Stop masquerading the attachment with whichever backend holds it; idempotent. With the
 * addresses known this deletes exactly those set elements, listing nothing; without them it
 * finds the attachment's elements by comment in this network's sets.
 */
export async function removeOutboundNat(
  network: string,
  attachment: AttachmentId,
  addresses: string[],
): Promise<void> {
  const hasNft = nftPath() !== undefined;
  try {
    if (hasNft && addresses.length) await removeMasqueradeNft(network, addresses);
    else if (hasNft) await removeAttachmentMasqueradeNft(network, attachment);
    // With nft installed an iptables chain can only be iptables-nft, which a probe can see.
    await removeMasqueradeIptables(network, attachment, hasNft);
  } catch (e) {
    const what = addresses.length ? addresses.join(', ') : `${attachment.containerId}/${attachment.ifname}`;
    throw platformError(e, `remove masquerade for ${what} on network "${network}"`);
  }
}

/** Remove NAT entries of this network that belong to no attachment in `valid`. */
export async function collectOutboundNat(network: string, valid: AttachmentId[]): Promise<void> {
  const hasNft = nftPath() !== undefined;
  try {
    if (hasNft) await collectMasqueradeNft(network, valid);
    const iptablesNat = !hasNft || (await nftChainExists('ip', 'nat', 'POSTROUTING'));
    if (iptablesNat && iptablesAvailable()) await collectMasqueradeIptables(network, valid);
  } catch (e) {
    throw platformError(e, `collect stale masquerade entries of network "${network}"`);
  }
}

/** What the nftables backend masquerades for a network (for tests and diagnostics). */
export async function readOutboundNat(network: string): Promise<MasqueradeEntry[]> {
  return readMasqueradeNft(network);
}
