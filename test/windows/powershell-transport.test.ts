// The PowerShell transport: the exact process it starts, the one fixed script, the request
// blob that carries every value, and how answers and failures come back.
import { describe, expect, test } from 'vitest';
import { HcnError, HcnTransportError } from '../../hns/errors.ts';
import {
  type PowerShellInvocation,
  type PowerShellRunner,
  spawnPowerShellRunner,
} from '../../hns/powershell/runner.ts';
import { HCN_SCRIPT, REQUEST_VARIABLE } from '../../hns/powershell/script.ts';
import { POWERSHELL_ARGS, PowerShellTransport } from '../../hns/powershell/transport.ts';
import { QUERY } from './emulator-harness.ts';

const NETWORK_ID = '5C6A0B4E-1F2D-4C3B-9A8E-7D6C5B4A3F21';

/** A runner that records invocations and answers with the given stdout lines. */
function recordingRunner(...stdouts: string[]): { runner: PowerShellRunner; calls: PowerShellInvocation[] } {
  const calls: PowerShellInvocation[] = [];
  const runner: PowerShellRunner = async (invocation) => {
    calls.push(invocation);
    return { exitCode: 0, stdout: stdouts[calls.length - 1] ?? stdouts.at(-1) ?? '', stderr: '' };
  };
  return { runner, calls };
}

const ok = (result: unknown) => `${JSON.stringify({ ok: true, result })}\r\n`;

describe('invocations', () => {
  test('every operation runs the same script with its values only in the request variable', async () => {
    const { runner, calls } = recordingRunner(ok([]), ok('{"ID":"x"}'), ok('{"ID":"y"}'), ok(''), ok(''));
    const t = new PowerShellTransport({ runner });
    await t.list('network', QUERY);
    await t.get('namespace', NETWORK_ID, QUERY);
    const settings = '{"Name":"SENTINEL-name","SchemaVersion":{"Major":2,"Minor":0}}';
    await t.create({ kind: 'endpoint', networkId: NETWORK_ID, settings, query: QUERY });
    await t.modify('endpoint', NETWORK_ID, '{"ResourceType":"Policy"}');
    await t.delete('network', NETWORK_ID);

    for (const call of calls) {
      expect(call.executable).toBe('powershell.exe');
      expect(call.args).toEqual(['-NoProfile', '-NonInteractive', '-Command', '-']);
      expect(call.stdin).toBe(HCN_SCRIPT);
      expect(Object.keys(call.env)).toEqual([REQUEST_VARIABLE]);
    }
    expect(calls.map((c) => c.env[REQUEST_VARIABLE])).toEqual([
      JSON.stringify({ op: 'list', kind: 'network', id: '', networkId: '', settings: '', query: QUERY }),
      JSON.stringify({
        op: 'get',
        kind: 'namespace',
        id: NETWORK_ID,
        networkId: '',
        settings: '',
        query: QUERY,
      }),
      JSON.stringify({
        op: 'create',
        kind: 'endpoint',
        id: '',
        networkId: NETWORK_ID,
        settings,
        query: QUERY,
      }),
      JSON.stringify({
        op: 'modify',
        kind: 'endpoint',
        id: NETWORK_ID,
        networkId: '',
        settings: '{"ResourceType":"Policy"}',
        query: '',
      }),
      JSON.stringify({
        op: 'delete',
        kind: 'network',
        id: NETWORK_ID,
        networkId: '',
        settings: '',
        query: '',
      }),
    ]);
    expect(HCN_SCRIPT).not.toContain('SENTINEL');
  });

  test('the executable can be chosen (PowerShell 7)', async () => {
    const { runner, calls } = recordingRunner(ok([]));
    await new PowerShellTransport({ executable: 'pwsh.exe', runner }).list('endpoint', QUERY);
    expect(calls[0]?.executable).toBe('pwsh.exe');
    expect(POWERSHELL_ARGS).toEqual(['-NoProfile', '-NonInteractive', '-Command', '-']);
  });
});

describe('the fixed script', () => {
  test('is shaped for -Command - (one block, two trailing newlines, same-line braces, ASCII)', () => {
    expect(HCN_SCRIPT.startsWith('& {\n')).toBe(true);
    expect(HCN_SCRIPT.endsWith('\n}\n\n')).toBe(true);
    expect([...HCN_SCRIPT].filter((c) => c !== '\n' && (c < ' ' || c > '~'))).toEqual([]);
    const lines = HCN_SCRIPT.split('\n');
    expect(lines.filter((l) => /^\s*\{\s*$/.test(l))).toEqual([]);
    // The one empty line allowed is the terminator: anywhere else it would run a partial statement.
    expect(lines.slice(0, -2).filter((l) => l.trim() === '')).toEqual([]);
  });

  test('declares every HCN export it calls and reads its request from the environment', () => {
    for (const kind of ['Network', 'Endpoint', 'Namespace']) {
      for (const fn of [
        `HcnEnumerate${kind}s`,
        `HcnCreate${kind}`,
        `HcnOpen${kind}`,
        `HcnModify${kind}`,
        `HcnQuery${kind}Properties`,
        `HcnDelete${kind}`,
        `HcnClose${kind}`,
      ]) {
        expect(HCN_SCRIPT).toContain(`public static extern int ${fn}(`);
      }
    }
    expect(HCN_SCRIPT).toContain(
      'HcnCreateEndpoint(IntPtr network, [MarshalAs(UnmanagedType.LPStruct)] Guid id',
    );
    expect(HCN_SCRIPT).toContain(`$env:${REQUEST_VARIABLE} | ConvertFrom-Json`);
    expect(HCN_SCRIPT).toContain('ConvertTo-Json -InputObject $value -Depth 10 -Compress');
    expect(HCN_SCRIPT).toContain('@(-2147023728, -2143617023, -2143617022) -contains $hr');
    expect(HCN_SCRIPT).not.toMatch(/Invoke-Expression|iex |EncodedCommand/);
  });
});

describe('answers', () => {
  test('documents come back as the script wrote them; noise before the answer is ignored', async () => {
    const { runner } = recordingRunner(
      `WARNING: something\r\n${ok(['{"ID":"a"}', '{"ID":"b"}'])}`,
      ok('{"ID":"a"}'),
    );
    const t = new PowerShellTransport({ runner });
    expect(await t.list('network', QUERY)).toEqual(['{"ID":"a"}', '{"ID":"b"}']);
    expect(await t.list('network', QUERY)).toEqual(['{"ID":"a"}']);
  });

  test('an HCN failure becomes the same HcnError the FFI transport throws', async () => {
    const record = '{"Success":false,"Error":"Element not found.","ErrorCode":2147943568}';
    const { runner } = recordingRunner(
      `${JSON.stringify({ ok: false, operation: 'HcnOpenNetwork', hresult: -2147023728, record })}\n`,
    );
    const t = new PowerShellTransport({ runner });
    const e = await t.get('network', NETWORK_ID, QUERY).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HcnError);
    expect(e).toMatchObject({
      code: 'notFound',
      hresult: 0x80070490,
      operation: 'HcnOpenNetwork',
      object: `network ${NETWORK_ID}`,
      recordMessage: 'Element not found.',
    });
  });

  test('a script failure, missing output or a wrong shape is a transport error', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        `${JSON.stringify({ ok: false, error: 'Add-Type: compilation failed' })}\n`,
        /the HCN script failed: Add-Type/,
      ],
      ['', /no answer on stdout \(exit code 0; stderr: boom\)/],
      [ok(42), /not a list of documents/],
    ];
    for (const [stdout, message] of cases) {
      const t = new PowerShellTransport({ runner: async () => ({ exitCode: 0, stdout, stderr: 'boom' }) });
      const e = await t.list('network', QUERY).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HcnTransportError);
      expect(String(e)).toMatch(message);
    }
    const t = new PowerShellTransport({
      runner: async () => ({ exitCode: 0, stdout: ok(['x']), stderr: '' }),
    });
    await expect(t.get('network', NETWORK_ID, QUERY)).rejects.toThrow(/expected a document/);
  });
});

describe('the default runner', () => {
  test('feeds the script on stdin and the request in the environment', async () => {
    const run = spawnPowerShellRunner();
    const outcome = await run({
      executable: process.execPath,
      args: [
        '-e',
        `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.stringify([s,process.env.${REQUEST_VARIABLE}])))`,
      ],
      stdin: 'script text',
      env: { [REQUEST_VARIABLE]: '{"op":"list"}' },
    });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual(['script text', '{"op":"list"}']);
  });

  test('an executable that cannot be started is a transport error', async () => {
    const t = new PowerShellTransport({ executable: '/nonexistent/powershell.exe' });
    await expect(t.list('network', QUERY)).rejects.toThrow(HcnTransportError);
  });
});
