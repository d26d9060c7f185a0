/**
 * Paths runtimes create outside anything their configuration can move: podman's image
 * blob-info cache (/var/lib/containers/cache), libcni's result cache (/var/lib/cni), the
 * containerd 1.6 shim socket directory (/run/containerd/s). A suite records which of them were
 * absent before it started and, at the end, removes what it created: known disposable files,
 * then directories that are empty. A directory with anything else inside is left alone, because
 * another suite (or the host's own runtime) may be using it right now.
 */
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

function pruneEmptyDirs(dir: string): void {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return;
  for (const name of readdirSync(dir)) pruneEmptyDirs(join(dir, name));
  try {
    rmdirSync(dir);
  } catch {
    // not empty: in use by someone else
  }
}

export class HostFootprint {
  private readonly absentBefore: string[];

  /** `paths`: host paths this suite's runtime may create; `disposable`: files it may delete. */
  constructor(
    paths: readonly string[],
    private readonly disposable: readonly string[] = [],
  ) {
    this.absentBefore = paths.filter((p) => !existsSync(p));
  }

  /** Remove what appeared since construction, within the rules above. */
  cleanup(): void {
    for (const path of this.absentBefore) {
      for (const file of this.disposable)
        if (file.startsWith(`${path}/`) || file === path) rmSync(file, { force: true });
      pruneEmptyDirs(path);
    }
  }
}
