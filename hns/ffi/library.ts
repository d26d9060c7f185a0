/**
 * Where the HCN functions live and how koffi is reached. On Windows they are computenetwork.dll,
 * vmcompute.dll (HNSCall and the HCS compute-system calls, for attaching an endpoint to a
 * container by ID) and ole32.dll (CoTaskMemFree); tests point all three at the emulator library. koffi is
 * imported only when a transport first needs it, so a run that never touches HCN (every Linux
 * run, VERSION) never loads a native addon. Declaring functions is bindings.ts's job.
 */
import type KoffiDefault from 'koffi';
import { HcnTransportError } from '../errors.ts';

export type Koffi = typeof KoffiDefault;

export interface HcnLibraryPaths {
  /** Library exporting HcnEnumerateNetworks and the other HCN v2 functions. */
  computenetwork: string;
  /** Library exporting HNSCall, HcsOpenComputeSystem, HcsModifyComputeSystem, HcsCloseComputeSystem. */
  vmcompute: string;
  /** Library exporting CoTaskMemFree. */
  ole32: string;
}

export const WINDOWS_LIBRARY_PATHS: Readonly<HcnLibraryPaths> = Object.freeze({
  computenetwork: 'computenetwork.dll',
  vmcompute: 'vmcompute.dll',
  ole32: 'ole32.dll',
});

/** Every role served by one library, as the emulator does. */
export function singleLibraryPaths(path: string): HcnLibraryPaths {
  return { computenetwork: path, vmcompute: path, ole32: path };
}

let koffiPromise: Promise<Koffi> | undefined;

export function importKoffi(): Promise<Koffi> {
  koffiPromise ??= import('koffi').then(
    // koffi is CommonJS: every loader (Node, vitest, the esbuild bundle) gives its exports as default.
    (mod) => mod.default,
    (e: unknown) => {
      koffiPromise = undefined;
      throw new HcnTransportError(
        'ffi',
        `cannot load koffi, the FFI library (is it installed for ${process.platform}-${process.arch}?)`,
        {
          cause: e,
        },
      );
    },
  );
  return koffiPromise;
}
