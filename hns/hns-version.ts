/**
 * Features that need a minimum HNS version, decided from HNS's own version (HNS v1 GET
 * /globals/version, read once per process the way hcsshim's hcn.GetCachedSupportedFeatures
 * does). The minimum versions are hcsshim's (hcn/hcnglobals.go). Only the FFI transport can ask
 * (HNSCall is in vmcompute.dll); where the version cannot be read, nothing is refused here and
 * HNS's own answer to the request decides, so this check can only turn an obscure HNS failure
 * into a clear one, never block a host that would have worked.
 */
import { PlatformError } from '../platform/errors.ts';
import type { HcnClient } from './client.ts';
import { type HnsVersion, atLeast } from './schema/hns-v1.ts';

/** hcsshim's IPv6DualStackVersion: HNS 11.10 and later configure IPv6 on endpoints. */
export const IPV6_DUAL_STACK: Readonly<HnsVersion> = Object.freeze({ Major: 11, Minor: 10 });

const cache = new WeakMap<HcnClient, Promise<HnsVersion | undefined>>();

/** HNS's version, or undefined when this transport cannot read it or HNS would not say. */
export function hnsVersionOf(client: HcnClient): Promise<HnsVersion | undefined> {
  let version = cache.get(client);
  if (!version) {
    version = client.transport.hcs ? client.hnsVersion().catch(() => undefined) : Promise.resolve(undefined);
    cache.set(client, version);
  }
  return version;
}

/** Throws 'unsupported' when HNS reports a version older than `need` for `feature`. */
export async function requireHnsVersion(
  client: HcnClient,
  need: Readonly<HnsVersion>,
  feature: string,
): Promise<void> {
  const have = await hnsVersionOf(client);
  if (!have || atLeast(have, need)) return;
  throw new PlatformError(
    'unsupported',
    `${feature} needs HNS ${need.Major}.${need.Minor} or later; this host's HNS is ${have.Major}.${have.Minor} (update Windows, or leave it out of the config)`,
  );
}
