/**
 * CNI spec versions: the set this suite speaks, comparison, and the per-command minimums
 * (CHECK from 0.4.0, STATUS and GC from 1.1.0). Kept free of imports so VERSION loads nothing.
 */

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const CURRENT_VERSION: CniVersion = '1.1.0';
/** What the Go libraries assume when a config carries no cniVersion. */
export const DEFAULT_VERSION: CniVersion = '0.1.0';

export function isSupportedVersion(version: string): version is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** Compare two "major.minor.patch" versions; NaN parts (malformed) compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/** Result shape families: 0.1.0/0.2.0, 0.3.x/0.4.0, 1.x. */
export type ResultShape = 'v02' | 'v04' | 'v1';

export function resultShape(version: CniVersion): ResultShape {
  if (version === '0.1.0' || version === '0.2.0') return 'v02';
  if (version === '1.0.0' || version === '1.1.0') return 'v1';
  return 'v04';
}
