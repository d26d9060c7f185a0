// execPlugin (node:child_process) against small /bin/sh plugins: large documents and stderr,
// a stdin bigger than a pipe, a plugin that never reads stdin, output past the limit, signals,
// a timeout ignored by the plugin and by a process it left holding the pipes, and executables
// that cannot be started.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../../../plugins/sdk/errors.ts';
import { execPlugin, MAX_PLUGIN_OUTPUT_BYTES } from '../../../plugins/sdk/exec-plugin.ts';

let dir: string;
const env = { PATH: '/usr/bin:/bin', CNI_COMMAND: 'ADD' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crosscni-exec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plugin(name: string, body: string, mode = 0o755): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, mode);
  return file;
}

/** Kill the process a test plugin left behind (its pid in `pidFile`). */
function killLeftover(pidFile: string): void {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  } catch {
    // already gone
  }
}

async function failure(promise: Promise<unknown>): Promise<CniError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error('expected a CniError');
}

describe('execPlugin through node:child_process', () => {
  it('reads a 1000 KB document while the plugin also writes 5 MB to stderr', async () => {
    // The document is just under the decoder's 1 MiB limit; stderr has none.
    const file = plugin(
      'big',
      `head -c 5000000 /dev/zero | tr '\\0' e >&2
printf '{"cniVersion":"1.0.0","pad":"'; head -c 1000000 /dev/zero | tr '\\0' x; printf '"}\\n'`,
    );
    const run = await execPlugin(file, env, new Uint8Array());
    expect(String(run.output?.pad).length).toBe(1_000_000);
    expect(run.stderr.length).toBe(5_000_000);
  });

  it('writes a stdin larger than a pipe buffer completely', async () => {
    const file = plugin('count', `n=$(wc -c | tr -d ' '); printf '{"bytes":%s}\\n' "$n"`);
    const stdin = Buffer.alloc(3 * 1024 * 1024, 0x61);
    expect((await execPlugin(file, env, stdin)).output).toEqual({ bytes: stdin.length });
  });

  it('is not disturbed by a plugin that exits without reading stdin', async () => {
    const file = plugin('ignores-stdin', `printf '{"ok":true}\\n'`);
    const run = await execPlugin(file, env, Buffer.alloc(4 * 1024 * 1024, 0x62));
    expect(run.output).toEqual({ ok: true });
  });

  it('passes exactly the given environment', async () => {
    const file = plugin('env', `printf '{"keys":"%s"}\\n' "$(env | cut -d= -f1 | sort | tr '\\n' ' ')"`);
    process.env.CROSSCNI_EXEC_TEST_PARENT = '1';
    try {
      const run = await execPlugin(file, { ...env, ONLY_THIS: 'x' }, new Uint8Array());
      expect(String(run.output?.keys).trim().split(' ')).toEqual(['CNI_COMMAND', 'ONLY_THIS', 'PATH', 'PWD']);
    } finally {
      delete process.env.CROSSCNI_EXEC_TEST_PARENT;
    }
  });

  it("returns stderr of a successful run and passes a plugin's error document through", async () => {
    const ok = plugin('warns', `echo 'a warning' >&2`);
    expect(await execPlugin(ok, env, new Uint8Array())).toEqual({ stderr: 'a warning\n' });
    const bad = plugin(
      'errs',
      `printf '{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"d"}\\n'; exit 1`,
    );
    const error = await failure(execPlugin(bad, env, new Uint8Array()));
    expect([error.code, error.msg, error.details]).toEqual([7, 'bad config', 'd']);
  });

  it('reports non-JSON output of a failed run with its exit status and stderr', async () => {
    const file = plugin('garbage', `echo 'not json'; echo 'panic: oops' >&2; exit 3`);
    const error = await failure(execPlugin(file, env, new Uint8Array()));
    expect(error.code).toBe(ErrorCode.IoFailure);
    expect(error.msg).toBe(`plugin ${file} exited with status 3 without a CNI error result`);
    expect(error.details).toBe('panic: oops');
  });

  it('reports a plugin killed by a signal', async () => {
    const file = plugin('killed', 'kill -TERM $$');
    const error = await failure(execPlugin(file, env, new Uint8Array()));
    expect(error.code).toBe(ErrorCode.IoFailure);
    expect(error.msg).toBe(`plugin ${file} was killed (SIGTERM) without a CNI error result`);
  });

  it('stops a plugin that prints more than the limit', async () => {
    const file = plugin('flood', `head -c ${MAX_PLUGIN_OUTPUT_BYTES + 1_000_000} /dev/zero`);
    const error = await failure(execPlugin(file, env, new Uint8Array()));
    expect(error.code).toBe(ErrorCode.IoFailure);
    expect(error.msg).toContain('printed more than');
  });

  it('times out a plugin that ignores SIGTERM and leaves a process holding its pipes', async () => {
    // sh ignores TERM and waits on a sleep that inherited stdout: SIGKILL ends sh after the
    // grace period; the orphaned sleep keeps the pipe open, which must not keep us waiting.
    const file = plugin('stubborn', `trap '' TERM\nsleep 60 &\necho $! > ${dir}/stubborn.pid\nwait\nwait`);
    try {
      const error = await failure(execPlugin(file, env, new Uint8Array(), 300));
      expect(error.code).toBe(ErrorCode.TryAgainLater);
      expect(error.msg).toBe(`plugin ${file} did not finish within 300 ms`);
    } finally {
      killLeftover(join(dir, 'stubborn.pid'));
    }
  }, 30_000);

  it('times out a plugin that exited but left a process holding its pipes', async () => {
    const file = plugin('orphan', `sleep 60 &\necho $! > ${dir}/orphan.pid\nexit 0`);
    try {
      const error = await failure(execPlugin(file, env, new Uint8Array(), 300));
      expect(error.code).toBe(ErrorCode.TryAgainLater);
    } finally {
      killLeftover(join(dir, 'orphan.pid'));
    }
  });

  it('reports executables that cannot be started, saying why', async () => {
    const missing = await failure(execPlugin(join(dir, 'missing'), env, new Uint8Array()));
    expect(missing.msg).toBe(
      `plugin ${join(dir, 'missing')} could not be started (spawn ${join(dir, 'missing')} ENOENT) without a CNI error result`,
    );
    const notExecutable = plugin('not-executable', 'exit 0', 0o644);
    const denied = await failure(execPlugin(notExecutable, env, new Uint8Array()));
    expect(denied.code).toBe(ErrorCode.IoFailure);
    expect(denied.msg).toContain('EACCES');
  });
});
