/**
 * Containers a runtime left running after it was told to remove them, or after it died: found
 * through runc's own state directory and removed with runc, so no process is ever chosen by
 * name. Used only as a backstop after the runtime's own removal calls.
 */
import { tryRun } from './command.ts';

interface RuncState {
  id: string;
  bundle: string;
  status: string;
}

/** runc containers under `runcRoot` whose bundle lies under `bundlePrefix`; returns their ids. */
export function removeStrayRuncContainers(runcRoot: string | undefined, bundlePrefix: string): string[] {
  const rootArgs = runcRoot ? ['--root', runcRoot] : [];
  const list = tryRun('runc', [...rootArgs, 'list', '--format', 'json'], { timeoutMs: 10_000 });
  if (list.exitCode !== 0) return [];
  const states = (JSON.parse(list.stdout.trim() || 'null') as RuncState[] | null) ?? [];
  const removed: string[] = [];
  for (const s of states) {
    if (!s.bundle.startsWith(bundlePrefix)) continue;
    tryRun('runc', [...rootArgs, 'kill', s.id, 'KILL'], { timeoutMs: 10_000 });
    if (tryRun('runc', [...rootArgs, 'delete', '--force', s.id], { timeoutMs: 10_000 }).exitCode === 0) {
      removed.push(s.id);
    }
  }
  return removed;
}
