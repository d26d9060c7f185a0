/**
 * The agent layout of `crosscni install --agent` (docs/agent.md): the directory crosscni runs
 * from is copied as it is, whatever its inside looks like, to `<bin-dir>/crosscni-node/` (so
 * the Node executables there stay self-contained and runnable on their own), and every plugin
 * the agent serves gets an exec shim `<bin-dir>/<type>` whose fallback is
 * `<bin-dir>/crosscni-node/<type>`. Planning only; install.ts writes the plan.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { AGENT_PLUGINS } from './agent/plugin-registry.ts';
import { shimScript } from './agent/shim.ts';
import { TEMP_PREFIX } from './atomic-file.ts';
import { CliError } from './cli-options.ts';
import { MANIFEST_NAME } from './install-manifest.ts';
import { hasBundleMarker, type PlannedFile, planConflist } from './install-plan.ts';

/** Where the agent layout keeps the Node executables, inside the bin dir. */
export const NODE_DIR = 'crosscni-node';

export interface AgentLayoutOptions {
  sourceDir: string;
  /** Absolute. */
  binDir: string;
  /** Absolute. */
  confDir: string;
  conflist?: string;
}

/** Leftovers that are not part of a build: atomic-write and build temp files, an install manifest. */
function isTransient(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) || /\.tmp-\d+$/.test(name) || name === MANIFEST_NAME;
}

function copyTree(sourceDir: string, targetDir: string, planned: PlannedFile[]): void {
  // Folders first: the bundles and addons an executable loads must be in place before it is.
  const names = readdirSync(sourceDir).sort();
  const isDir = (name: string) => statSync(join(sourceDir, name)).isDirectory();
  for (const name of [...names.filter(isDir), ...names.filter((n) => !isDir(n))]) {
    if (isTransient(name)) continue;
    const source = join(sourceDir, name);
    const target = join(targetDir, name);
    const stat = statSync(source);
    if (stat.isDirectory()) copyTree(source, target, planned);
    else if (stat.isFile()) {
      planned.push({
        source,
        target,
        kind: hasBundleMarker(source) ? 'plugin' : 'addon',
        data: readFileSync(source),
        mode: stat.mode & 0o777,
      });
    }
  }
}

export function planAgentLayout(options: AgentLayoutOptions): PlannedFile[] {
  const nodeDir = join(options.binDir, NODE_DIR);
  const source = realpathSync(options.sourceDir);
  const bin = existsSync(options.binDir) ? realpathSync(options.binDir) : options.binDir;
  if (source === bin || bin.startsWith(`${source}${sep}`)) {
    throw new CliError(
      `crosscni install --agent: ${options.binDir} is where crosscni runs from; run the crosscni of a build (dist/bin) or of ${nodeDir}`,
    );
  }
  const planned: PlannedFile[] = [];
  copyTree(options.sourceDir, nodeDir, planned);
  const shim = Buffer.from(shimScript(nodeDir));
  for (const type of Object.keys(AGENT_PLUGINS).sort()) {
    const fallback = join(options.sourceDir, type);
    try {
      if (!statSync(fallback).isFile()) continue;
    } catch {
      continue; // not in this build
    }
    planned.push({ source: fallback, target: join(options.binDir, type), kind: 'plugin', data: shim });
  }
  if (!planned.some((p) => p.kind === 'plugin' && p.data === shim)) {
    throw new CliError(`crosscni install --agent: no crosscni plugin executables in ${options.sourceDir}`);
  }
  if (options.conflist) planned.push(planConflist(options.conflist, options.confDir));
  return planned;
}
