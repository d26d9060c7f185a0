/**
 * koffi declarations of the four vmcompute.dll exports crosscni uses to attach an endpoint to a
 * container by its ID (CNI_NETNS not a namespace GUID), with hcsshim's signatures
 * (internal/hns/hns.go, internal/vmcompute/vmcompute.go):
 *   HRESULT HNSCall(PCWSTR method, PCWSTR path, PCWSTR request, PWSTR *response)
 *   HRESULT HcsOpenComputeSystem(PCWSTR id, HCS_SYSTEM *computeSystem, PWSTR *result)
 *   HRESULT HcsModifyComputeSystem(HCS_SYSTEM computeSystem, PCWSTR configuration, PWSTR *result)
 *   HRESULT HcsCloseComputeSystem(HCS_SYSTEM computeSystem)
 * Like bindings.ts, every PWSTR is decoded and released with CoTaskMemFree here, on every path
 * (hcsshim's interop.ConvertAndFreeCoTaskMemString). vmcompute.dll is loaded only when a
 * container attach first needs it, so a host using namespaces never loads it. Judging success
 * is the transport's job (hcs-transport.ts).
 */
import type { LibraryHandle } from 'koffi';
import { HcnTransportError } from '../errors.ts';
import {
  type HcnCallResult,
  type HcnHandle,
  type NativeFunction,
  callAsync,
  declareCoTaskMemFree,
  handleTypes,
  invoke,
  loadOnce,
  pointerOf,
  takeStrings,
} from './bindings.ts';
import { type HcnLibraryPaths, importKoffi } from './library.ts';

export interface HnsCallResult {
  hresult: number;
  /** HNS's answer document ({"Success":...,"Output":...}), or null when it gave none. */
  response: string | null;
}

export interface HcsHandleResult extends HcnCallResult {
  handle: HcnHandle | null;
}

export interface VmcomputeNative {
  hnsCall(method: string, path: string, request: string): Promise<HnsCallResult>;
  /** `record` is the HCS result document (Error, ErrorMessage), null when HCS set none. */
  openComputeSystem(id: string): Promise<HcsHandleResult>;
  modifyComputeSystem(handle: HcnHandle, configuration: string): Promise<HcnCallResult>;
  closeComputeSystem(handle: HcnHandle): Promise<number>;
}

function loadLibraries(koffi: Awaited<ReturnType<typeof importKoffi>>, paths: HcnLibraryPaths) {
  try {
    const vmcompute = koffi.load(paths.vmcompute);
    const ole32: LibraryHandle = paths.ole32 === paths.vmcompute ? vmcompute : koffi.load(paths.ole32);
    return { vmcompute, ole32 };
  } catch (e) {
    throw new HcnTransportError(
      'ffi',
      `cannot load ${paths.vmcompute} and ${paths.ole32} (attaching an endpoint to a container by ID needs the Windows Containers feature)`,
      { cause: e },
    );
  }
}

async function load(paths: HcnLibraryPaths): Promise<VmcomputeNative> {
  const koffi = await importKoffi();
  const { vmcompute, ole32 } = loadLibraries(koffi, paths);
  const t = handleTypes(koffi);
  const coTaskMemFree = declareCoTaskMemFree(ole32);
  const winapi = (name: string, params: Parameters<LibraryHandle['func']>[3]): NativeFunction =>
    vmcompute.func('__stdcall', name, 'int32_t', params);
  const fns = {
    hnsCall: winapi('HNSCall', ['str16', 'str16', 'str16', t.outString]),
    open: winapi('HcsOpenComputeSystem', ['str16', t.outHandle, t.outString]),
    modify: winapi('HcsModifyComputeSystem', [t.handle, 'str16', t.outString]),
    close: winapi('HcsCloseComputeSystem', [t.handle]),
  };
  const take = (...cells: unknown[]) => takeStrings(koffi, coTaskMemFree, cells);

  return {
    async hnsCall(method, path, request) {
      const { hresult, cells } = await invoke(fns.hnsCall, [method, path, request], 1);
      const [response] = take(cells[0]);
      return { hresult, response };
    },
    async openComputeSystem(id) {
      const { hresult, cells } = await invoke(fns.open, [id], 2);
      const [record] = take(cells[1]);
      return { hresult, handle: pointerOf(cells[0]), record };
    },
    async modifyComputeSystem(handle, configuration) {
      const { hresult, cells } = await invoke(fns.modify, [handle, configuration], 1);
      const [record] = take(cells[0]);
      return { hresult, record };
    },
    closeComputeSystem: (handle) => callAsync(fns.close, [handle]),
  };
}

const loaded = new Map<string, Promise<VmcomputeNative>>();

/** The bindings for `paths`, loaded on first use and shared afterwards. */
export function loadVmcomputeNative(paths: HcnLibraryPaths): Promise<VmcomputeNative> {
  return loadOnce(loaded, `${paths.vmcompute}\0${paths.ole32}`, () => load(paths));
}
