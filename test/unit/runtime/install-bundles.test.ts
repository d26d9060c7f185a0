// crosscni install with the plugin layout ci/build.mjs makes: the executables, their full
// bundles and code caches in crosscni-bundles/ (read, not executed: mode 644, and written
// before the executables that load them), and crosscni-native/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { install } from '../../../runtime/install.ts';

let scratch: string;
let src: string;
let bin: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'crosscni-inst-bundles-'));
  src = join(scratch, 'src');
  bin = join(scratch, 'opt', 'cni', 'bin');
  mkdirSync(join(src, 'crosscni-bundles'), { recursive: true });
  mkdirSync(join(src, 'crosscni-native'));
  writeFileSync(join(src, 'bridge'), '#!/usr/bin/env node\n// crosscni-plugin-bundle\n', { mode: 0o755 });
  writeFileSync(join(src, 'crosscni-bundles', 'bridge.js'), '// crosscni-bundle-id 1\n"use strict";\n');
  writeFileSync(join(src, 'crosscni-bundles', 'bridge.js.cache'), 'crosscni-code-cache-1 1 x\n');
  writeFileSync(join(src, 'crosscni-native', 'netlink.node'), 'addon');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('crosscni install with crosscni-bundles/', () => {
  it('installs the bundles first, mode 644, then the executables', () => {
    const options = { sourceDir: src, binDir: bin, confDir: join(scratch, 'net.d'), force: false };
    const report = install(options);
    const paths = report.map((r) => r.path);
    const bundle = join(bin, 'crosscni-bundles', 'bridge.js');
    expect(paths).toContain(bundle);
    expect(paths).toContain(join(bin, 'crosscni-bundles', 'bridge.js.cache'));
    expect(paths.indexOf(bundle)).toBeLessThan(paths.indexOf(join(bin, 'bridge')));
    expect(statSync(bundle).mode & 0o777).toBe(0o644);
    expect(statSync(join(bin, 'bridge')).mode & 0o777).toBe(0o755);
    expect(readFileSync(bundle, 'utf8')).toBe(
      readFileSync(join(src, 'crosscni-bundles', 'bridge.js'), 'utf8'),
    );
    expect(install(options).every((r) => r.action === 'unchanged')).toBe(true);
  });
});
