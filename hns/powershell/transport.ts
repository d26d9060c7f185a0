/**
 * The HCN transport over PowerShell: each HcnTransport operation is one run of the fixed script
 * (script.ts) as `powershell.exe -NoProfile -NonInteractive -Command -`, with the operation's
 * values in one JSON request passed through an environment variable, and the script's one-line
 * JSON answer turned into the same results and HcnErrors the FFI transport gives. It is the
 * fallback where koffi cannot load, and a diagnostic path; each run pays PowerShell's start-up
 * and Add-Type's compile (seconds), so it is never the default. It must not build or parse HCN
 * documents; the client does.
 *
 * It has no `hcs` (HcsTransport): attaching an endpoint to a container by ID (CNI_NETNS not a
 * namespace GUID) is refused with an HcnTransportError naming the FFI transport. The inbox
 * HostNetworkingService module has no attach cmdlet (only Get-/Remove-), and the gallery HNS
 * module's Attach-HnsEndpoint is HNS v1's /endpoints/<id>/attach, not the HCS hot attach
 * (HcsModifyComputeSystem) hcsshim and win-bridge use, and is not installed by default.
 */
import { HcnError, HcnTransportError } from '../errors.ts';
import { isJsonObject } from '../schema/json-reader.ts';
import {
  type HcnCreateRequest,
  type HcnObjectKind,
  type HcnTransport,
  describeNewObject,
} from '../transport.ts';
import { type PowerShellOutcome, type PowerShellRunner, spawnPowerShellRunner } from './runner.ts';
import { HCN_SCRIPT, REQUEST_VARIABLE } from './script.ts';

export const POWERSHELL_ARGS: readonly string[] = Object.freeze([
  '-NoProfile',
  '-NonInteractive',
  '-Command',
  '-',
]);

/** The request the script reads; every key is always present so the script needs no defaults. */
export interface PowerShellRequest {
  op: 'list' | 'get' | 'create' | 'modify' | 'delete';
  kind: HcnObjectKind;
  id: string;
  networkId: string;
  settings: string;
  query: string;
}

export interface PowerShellTransportOptions {
  /** Default "powershell.exe" (Windows PowerShell 5.1, present on every container host). */
  executable?: string;
  /** Default: spawn the process. Tests inject one that records the invocation. */
  runner?: PowerShellRunner;
}

export class PowerShellTransport implements HcnTransport {
  readonly name = 'powershell';
  readonly #executable: string;
  readonly #runner: PowerShellRunner;

  constructor(options: PowerShellTransportOptions = {}) {
    this.#executable = options.executable ?? 'powershell.exe';
    this.#runner = options.runner ?? spawnPowerShellRunner();
  }

  async list(kind: HcnObjectKind, query: string): Promise<string[]> {
    const result = await this.#run({ op: 'list', kind, query }, `${kind}s`);
    // ConvertTo-Json writes a one-element string[] as an array; tolerate a bare string anyway.
    const items = typeof result === 'string' ? [result] : result;
    if (!Array.isArray(items) || !items.every((d): d is string => typeof d === 'string')) {
      throw this.#unreadable(`list ${kind}s answered ${JSON.stringify(result)}, not a list of documents`);
    }
    return items;
  }

  async get(kind: HcnObjectKind, id: string, query: string): Promise<string> {
    return this.#text(await this.#run({ op: 'get', kind, id, query }, `${kind} ${id}`));
  }

  async create(request: HcnCreateRequest): Promise<string> {
    const object = describeNewObject(request.kind, request.settings);
    const networkId = request.kind === 'endpoint' ? request.networkId : '';
    const where = networkId ? `${object} on network ${networkId}` : object;
    const { kind, settings, query } = request;
    return this.#text(
      await this.#run({ op: 'create', kind, id: request.id ?? '', networkId, settings, query }, where),
    );
  }

  async modify(kind: HcnObjectKind, id: string, request: string): Promise<void> {
    await this.#run({ op: 'modify', kind, id, settings: request }, `${kind} ${id}`);
  }

  async delete(kind: HcnObjectKind, id: string): Promise<void> {
    await this.#run({ op: 'delete', kind, id }, `${kind} ${id}`);
  }

  async #run(fields: Partial<PowerShellRequest> & Pick<PowerShellRequest, 'op' | 'kind'>, object: string) {
    const request: PowerShellRequest = {
      op: fields.op,
      kind: fields.kind,
      id: fields.id ?? '',
      networkId: fields.networkId ?? '',
      settings: fields.settings ?? '',
      query: fields.query ?? '',
    };
    const outcome = await this.#runner({
      executable: this.#executable,
      args: POWERSHELL_ARGS,
      stdin: HCN_SCRIPT,
      env: { [REQUEST_VARIABLE]: JSON.stringify(request) },
    });
    const answer = this.#answer(outcome);
    if (answer.ok === true) return answer.result;
    if (typeof answer.operation === 'string' && typeof answer.hresult === 'number') {
      const record = typeof answer.record === 'string' ? answer.record : '';
      throw new HcnError({ operation: answer.operation, object, hresult: answer.hresult, record });
    }
    const reason = typeof answer.error === 'string' ? answer.error : JSON.stringify(answer);
    throw new HcnTransportError('powershell', `${request.op} ${object}: the HCN script failed: ${reason}`);
  }

  /** The script's answer is the last stdout line that is a JSON object with a boolean "ok". */
  #answer(outcome: PowerShellOutcome): Record<string, unknown> {
    const lines = outcome.stdout.split(/\r?\n/).filter((l) => l.trim().startsWith('{'));
    for (const line of lines.reverse()) {
      try {
        const value: unknown = JSON.parse(line);
        if (isJsonObject(value) && typeof value.ok === 'boolean') return value;
      } catch {
        // Not the answer line; keep looking.
      }
    }
    const stderr = outcome.stderr.trim().split(/\r?\n/).slice(-5).join(' | ');
    throw this.#unreadable(
      `no answer on stdout (exit code ${String(outcome.exitCode)}${stderr ? `; stderr: ${stderr}` : ''})`,
    );
  }

  #text(result: unknown): string {
    if (typeof result !== 'string')
      throw this.#unreadable(`expected a document, got ${JSON.stringify(result)}`);
    return result;
  }

  #unreadable(problem: string): HcnTransportError {
    return new HcnTransportError('powershell', `${this.#executable}: ${problem}`);
  }
}
