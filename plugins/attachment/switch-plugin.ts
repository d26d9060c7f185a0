/**
 * The story shared by nat and sdnbridge (the two plugins of windows-container-networking that
 * crosscni carries to Linux): config, ADD, DEL, CHECK, GC, STATUS. They differ only in the
 * network they ask for (a private NAT switch, or an L2 switch on the `master` uplink) and in
 * when outbound NAT applies, both decided in wcn-config.ts and switch-specs.ts; everything
 * OS-specific is behind the Platform.
 */
import { loadPlatform } from '../../platform/select.ts';
import { UndoStack } from '../../platform/undo.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result } from '../sdk/result.ts';
import type { CniPlugin, CommandContext } from '../sdk/skel.ts';
import { addressesToRelease } from './attachment-identity.ts';
import { checkEndpointAgainstResult } from './check.ts';
import {
  addressesReady,
  allocateAddresses,
  checkAddresses,
  collectAddresses,
  releaseAddresses,
} from './switch-addresses.ts';
import { attachmentResult, endpointRef, endpointSpec, networkSpec, teardownOf } from './switch-specs.ts';
import { parseSwitchConfig, type SwitchPluginType } from './wcn-config.ts';

/**
 * CNI_ARGS keys these plugins read: MAC, IP (for the IPAM plugin), and the Kubernetes ones
 * (K8S_POD_NAMESPACE for WCN's DNS search prefix; the others are what kubelet always sends).
 */
const KNOWN_ARGS = [
  'MAC',
  'IP',
  'K8S_POD_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_POD_INFRA_CONTAINER_ID',
  'K8S_POD_UID',
];

export function switchPlugin(type: SwitchPluginType): CniPlugin {
  const config = (ctx: CommandContext) => parseSwitchConfig(ctx.config, type);

  async function add(ctx: CommandContext): Promise<Result> {
    const cfg = config(ctx);
    const platform = await loadPlatform();
    const undo = new UndoStack();
    return undo.guard(async () => {
      const addresses = await allocateAddresses(ctx, cfg, undo);
      const network = await platform.ensureNetwork(networkSpec(ctx, cfg, addresses));
      const created = await platform.createEndpoint(network, endpointSpec(ctx, cfg, addresses));
      return attachmentResult(ctx, cfg, addresses, network, created);
    });
  }

  async function del(ctx: CommandContext): Promise<void> {
    const cfg = config(ctx);
    const platform = await loadPlatform();
    let failure: unknown;
    try {
      const addresses = await addressesToRelease(ctx, endpointRef(ctx, cfg));
      await platform.deleteEndpoint(teardownOf(ctx, cfg, addresses));
    } catch (e) {
      failure = e;
    }
    // Addresses are released even when the endpoint could not be removed (spec: DEL releases
    // IPAM even if the interface cannot be found), then the first failure is reported.
    await releaseAddresses(ctx, cfg);
    if (failure) throw failure;
  }

  async function check(ctx: CommandContext): Promise<void> {
    const cfg = config(ctx);
    const prev = ctx.config.prevResult;
    if (!prev) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        'CHECK needs prevResult',
        'the runtime must pass the cached ADD result',
      );
    }
    await checkAddresses(ctx, cfg);
    const platform = await loadPlatform();
    if (!(await platform.inspectNetwork(ctx.config.name, cfg.bridge))) {
      throw new CniError(
        ErrorCode.IoFailure,
        `network "${ctx.config.name}" does not exist`,
        'was the network deleted?',
      );
    }
    const state = await platform.inspectEndpoint(endpointRef(ctx, cfg));
    checkEndpointAgainstResult(state, prev, {
      ifname: ctx.ifname,
      namespace: ctx.netns,
      networkDevice: cfg.bridge,
      addressesConfigured: true,
    });
  }

  async function gc(ctx: CommandContext): Promise<void> {
    const cfg = config(ctx);
    const valid = ctx.config.validAttachments;
    // Without the list nothing can be told apart from garbage: refuse rather than release all.
    if (!valid) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        'GC needs "cni.dev/valid-attachments" in the configuration',
      );
    }
    await collectAddresses(ctx, cfg);
    await (await loadPlatform()).collectGarbage(ctx.config.name, cfg.bridge, valid);
  }

  async function status(ctx: CommandContext): Promise<void> {
    await addressesReady(ctx, config(ctx));
  }

  return { knownArgs: KNOWN_ARGS, add, del, check, gc, status };
}
