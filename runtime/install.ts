/**
 * `crosscni install`: copies the suite from the directory crosscni runs from into a CNI bin
 * directory, and optionally one conflist into a conf directory. Every file is replaced
 * atomically (atomic-file.ts), so a runtime calling a plugin meanwhile runs a whole old or a
 * whole new file. Re-running with the same files changes nothing. A file crosscni did not write
 * (the Go reference's `bridge`, a hand-edited conflist) is never replaced without `force`; the
 * whole install is planned first, so a refusal leaves every file as it was.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BUNDLE_DIR } from '../plugins/sdk/bundle-loader.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { CliError } from './cli-options.ts';
import { planAgentLayout } from './install-agent.ts';
import { hasBundleMarker, type PlannedFile, planConflist } from './install-plan.ts';
import { manifestPath, readManifest, sha256, writeManifest } from './install-manifest.ts';

/** The directory ci/build.mjs puts the native addons in, next to the executables that load them. */
export const NATIVE_DIR = 'crosscni-native';

export interface InstallOptions {
  /** The directory holding the built suite (the running crosscni's directory). */
  sourceDir: string;
  binDir: string;
  confDir: string;
  conflist?: string;
  force: boolean;
  /**
   * Install the agent layout (docs/agent.md): the whole source directory as it is in
   * `<binDir>/crosscni-node/`, and a perl exec shim `<binDir>/<type>` per plugin that talks to
   * the resident agent and falls back to `crosscni-node/<type>`.
   */
  agent?: boolean;
}

export type InstallAction = 'installed' | 'updated' | 'replaced' | 'unchanged' | 'skipped';

export interface InstalledFile {
  path: string;
  action: InstallAction;
  /** For skipped files: why. */
  reason?: string;
}

function plan(options: InstallOptions, skipped: InstalledFile[]): PlannedFile[] {
  const planned: PlannedFile[] = [];
  // Bundles go first: a new executable must never be in place before the bundle it loads.
  const bundles: PlannedFile[] = [];
  for (const name of readdirSync(options.sourceDir).sort()) {
    const source = join(options.sourceDir, name);
    const stat = statSync(source);
    if (stat.isFile()) {
      if (hasBundleMarker(source)) {
        planned.push({
          source,
          target: join(options.binDir, name),
          kind: 'plugin',
          data: readFileSync(source),
        });
      } else {
        skipped.push({ path: source, action: 'skipped', reason: 'not a crosscni executable' });
      }
    } else if (stat.isDirectory() && name === NATIVE_DIR) {
      for (const addon of readdirSync(source).sort()) {
        const file = join(source, addon);
        if (!statSync(file).isFile()) continue;
        const target = join(options.binDir, NATIVE_DIR, addon);
        planned.push({ source: file, target, kind: 'addon', data: readFileSync(file) });
      }
    } else if (stat.isDirectory() && name === BUNDLE_DIR) {
      for (const bundle of readdirSync(source).sort()) {
        const file = join(source, bundle);
        if (!statSync(file).isFile()) continue;
        const target = join(options.binDir, BUNDLE_DIR, bundle);
        bundles.push({ source: file, target, kind: 'bundle', data: readFileSync(file) });
      }
    }
  }
  planned.unshift(...bundles);
  if (!planned.some((p) => p.kind === 'plugin')) {
    throw new CliError(`crosscni install: no crosscni plugin executables in ${options.sourceDir}`);
  }
  if (options.conflist) planned.push(planConflist(options.conflist, options.confDir));
  return planned;
}

/** Whether the existing `target` is crosscni's to replace (the bytes differ from `file.data`). */
function isOurs(file: PlannedFile, recorded: Map<string, string>): boolean {
  if (file.kind === 'plugin' && hasBundleMarker(file.target)) return true;
  return recorded.get(file.target) === sha256(readFileSync(file.target));
}

function modeFor({ kind, mode }: PlannedFile): number {
  if (mode !== undefined) return mode;
  // Conflists and bundles are read, never executed.
  return kind === 'conflist' || kind === 'bundle' ? 0o644 : 0o755;
}

export function install(options: InstallOptions): InstalledFile[] {
  const binDir = resolve(options.binDir);
  const resolved = { ...options, binDir, confDir: resolve(options.confDir) };
  const report: InstalledFile[] = [];
  const files = options.agent ? planAgentLayout(resolved) : plan(resolved, report);
  const recorded = readManifest(binDir);
  const actions = files.map((file): InstallAction => {
    if (!existsSync(file.target)) return 'installed';
    if (!statSync(file.target).isFile()) return 'replaced';
    const current = readFileSync(file.target);
    if (current.equals(file.data)) return 'unchanged';
    return isOurs(file, recorded) ? 'updated' : 'replaced';
  });
  const foreign = files.filter((_, i) => actions[i] === 'replaced').map((f) => f.target);
  if (foreign.length > 0 && !options.force) {
    throw new CliError(
      `crosscni install: refusing to overwrite files crosscni did not write: ${foreign.join(', ')}\n` +
        'Nothing was changed. Move them away, or run again with --force to replace them.',
    );
  }
  for (const [i, file] of files.entries()) {
    const action = actions[i]!;
    if (action !== 'unchanged') {
      mkdirSync(dirname(file.target), { recursive: true });
      if (existsSync(file.target) && !statSync(file.target).isFile()) {
        throw new CliError(`crosscni install: ${file.target} exists and is not a file; remove it first`);
      }
      writeFileAtomic(file.target, file.data, modeFor(file));
    }
    recorded.set(file.target, sha256(file.data));
    report.push({ path: file.target, action });
  }
  // A run that changed nothing leaves the manifest alone too, unless there was none yet.
  const changed = report.some((r) => r.action !== 'unchanged' && r.action !== 'skipped');
  if (changed || !existsSync(manifestPath(binDir))) writeManifest(binDir, recorded);
  return report;
}

export function formatInstallReport(report: readonly InstalledFile[]): string {
  const lines = report.map((r) => `${r.action.padEnd(10)}${r.path}${r.reason ? ` (${r.reason})` : ''}`);
  const changed = report.filter((r) => r.action !== 'unchanged' && r.action !== 'skipped').length;
  lines.push(
    changed === 0 ? 'nothing changed: every file was already up to date' : `${changed} file(s) written`,
  );
  return `${lines.join('\n')}\n`;
}
