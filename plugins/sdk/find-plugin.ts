/**
 * Locating a plugin executable by its `type` in CNI_PATH, refusing types that are paths.
 * Shared by IPAM delegation (plugin side) and the runtime library.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from './errors.ts';
import { pluginTypeProblem } from './names.ts';

export function findPlugin(type: string, dirs: readonly string[]): string {
  const problem = pluginTypeProblem(type);
  if (problem) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid plugin type "${type}": ${problem}`);
  }
  const names =
    process.platform === 'win32' && !type.toLowerCase().endsWith('.exe') ? [`${type}.exe`, type] : [type];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  throw new CniError(
    ErrorCode.InvalidConfig,
    `failed to find plugin "${type}" in path [${dirs.join(' ')}]`,
    'install the plugin there or fix CNI_PATH',
  );
}
