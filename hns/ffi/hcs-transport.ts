/**
 * HcsTransport over FFI to vmcompute.dll: HNS v1 requests (HNSCall) and the open / modify / close
 * sequence on a compute system that hcsshim's HotAttachEndpoint and HotDetachEndpoint run. An
 * HNSCall fails when its HRESULT is negative or its answer says "Success":false (hcsshim's
 * hnsCall); an HCS call fails when its HRESULT is negative (hcsshim's vmcompute wrappers: the
 * result document only explains). Every compute-system handle opened is closed before return,
 * on every path. Reading what an answer's Output means is the client's job, not this one's.
 */
import { HcnError, HcnResponseError } from '../errors.ts';
import { HRESULT } from '../hresult.ts';
import type { HcsTransport } from '../transport.ts';
import type { HcnHandle } from './bindings.ts';
import type { HcnLibraryPaths } from './library.ts';
import { type VmcomputeNative, loadVmcomputeNative } from './vmcompute.ts';

export class FfiHcsTransport implements HcsTransport {
  readonly #paths: HcnLibraryPaths;
  #native: Promise<VmcomputeNative> | undefined;

  constructor(paths: HcnLibraryPaths) {
    this.#paths = { ...paths };
  }

  #load(): Promise<VmcomputeNative> {
    this.#native ??= loadVmcomputeNative(this.#paths);
    this.#native.catch(() => {
      this.#native = undefined;
    });
    return this.#native;
  }

  async hnsCall(method: 'GET' | 'POST' | 'DELETE', path: string, request: string): Promise<string> {
    const native = await this.#load();
    const object = `${method} ${path}`;
    const { hresult, response } = await native.hnsCall(method, path, request);
    if (hresult < 0) throw new HcnError({ operation: 'HNSCall', object, hresult, record: response ?? '' });
    let answer: unknown;
    try {
      answer = JSON.parse(response ?? '');
    } catch {
      throw new HcnResponseError(`HNSCall ${object}`, 'the answer is not JSON');
    }
    if (!answer || typeof answer !== 'object' || Array.isArray(answer)) {
      throw new HcnResponseError(`HNSCall ${object}`, 'the answer is not a JSON object');
    }
    const envelope = answer as { Success?: unknown; ErrorCode?: unknown; Output?: unknown };
    if (envelope.Success !== true) {
      // HNS v1 reports failures in the answer; its ErrorCode is the HRESULT when it gives one.
      const code =
        typeof envelope.ErrorCode === 'number' && envelope.ErrorCode !== 0
          ? envelope.ErrorCode
          : HRESULT.E_FAIL;
      throw new HcnError({ operation: 'HNSCall', object, hresult: code, record: response ?? '' });
    }
    return envelope.Output === undefined ? '' : JSON.stringify(envelope.Output);
  }

  async modifyComputeSystem(id: string, request: string): Promise<void> {
    const native = await this.#load();
    const object = `compute system ${JSON.stringify(id)}`;
    const opened = await native.openComputeSystem(id);
    if (opened.hresult < 0 || opened.handle === null) {
      if (opened.handle !== null) await native.closeComputeSystem(opened.handle);
      throw new HcnError({
        operation: 'HcsOpenComputeSystem',
        object,
        // Success without a handle breaks the contract; E_HANDLE says so in its own terms.
        hresult: opened.hresult < 0 ? opened.hresult : HRESULT.E_HANDLE,
        record: opened.record ?? (opened.hresult < 0 ? '' : 'HCS returned no handle'),
      });
    }
    const handle: HcnHandle = opened.handle;
    try {
      const modified = await native.modifyComputeSystem(handle, request);
      if (modified.hresult < 0) {
        throw new HcnError({
          operation: 'HcsModifyComputeSystem',
          object,
          hresult: modified.hresult,
          record: modified.record ?? '',
        });
      }
    } finally {
      // A failed close leaves nothing the caller could act on; the operation's outcome stands.
      await native.closeComputeSystem(handle);
    }
  }
}
