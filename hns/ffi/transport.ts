/**
 * The HCN transport over FFI: HcnTransport's operations as sequences of raw HCN calls (open,
 * query, close...), the way hcsshim's hcn package composes them. A call fails when its HRESULT
 * is negative or its error record is non-empty (hcsshim's checkForErrors); that becomes an
 * HcnError naming the function, the object, the HRESULT and HNS's record. Every handle a
 * sequence opens is closed before it returns, on every path. It must not parse HCN's documents
 * beyond the enumerate ID list: that is the client's job.
 */
import { HcnError, isHcnError } from '../errors.ts';
import { guidToFields, normalizeGuid, ZERO_GUID } from '../guid.ts';
import { parseIdList } from '../schema/query.ts';
import {
  HCN_KIND_NAME,
  type HcnCreateRequest,
  type HcnObjectKind,
  type HcnTransport,
  describeNewObject,
} from '../transport.ts';
import {
  type HcnCallResult,
  type HcnHandle,
  type HcnHandleResult,
  type HcnNative,
  loadHcnNative,
} from './bindings.ts';
import { FfiHcsTransport } from './hcs-transport.ts';
import { type HcnLibraryPaths, WINDOWS_LIBRARY_PATHS } from './library.ts';

/** Throws the HcnError for a failed call (hcsshim's rule: bad HRESULT or any error record). */
function check(operation: string, object: string, result: HcnCallResult): void {
  if (result.hresult >= 0 && !result.record) return;
  throw new HcnError({ operation, object, hresult: result.hresult, record: result.record ?? '' });
}

function idFields(kind: HcnObjectKind, id: string, operation: string) {
  const norm = normalizeGuid(id);
  if (!norm) {
    // HCN would answer the same (HCN_E_GUID_CONVERSION_FAILURE) without a round trip.
    throw new HcnError({
      operation,
      object: `${kind} ${JSON.stringify(id)}`,
      hresult: 0x803b0019,
      record: '',
    });
  }
  return guidToFields(norm);
}

export class FfiTransport implements HcnTransport {
  readonly name = 'ffi';
  /** vmcompute.dll's calls, for attaching endpoints to containers by ID; loaded on first use. */
  readonly hcs: FfiHcsTransport;
  readonly #paths: HcnLibraryPaths;
  #native: Promise<HcnNative> | undefined;

  /** Library paths default to Windows' own; tests pass the emulator's. koffi loads on first use. */
  constructor(paths: HcnLibraryPaths = WINDOWS_LIBRARY_PATHS) {
    this.#paths = { ...paths };
    this.hcs = new FfiHcsTransport(this.#paths);
  }

  #load(): Promise<HcnNative> {
    this.#native ??= loadHcnNative(this.#paths);
    this.#native.catch(() => {
      this.#native = undefined;
    });
    return this.#native;
  }

  async list(kind: HcnObjectKind, query: string): Promise<string[]> {
    const native = await this.#load();
    const operation = `HcnEnumerate${HCN_KIND_NAME[kind]}s`;
    const result = await native.enumerate(kind, query);
    check(operation, `${kind}s`, result);
    const documents: string[] = [];
    for (const id of parseIdList(result.value ?? '[]', `${operation} answer`)) {
      try {
        documents.push(await this.#openAndQuery(native, kind, id, query));
      } catch (e) {
        // Deleted between enumerate and open (another plugin's DEL): not part of the answer.
        if (!isHcnError(e, 'notFound')) throw e;
      }
    }
    return documents;
  }

  async get(kind: HcnObjectKind, id: string, query: string): Promise<string> {
    return this.#openAndQuery(await this.#load(), kind, id, query);
  }

  async create(request: HcnCreateRequest): Promise<string> {
    const native = await this.#load();
    const operation = `HcnCreate${HCN_KIND_NAME[request.kind]}`;
    const id = idFields(request.kind, request.id ?? ZERO_GUID, operation);
    const object = describeNewObject(request.kind, request.settings);
    if (request.kind !== 'endpoint') {
      const created = await native.create(request.kind, id, request.settings);
      const handle = await this.#handleOf(native, request.kind, operation, object, created);
      return this.#queryAndClose(native, request.kind, handle, request.query, object);
    }
    const network = await this.#open(native, 'network', request.networkId);
    try {
      const where = `${object} on network ${request.networkId}`;
      const created = await native.createEndpoint(network, id, request.settings);
      const handle = await this.#handleOf(native, 'endpoint', operation, where, created);
      return await this.#queryAndClose(native, 'endpoint', handle, request.query, where);
    } finally {
      await native.close('network', network);
    }
  }

  async modify(kind: HcnObjectKind, id: string, request: string): Promise<void> {
    const native = await this.#load();
    const handle = await this.#open(native, kind, id);
    try {
      check(`HcnModify${HCN_KIND_NAME[kind]}`, `${kind} ${id}`, await native.modify(kind, handle, request));
    } finally {
      await native.close(kind, handle);
    }
  }

  async delete(kind: HcnObjectKind, id: string): Promise<void> {
    const native = await this.#load();
    const operation = `HcnDelete${HCN_KIND_NAME[kind]}`;
    check(operation, `${kind} ${id}`, await native.delete(kind, idFields(kind, id, operation)));
  }

  async #open(native: HcnNative, kind: HcnObjectKind, id: string): Promise<HcnHandle> {
    const operation = `HcnOpen${HCN_KIND_NAME[kind]}`;
    const opened = await native.open(kind, idFields(kind, id, operation));
    return this.#handleOf(native, kind, operation, `${kind} ${id}`, opened);
  }

  /** The handle a create or open call produced, or its HcnError; a handle from a failed call is closed. */
  async #handleOf(
    native: HcnNative,
    kind: HcnObjectKind,
    operation: string,
    object: string,
    result: HcnHandleResult,
  ): Promise<HcnHandle> {
    try {
      check(operation, object, result);
    } catch (e) {
      if (result.handle !== null) await native.close(kind, result.handle);
      throw e;
    }
    if (result.handle === null) {
      // Success without a handle breaks HCN's contract; E_HANDLE says so in HCN's own terms.
      throw new HcnError({ operation, object, hresult: 0x80070006, record: 'HCN returned no handle' });
    }
    return result.handle;
  }

  async #openAndQuery(native: HcnNative, kind: HcnObjectKind, id: string, query: string): Promise<string> {
    const handle = await this.#open(native, kind, id);
    return this.#queryAndClose(native, kind, handle, query, `${kind} ${id}`);
  }

  /** The object's properties; the handle is closed whatever happens. */
  async #queryAndClose(
    native: HcnNative,
    kind: HcnObjectKind,
    handle: HcnHandle,
    query: string,
    object: string,
  ): Promise<string> {
    try {
      const result = await native.query(kind, handle, query);
      check(`HcnQuery${HCN_KIND_NAME[kind]}Properties`, object, result);
      return result.value ?? '';
    } finally {
      // A failed close leaves nothing the caller could act on; the operation's outcome stands.
      await native.close(kind, handle);
    }
  }
}
