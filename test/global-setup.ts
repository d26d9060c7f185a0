// Builds dist/bin once when it is missing, so a single test file can be run on its own;
// `npm test` always builds first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(__dirname, '..');
  if (!existsSync(join(root, 'dist', 'bin', 'bridge'))) {
    execFileSync(process.execPath, [join(root, 'ci', 'build.mjs')], { stdio: 'inherit' });
  }
}
