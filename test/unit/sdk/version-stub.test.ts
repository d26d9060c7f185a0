// The built plugin executables (dist/bin/<type>: the VERSION stub) against their full bundles
// (dist/bin/crosscni-bundles/<type>.js run directly by node, which is the whole plugin), as real
// processes: the same bytes and exit code for VERSION in every stdin case, and every other
// command handed to the bundle; then the bundle loader with a damaged, foreign or missing code
// cache, from a copy of dist/bin (the layout must work from anywhere).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_DIR, codeCacheFile, digest } from '../../../plugins/sdk/bundle-loader.ts';
import { MAX_INPUT_BYTES } from '../../../plugins/sdk/limits.ts';
import { distBin } from '../../support/plugin-exec.ts';
import { bundleFixture } from './bundle-fixture.ts';

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

type Stdin = string | Buffer | 'closed';

const PATH = '/usr/local/bin:/usr/bin:/bin';

/** Run `args` (an executable, or node and a bundle) as a runtime would. */
function run(args: string[], env: Record<string, string>, stdin: Stdin): Run {
  const [file, ...rest] = args as [string, ...string[]];
  const r = spawnSync(file, rest, {
    env: { PATH, ...env },
    input: stdin === 'closed' ? undefined : stdin,
    stdio: [stdin === 'closed' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const stub = (bin: string, type: string) => [join(bin, type)];
const full = (bin: string, type: string) => [process.execPath, join(bin, BUNDLE_DIR, `${type}.js`)];

function pluginTypes(bin: string): string[] {
  return readdirSync(join(bin, BUNDLE_DIR))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .sort();
}

const VERSION_STDIN: Record<string, Stdin> = {
  'no stdin': 'closed',
  'empty stdin': '',
  'cniVersion 0.4.0': '{"cniVersion":"0.4.0","name":"n","type":"t"}',
  'cniVersion 1.1.0': '{"cniVersion":"1.1.0"}',
  'no cniVersion': '{"name":"n"}',
  'unsupported cniVersion 9.9.9': '{"cniVersion":"9.9.9"}',
  'cniVersion not a string': '{"cniVersion":1}',
  'malformed JSON': '{"cniVersion":"0.3.1",',
  'not an object': '[1,2]',
  'just under 64 KiB': `{"cniVersion":"0.3.1","pad":"${'x'.repeat(65_400)}"}`,
  'over 64 KiB': `{"cniVersion":"0.3.1","pad":"${'x'.repeat(70_000)}"}`,
  'over the input limit': `{"cniVersion":"0.3.1","pad":"${'x'.repeat(MAX_INPUT_BYTES + 10)}"}`,
  'invalid UTF-8': Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
};

const built = existsSync(join(distBin, BUNDLE_DIR));

describe.skipIf(!built)('the VERSION stub of every plugin', () => {
  const types = built ? pluginTypes(distBin) : [];

  it('is small, marked as a crosscni plugin, and the bundles are not executables', () => {
    expect(types).toContain('bridge');
    for (const type of types) {
      const head = readFileSync(join(distBin, type)).subarray(0, 256).toString('latin1');
      expect(head.startsWith('#!/usr/bin/env node\n')).toBe(true);
      expect(head).toContain('crosscni-plugin-bundle');
      expect(readFileSync(join(distBin, type)).length).toBeLessThan(16 * 1024);
      expect(readFileSync(join(distBin, BUNDLE_DIR, `${type}.js`), 'utf8').startsWith('#!')).toBe(false);
    }
  });

  for (const [name, stdin] of Object.entries(VERSION_STDIN)) {
    it(`answers VERSION with the full plugin's bytes and exit code: ${name}`, () => {
      for (const type of types) {
        const fromStub = run(stub(distBin, type), { CNI_COMMAND: 'VERSION' }, stdin);
        const fromFull = run(full(distBin, type), { CNI_COMMAND: 'VERSION' }, stdin);
        expect(fromStub, type).toEqual(fromFull);
        expect(fromStub.status).toBe(0);
        expect(JSON.parse(fromStub.stdout).supportedVersions).toContain('1.1.0');
      }
    });
  }

  it('echoes a supported cniVersion and answers the newest otherwise', () => {
    const asked = (stdin: Stdin) =>
      JSON.parse(run(stub(distBin, 'bridge'), { CNI_COMMAND: 'VERSION' }, stdin).stdout);
    expect(asked('{"cniVersion":"0.4.0"}').cniVersion).toBe('0.4.0');
    expect(asked('{"cniVersion":"9.9.9"}').cniVersion).toBe('1.1.0');
    expect(asked(VERSION_STDIN['over 64 KiB'] as string).cniVersion).toBe('1.1.0');
  });

  const OTHER: Record<string, Record<string, string>> = {
    'no CNI_COMMAND': {},
    'an unknown command': { CNI_COMMAND: 'BOGUS' },
    'a lower-case version': { CNI_COMMAND: 'version' },
    'ADD without the container environment': { CNI_COMMAND: 'ADD' },
    'DEL without the container environment': { CNI_COMMAND: 'DEL' },
  };
  for (const [name, env] of Object.entries(OTHER)) {
    it(`hands ${name} to the full plugin (same bytes and exit code)`, () => {
      for (const type of types) {
        const stdin = '{"cniVersion":"1.0.0","name":"n","type":"t"}';
        const fromStub = run(stub(distBin, type), env, stdin);
        expect(fromStub, type).toEqual(run(full(distBin, type), env, stdin));
        expect(fromStub.status).toBe(1);
        expect(JSON.parse(fromStub.stdout).msg).not.toContain('cannot load');
      }
    });
  }
});

describe.skipIf(!built)('the bundle loader and its code cache (from a copy of dist/bin)', () => {
  let scratch: string;
  let bin: string;
  const bundle = () => join(bin, BUNDLE_DIR, 'bridge.js');
  const cache = () => codeCacheFile(bundle());
  // Reaches the full plugin (the bundle is compiled with its cache) without root or a namespace.
  const invoke = () =>
    run(stub(bin, 'bridge'), { CNI_COMMAND: 'ADD' }, '{"cniVersion":"1.0.0","name":"n","type":"bridge"}');
  let expected: Run;
  let loader: string;
  /** How the loader compiled the bridge bundle with the cache now in place (fresh process). */
  const compiled = (): { cacheUsed: boolean; rejectedByV8: boolean } => {
    const r = run([loader, bundle()], {}, '');
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'crosscni-stub-'));
    loader = await bundleFixture('load-bundle.ts', scratch, 'load-bundle');
    bin = join(scratch, 'somewhere', 'else');
    cpSync(distBin, bin, { recursive: true });
    expected = run(
      full(distBin, 'bridge'),
      { CNI_COMMAND: 'ADD' },
      '{"cniVersion":"1.0.0","name":"n","type":"bridge"}',
    );
    expect(expected.status).toBe(1);
    expect(JSON.parse(expected.stdout).code).toBe(4);
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const original = () => readFileSync(codeCacheFile(join(distBin, BUNDLE_DIR, 'bridge.js')));
  /** The cache file split into its header line and V8 payload. */
  const parts = () => {
    const file = original();
    const newline = file.indexOf(10);
    return {
      header: file.subarray(0, newline).toString('latin1').split(' '),
      payload: file.subarray(newline + 1),
    };
  };
  const withHeader = (header: string[], payload: Buffer) =>
    Buffer.concat([Buffer.from(`${header.join(' ')}\n`), payload]);

  it('runs the copied plugins from their new directory', () => {
    expect(invoke()).toEqual(expected);
    expect(run(stub(bin, 'bridge'), { CNI_COMMAND: 'VERSION' }, '').status).toBe(0);
  });

  it('uses an intact cache built for the bundle', () => {
    writeFileSync(cache(), original());
    expect(compiled()).toEqual({ cacheUsed: true, rejectedByV8: false });
    expect(invoke()).toEqual(expected);
  });

  it('compiles normally without a cache', () => {
    rmSync(cache(), { force: true });
    expect(compiled()).toEqual({ cacheUsed: false, rejectedByV8: false });
    expect(invoke()).toEqual(expected);
  });

  it('ignores a cache whose payload is damaged (V8 would crash on it)', () => {
    const { header, payload } = parts();
    const damaged = Buffer.from(payload);
    for (let i = 0; i < 64; i++) damaged[1000 + i]! ^= 0xff;
    writeFileSync(cache(), withHeader(header, damaged));
    expect(compiled()).toEqual({ cacheUsed: false, rejectedByV8: false });
    expect(invoke()).toEqual(expected);
  });

  it('ignores truncated and garbage caches', () => {
    for (const bytes of [original().subarray(0, 5000), Buffer.from('garbage'), Buffer.alloc(0)]) {
      writeFileSync(cache(), bytes);
      expect(compiled()).toEqual({ cacheUsed: false, rejectedByV8: false });
      expect(invoke()).toEqual(expected);
    }
  });

  it("ignores another bundle's cache", () => {
    writeFileSync(cache(), readFileSync(codeCacheFile(join(distBin, BUNDLE_DIR, 'host-local.js'))));
    expect(compiled()).toEqual({ cacheUsed: false, rejectedByV8: false });
    expect(invoke()).toEqual(expected);
  });

  it('falls back when V8 rejects the cache (as one from another Node.js version)', () => {
    const { header, payload } = parts();
    // Bytes 4-7 of V8's code cache header are its version hash.
    const foreign = Buffer.from(payload);
    foreign.writeUInt32LE((foreign.readUInt32LE(4) ^ 0x5a5a5a5a) >>> 0, 4);
    writeFileSync(cache(), withHeader([header[0]!, header[1]!, digest(foreign)], foreign));
    expect(compiled()).toEqual({ cacheUsed: false, rejectedByV8: true });
    expect(invoke()).toEqual(expected);
  });

  it('answers with a CNI error when the bundle is missing, and VERSION still works', () => {
    rmSync(join(bin, BUNDLE_DIR), { recursive: true, force: true });
    const broken = invoke();
    expect(broken.status).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ code: 5, msg: expect.stringContaining('cannot load') });
    expect(run(stub(bin, 'bridge'), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}')).toEqual(
      run(full(distBin, 'bridge'), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}'),
    );
  });
});
