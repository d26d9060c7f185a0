/**
 * A PowerShellRunner for tests that answers as the fixed HCN script would, by carrying the
 * request out with the FFI transport on the HCN emulator. It lets the PowerShell transport's
 * TypeScript half (request building, answer parsing, errors) be exercised against the same HCN
 * rules as the FFI transport on a machine without PowerShell. It does not run the script itself.
 */
import { HcnError } from '../../hns/errors.ts';
import type { FfiTransport } from '../../hns/ffi/transport.ts';
import type { PowerShellRunner } from '../../hns/powershell/runner.ts';
import { REQUEST_VARIABLE } from '../../hns/powershell/script.ts';
import type { PowerShellRequest } from '../../hns/powershell/transport.ts';

export function emulatedPowerShellRunner(ffi: FfiTransport): PowerShellRunner {
  return async (invocation) => {
    const request = JSON.parse(invocation.env[REQUEST_VARIABLE] ?? '{}') as PowerShellRequest;
    let answer: Record<string, unknown>;
    try {
      answer = { ok: true, result: await perform(ffi, request) };
    } catch (e) {
      if (!(e instanceof HcnError)) throw e;
      // The script reports the HRESULT as the signed int P/Invoke returns.
      answer = { ok: false, operation: e.operation, hresult: e.hresult | 0, record: e.record };
    }
    return { exitCode: 0, stdout: `${JSON.stringify(answer)}\r\n`, stderr: '' };
  };
}

async function perform(ffi: FfiTransport, r: PowerShellRequest): Promise<string | string[]> {
  switch (r.op) {
    case 'list':
      return ffi.list(r.kind, r.query);
    case 'get':
      return ffi.get(r.kind, r.id, r.query);
    case 'create':
      return r.kind === 'endpoint'
        ? ffi.create({
            kind: 'endpoint',
            networkId: r.networkId,
            id: r.id || undefined,
            settings: r.settings,
            query: r.query,
          })
        : ffi.create({ kind: r.kind, id: r.id || undefined, settings: r.settings, query: r.query });
    case 'modify':
      await ffi.modify(r.kind, r.id, r.settings);
      return '';
    case 'delete':
      await ffi.delete(r.kind, r.id);
      return '';
  }
}
