/**
 * Windows namespaces as the platform contract sees them. CNI_NETNS on Windows is an HCN namespace
 * GUID (containerd creates one per pod). When it is anything else (Docker-style "none" or a
 * path), the endpoint is hot-attached to the container CNI_CONTAINERID names, through HCS (what
 * containernetworking/plugins' win-bridge does with hcsshim's HotAttachEndpoint; client.ts). An
 * empty CNI_NETNS (containerd's second DEL) names nothing to attach to. This module reads
 * CNI_NETNS into one of those cases, creates and deletes HCN namespaces for demos and tests, and
 * answers the loopback questions (a Windows compartment's loopback is always up). It must not
 * create endpoints; endpoint.ts does.
 */
import { PlatformError } from '../platform/errors.ts';
import type { HcnClient } from './client.ts';
import { normalizeGuid } from './guid.ts';
import { asPlatformError } from './platform-errors.ts';
import { buildNamespace } from './schema/namespace.ts';

export type NamespaceTarget =
  /** Attach the endpoint to this HCN namespace. */
  | { kind: 'hcn'; id: string }
  /**
   * Hot-attach the endpoint to this compute system (the container CNI_CONTAINERID names).
   * `sharedWith` is set for Docker's "container:<id>" form, where the container joins another
   * container's endpoint: win-bridge reuses that endpoint, which crosscni does not do.
   */
  | { kind: 'container'; id: string; sharedWith?: string }
  /** No namespace and no container: nothing to attach to (containerd's DEL with CNI_NETNS empty). */
  | { kind: 'none' };

/** Docker's form for "share that container's network" (win-bridge's GetSandboxContainerID). */
const SHARED_PREFIX = 'container:';

export function namespaceTarget(cniNetns: string, containerId: string): NamespaceTarget {
  const netns = cniNetns.trim();
  if (!netns) return { kind: 'none' };
  const id = normalizeGuid(netns);
  if (id) return { kind: 'hcn', id };
  if (netns.startsWith(SHARED_PREFIX)) {
    return { kind: 'container', id: containerId, sharedWith: netns.slice(SHARED_PREFIX.length) };
  }
  return { kind: 'container', id: containerId };
}

/** The namespace must exist before an endpoint is created for it (nothing half-made on failure). */
export async function requireNamespace(client: HcnClient, id: string): Promise<void> {
  const found = await asPlatformError(`look up HCN namespace ${id}`, () => client.getNamespace(id));
  if (!found) {
    throw new PlatformError(
      'namespace-missing',
      `HCN namespace ${id} (CNI_NETNS) does not exist (was the pod sandbox removed already?)`,
    );
  }
}

export async function createHcnNamespace(client: HcnClient): Promise<string> {
  const ns = await asPlatformError('create HCN namespace', () =>
    client.createNamespace(buildNamespace({ type: 'Host' })),
  );
  return ns.ID;
}

/** Deletes an HCN namespace made by createHcnNamespace; anything that is not a GUID has nothing to delete. */
export async function deleteHcnNamespace(client: HcnClient, namespace: string): Promise<void> {
  const target = namespaceTarget(namespace, '');
  if (target.kind !== 'hcn') return;
  await asPlatformError(`delete HCN namespace ${target.id}`, () => client.deleteNamespace(target.id));
}

/** Windows brings a compartment's loopback up with the compartment and has no switch for it. */
export const WINDOWS_LOOPBACK = Object.freeze({ up: true, addresses: ['127.0.0.1/8', '::1/128'] });
