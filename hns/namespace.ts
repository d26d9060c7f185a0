/**
 * Windows namespaces as the platform contract sees them. CNI_NETNS on Windows is an HCN namespace
 * GUID (containerd creates one per pod); runtimes that give none (Docker-style, or containerd's
 * second DEL with CNI_NETNS empty) attach endpoints to containers themselves. This module reads
 * CNI_NETNS into one of those two cases, creates and deletes HCN namespaces for demos and tests,
 * and answers the loopback questions (a Windows compartment's loopback is always up). It must not
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
  /** No namespace: the runtime attaches the endpoint to its container by the endpoint's ID. */
  | { kind: 'none' };

export function namespaceTarget(cniNetns: string): NamespaceTarget {
  const id = normalizeGuid(cniNetns.trim());
  return id ? { kind: 'hcn', id } : { kind: 'none' };
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
  const target = namespaceTarget(namespace);
  if (target.kind !== 'hcn') return;
  await asPlatformError(`delete HCN namespace ${target.id}`, () => client.deleteNamespace(target.id));
}

/** Windows brings a compartment's loopback up with the compartment and has no switch for it. */
export const WINDOWS_LOOPBACK = Object.freeze({ up: true, addresses: ['127.0.0.1/8', '::1/128'] });
