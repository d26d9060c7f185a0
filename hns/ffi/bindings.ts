/**
 * koffi declarations of the HCN v2 functions (computenetwork.dll) and CoTaskMemFree (ole32.dll),
 * with the C signatures of hcn.md's table: REFGUID as a pointer to a 16-byte GUID struct, PCWSTR
 * as UTF-16 strings, PWSTR* out-parameters, opaque handles. Each call runs on koffi's worker
 * thread (HCN calls can take seconds) and returns the raw HRESULT and out-values; every PWSTR
 * HCN hands back is decoded and released with CoTaskMemFree here, on every path, before the
 * caller sees it. Judging success (HRESULT and error record) is the transport's job, not this one's.
 */
import type { LibraryHandle, TypeObject } from 'koffi';
import { HcnTransportError } from '../errors.ts';
import type { GuidFields } from '../guid.ts';
import { HCN_KIND_NAME, type HcnObjectKind } from '../transport.ts';
import { type HcnLibraryPaths, type Koffi, importKoffi } from './library.ts';

/** An open HCN_NETWORK / HCN_ENDPOINT / HCN_NAMESPACE handle: an opaque pointer. */
export type HcnHandle = bigint;

export interface HcnCallResult {
  /** As returned: a signed 32-bit HRESULT. */
  hresult: number;
  /** The error record's text, or null when HCN set none. */
  record: string | null;
}

export interface HcnStringResult extends HcnCallResult {
  value: string | null;
}

export interface HcnHandleResult extends HcnCallResult {
  handle: HcnHandle | null;
}

/** One method per HCN export (per kind, as HCN has one export per kind). */
export interface HcnNative {
  enumerate(kind: HcnObjectKind, query: string): Promise<HcnStringResult>;
  create(kind: 'network' | 'namespace', id: GuidFields, settings: string): Promise<HcnHandleResult>;
  createEndpoint(network: HcnHandle, id: GuidFields, settings: string): Promise<HcnHandleResult>;
  open(kind: HcnObjectKind, id: GuidFields): Promise<HcnHandleResult>;
  modify(kind: HcnObjectKind, handle: HcnHandle, settings: string): Promise<HcnCallResult>;
  query(kind: HcnObjectKind, handle: HcnHandle, query: string): Promise<HcnStringResult>;
  delete(kind: HcnObjectKind, id: GuidFields): Promise<HcnCallResult>;
  close(kind: HcnObjectKind, handle: HcnHandle): Promise<number>;
}

export type NativeFunction = ReturnType<LibraryHandle['func']>;
type Operation = 'enumerate' | 'create' | 'open' | 'modify' | 'query' | 'delete' | 'close';

interface Types {
  refGuid: TypeObject;
  handle: TypeObject;
  outHandle: ReturnType<Koffi['out']>;
  outString: ReturnType<Koffi['out']>;
}

let sharedTypes: Types | undefined;

/** Defined once per process and anonymous: koffi's named types are global, libraries are not. */
function types(koffi: Koffi): Types {
  if (!sharedTypes) {
    const guid = koffi.struct({
      Data1: 'uint32_t',
      Data2: 'uint16_t',
      Data3: 'uint16_t',
      Data4: koffi.array('uint8_t', 8),
    });
    const handle = koffi.pointer(koffi.opaque());
    sharedTypes = {
      refGuid: koffi.pointer(guid),
      handle,
      outHandle: koffi.out(koffi.pointer(handle)),
      // PWSTR* is read as a raw pointer, so it can be freed after decoding.
      outString: koffi.out(koffi.pointer('void', 2)),
    };
  }
  return sharedTypes;
}

/** HCN's exports are WINAPI (__stdcall): that matters on 32-bit x86 only, koffi ignores it elsewhere. */
function winapi(
  lib: LibraryHandle,
  name: string,
  params: Parameters<LibraryHandle['func']>[3],
): NativeFunction {
  return lib.func('__stdcall', name, 'int32_t', params);
}

function declareKind(lib: LibraryHandle, t: Types, kind: HcnObjectKind): Record<Operation, NativeFunction> {
  const k = HCN_KIND_NAME[kind];
  return {
    enumerate: winapi(lib, `HcnEnumerate${k}s`, ['str16', t.outString, t.outString]),
    create:
      kind === 'endpoint'
        ? winapi(lib, 'HcnCreateEndpoint', [t.handle, t.refGuid, 'str16', t.outHandle, t.outString])
        : winapi(lib, `HcnCreate${k}`, [t.refGuid, 'str16', t.outHandle, t.outString]),
    open: winapi(lib, `HcnOpen${k}`, [t.refGuid, t.outHandle, t.outString]),
    modify: winapi(lib, `HcnModify${k}`, [t.handle, 'str16', t.outString]),
    query: winapi(lib, `HcnQuery${k}Properties`, [t.handle, 'str16', t.outString, t.outString]),
    delete: winapi(lib, `HcnDelete${k}`, [t.refGuid, t.outString]),
    close: winapi(lib, `HcnClose${k}`, [t.handle]),
  };
}

/** Runs a native function on koffi's worker thread; resolves to its HRESULT. */
export function callAsync(fn: NativeFunction, args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: unknown) => (err ? reject(err) : resolve(Number(result))));
  });
}

export function pointerOf(cell: unknown): bigint | null {
  return typeof cell === 'bigint' && cell !== 0n ? cell : null;
}

/** Calls a function whose trailing parameters are out-values; the caller frees its strings. */
export async function invoke(
  fn: NativeFunction,
  args: unknown[],
  outs: number,
): Promise<{ hresult: number; cells: unknown[] }> {
  const cells: Array<[unknown]> = Array.from({ length: outs }, () => [null]);
  const hresult = await callAsync(fn, [...args, ...cells]);
  return { hresult, cells: cells.map((c) => c[0]) };
}

/** Reads every PWSTR in `cells` and frees each with CoTaskMemFree, even if one fails to decode. */
export function takeStrings(
  koffi: Koffi,
  coTaskMemFree: NativeFunction,
  cells: unknown[],
): Array<string | null> {
  let failure: unknown;
  const values = cells.map((cell) => {
    const ptr = pointerOf(cell);
    if (ptr === null) return null;
    try {
      return String(koffi.decode(ptr, 'char16_t', -1));
    } catch (e) {
      failure ??= e;
      return null;
    } finally {
      coTaskMemFree(ptr);
    }
  });
  if (failure) throw failure;
  return values;
}

/** Declares CoTaskMemFree, which releases every PWSTR HCN and HCS hand out. */
export function declareCoTaskMemFree(ole32: LibraryHandle): NativeFunction {
  return ole32.func('__stdcall', 'CoTaskMemFree', 'void', ['void *']);
}

/** The handle, handle* and PWSTR* types, shared by the HCN and HCS (vmcompute.ts) bindings. */
export function handleTypes(koffi: Koffi): Pick<Types, 'handle' | 'outHandle' | 'outString'> {
  return types(koffi);
}

function loadLibraries(koffi: Koffi, paths: HcnLibraryPaths): { hcn: LibraryHandle; ole32: LibraryHandle } {
  try {
    const hcn = koffi.load(paths.computenetwork);
    return { hcn, ole32: paths.ole32 === paths.computenetwork ? hcn : koffi.load(paths.ole32) };
  } catch (e) {
    throw new HcnTransportError(
      'ffi',
      `cannot load ${paths.computenetwork} and ${paths.ole32} (HCN needs Windows Server 2019 / Windows 10 1809 or later)`,
      { cause: e },
    );
  }
}

async function load(paths: HcnLibraryPaths): Promise<HcnNative> {
  const koffi = await importKoffi();
  const { hcn, ole32 } = loadLibraries(koffi, paths);
  const t = types(koffi);
  const coTaskMemFree = declareCoTaskMemFree(ole32);
  const fns: Record<HcnObjectKind, Record<Operation, NativeFunction>> = {
    network: declareKind(hcn, t, 'network'),
    endpoint: declareKind(hcn, t, 'endpoint'),
    namespace: declareKind(hcn, t, 'namespace'),
  };

  const take = (...cells: unknown[]) => takeStrings(koffi, coTaskMemFree, cells);

  const withHandle = async (fn: NativeFunction, args: unknown[]): Promise<HcnHandleResult> => {
    const { hresult, cells } = await invoke(fn, args, 2);
    const [record] = take(cells[1]);
    return { hresult, handle: pointerOf(cells[0]), record };
  };

  return {
    async enumerate(kind, query) {
      const { hresult, cells } = await invoke(fns[kind].enumerate, [query], 2);
      const [value, record] = take(cells[0], cells[1]);
      return { hresult, value, record };
    },
    create: (kind, id, settings) => withHandle(fns[kind].create, [id, settings]),
    createEndpoint: (network, id, settings) => withHandle(fns.endpoint.create, [network, id, settings]),
    open: (kind, id) => withHandle(fns[kind].open, [id]),
    async modify(kind, handle, settings) {
      const { hresult, cells } = await invoke(fns[kind].modify, [handle, settings], 1);
      const [record] = take(cells[0]);
      return { hresult, record };
    },
    async query(kind, handle, query) {
      const { hresult, cells } = await invoke(fns[kind].query, [handle, query], 2);
      const [value, record] = take(cells[0], cells[1]);
      return { hresult, value, record };
    },
    async delete(kind, id) {
      const { hresult, cells } = await invoke(fns[kind].delete, [id], 1);
      const [record] = take(cells[0]);
      return { hresult, record };
    },
    close: (kind, handle) => callAsync(fns[kind].close, [handle]),
  };
}

/**
 * `load()` once per `key`, shared by every caller; a failed load is forgotten so the next call
 * tries again.
 */
export function loadOnce<T>(
  loaded: Map<string, Promise<T>>,
  key: string,
  load: () => Promise<T>,
): Promise<T> {
  let native = loaded.get(key);
  if (!native) {
    native = load();
    loaded.set(key, native);
    native.catch(() => loaded.delete(key));
  }
  return native;
}

const loaded = new Map<string, Promise<HcnNative>>();

/** The bindings for `paths`, loaded on first use and shared afterwards. */
export function loadHcnNative(paths: HcnLibraryPaths): Promise<HcnNative> {
  return loadOnce(loaded, `${paths.computenetwork}\0${paths.ole32}`, () => load(paths));
}
