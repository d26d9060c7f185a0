/**
 * An endpoint's policies on Linux, once its veth exists: outbound masquerade, the MAC spoof
 * filter and ACLs (applied together as one nft batch), then port mappings (port-mappings.ts,
 * its own batch). ADD registers the undo of each part as it goes; DEL removes every part it
 * may have made and keeps going past failures, returning them for the caller to report.
 * Never touches another attachment's or another network's state.
 */
import { networkCidr, parseCidr } from '../platform/cidr.ts';
import type { AttachmentId, EndpointTeardown } from '../platform/contract.ts';
import type { EndpointSpec } from '../platform/types.ts';
import type { UndoStack } from '../platform/undo.ts';
import { aclAddCommands, failedOnConntrack, removeAcls } from './acl.ts';
import { CommandError, platformError } from './errors.ts';
import { macSpoofAddCommands, removeMacSpoof } from './mac-spoof.ts';
import { addOutboundNat, removeOutboundNat } from './netfilter.ts';
import { removeMasqueradeIptables } from './netfilter-iptables.ts';
import { nftBatch } from './nft.ts';
import { addPortMappings, removePortMappings } from './port-mappings.ts';

function attachmentOf(ref: { containerId: string; ifname: string }): AttachmentId {
  return { containerId: ref.containerId, ifname: ref.ifname };
}

/**
 * The masquerade exceptions: the spec's, plus the endpoint's own subnets. Traffic within a
 * subnet is switched, never NATed (as on HCN), but with br_netfilter loaded bridged packets
 * also pass the inet postrouting hook, where they would otherwise be masqueraded.
 */
function masqueradeExceptions(spec: EndpointSpec): string[] {
  const own = spec.addresses.map((a) => networkCidr(parseCidr(a.cidr)!));
  return [...new Set([...(spec.outboundNat?.exceptions ?? []), ...own])];
}

async function applyBatch(
  spec: EndpointSpec,
  hostPort: string,
  containerMac: string | undefined,
  undo: UndoStack,
): Promise<void> {
  const attachment = attachmentOf(spec);
  const addresses = spec.addresses.map((a) => a.cidr);
  const batch: string[] = [];
  if (spec.outboundNat && addresses.length) {
    const nat = { ...spec.outboundNat, exceptions: masqueradeExceptions(spec) };
    const backend = await addOutboundNat(batch, spec.network, attachment, addresses, nat);
    undo.push('remove masquerade', () =>
      backend === 'iptables'
        ? removeMasqueradeIptables(spec.network, attachment, false)
        : removeOutboundNat(spec.network, attachment, addresses),
    );
  }
  if (spec.macSpoofCheck && containerMac) {
    batch.push(...macSpoofAddCommands(spec.network, attachment, hostPort, containerMac));
    undo.push('remove MAC spoof filter', () => removeMacSpoof(spec.network, attachment, hostPort));
  }
  const acls = spec.acls ?? [];
  const aclCommands = (stateful: boolean) =>
    acls.length ? aclAddCommands(spec.network, attachment, hostPort, acls, stateful) : [];
  if (acls.length) undo.push('remove ACLs', () => removeAcls(spec.network, attachment, hostPort));
  try {
    try {
      await nftBatch([...batch, ...aclCommands(true)]);
    } catch (e) {
      // Without bridge conntrack the flow rule is refused: apply the ACLs per packet instead.
      if (!acls.length || !(e instanceof CommandError) || !failedOnConntrack(e.stderr)) throw e;
      await nftBatch([...batch, ...aclCommands(false)]);
    }
  } catch (e) {
    throw platformError(e, `set up netfilter rules for ${spec.ifname} on network "${spec.network}"`);
  }
}

/** ADD: everything the spec asks of netfilter for the endpoint whose host port is `hostPort`. */
export async function applyEndpointPolicies(
  spec: EndpointSpec,
  hostPort: string,
  containerMac: string | undefined,
  undo: UndoStack,
): Promise<void> {
  await applyBatch(spec, hostPort, containerMac, undo);
  const mappings = spec.portMappings ?? [];
  const addresses = spec.addresses.map((a) => a.cidr);
  if (mappings.length && addresses.length) {
    const attachment = attachmentOf(spec);
    const options = { ...spec.portMappingOptions };
    if (options.mechanism === undefined && spec.outboundNat?.mechanism)
      options.mechanism = spec.outboundNat.mechanism;
    undo.push('remove port mappings', () => removePortMappings(spec.network, attachment));
    await addPortMappings(spec.network, attachment, addresses, mappings, options);
  }
}

/**
 * DEL: remove the endpoint's policies; `hostPort` is the host end's name when it was still
 * there. Every step runs even if an earlier one failed; the failures are returned.
 */
export async function removeEndpointPolicies(
  teardown: EndpointTeardown,
  hostPort: string | undefined,
): Promise<unknown[]> {
  const attachment = attachmentOf(teardown);
  const { network } = teardown;
  const steps: Array<[string, () => Promise<void>]> = [];
  if (teardown.outboundNat)
    steps.push(['', () => removeOutboundNat(network, attachment, teardown.addresses)]);
  if (teardown.portMappings) steps.push(['', () => removePortMappings(network, attachment)]);
  steps.push(
    [
      `remove MAC spoof filter of ${teardown.ifname} on network "${network}"`,
      () => removeMacSpoof(network, attachment, hostPort),
    ],
    [
      `remove ACLs of ${teardown.ifname} on network "${network}"`,
      () => removeAcls(network, attachment, hostPort),
    ],
  );
  const failures: unknown[] = [];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (e) {
      // The NAT and forwarding modules describe their own failures.
      failures.push(what ? platformError(e, what) : e);
    }
  }
  return failures;
}
