/**
 * What an end-to-end run is pointed at and whether it can run here: the plugin directory under
 * test (CROSSCNI_E2E_BIN_DIR, default dist/bin, so the same suites run Debian's reference
 * plugins with CROSSCNI_E2E_BIN_DIR=/usr/lib/cni) and the reasons to skip (not root, a runtime
 * not installed, the plugin directory incomplete). With CROSSCNI_E2E_REQUIRE=1 (CI, after
 * ci/e2e/install-runtimes.sh) a missing precondition fails the suite instead of skipping it, so
 * a broken install step cannot turn into a green run that tested nothing.
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { findExecutable } from './command.ts';

export const repoRoot = resolve(__dirname, '..', '..', '..');

/** The plugin directory under test, absolute (relative values are taken from the repo root). */
export function pluginBinDir(): string {
  const configured = process.env.CROSSCNI_E2E_BIN_DIR?.trim();
  if (!configured) return join(repoRoot, 'dist', 'bin');
  return isAbsolute(configured) ? configured : resolve(repoRoot, configured);
}

/** Names of the executable regular files in a plugin directory (subdirectories excluded). */
export function executablesIn(dir: string): Set<string> {
  const names = new Set<string>();
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return names;
  }
  for (const name of entries) {
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      names.add(name);
    } catch {
      // not executable: not a plugin
    }
  }
  return names;
}

export const isRoot = process.getuid?.() === 0;

/** Every e2e failure must be reproducible: say which plugins ran. */
export function describeBinDir(dir: string): string {
  return `${dir} (${[...executablesIn(dir)].sort().join(', ') || 'no executables'})`;
}

export interface Preconditions {
  /** Host executables the suite drives. */
  tools: string[];
  /** Plugin types the suite's network needs in the plugin directory. */
  plugins: string[];
}

/** Why this suite cannot run here, or undefined when it can. */
export function unmetPrecondition(needs: Preconditions): string | undefined {
  if (!isRoot) return 'needs root (runtimes, bridges and netfilter); CI runs as root';
  const missingTools = needs.tools.filter((t) => !findExecutable(t));
  if (missingTools.length > 0) {
    return `${missingTools.join(', ')} not installed: run ci/e2e/install-runtimes.sh (as root)`;
  }
  const dir = pluginBinDir();
  const present = executablesIn(dir);
  const missingPlugins = needs.plugins.filter((p) => !present.has(p));
  if (missingPlugins.length > 0) {
    return `plugin dir ${dir} lacks ${missingPlugins.join(', ')} (npm run build, or set CROSSCNI_E2E_BIN_DIR)`;
  }
  return undefined;
}

/** CI sets this after installing the runtimes: skipping is then a failure. */
export const preconditionsRequired = process.env.CROSSCNI_E2E_REQUIRE === '1';
