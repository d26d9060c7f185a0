/**
 * The HCN emulator's test hooks (EmuReset, EmuFailNext, EmuOutstandingAllocations, EmuBadFrees,
 * EmuOpenHandles) bound with koffi. They exist only in the emulator library — a test double,
 * not computenetwork.dll — so only tests may load this module.
 */
import { importKoffi } from '../ffi/library.ts';

export interface EmulatorHooks {
  /** Forgets every network, endpoint, namespace, handle, armed failure and allocation. */
  reset(): void;
  /** The next call of `functionName` fails with `hresult` (>= 0: succeeds with an error record). */
  failNext(functionName: string, hresult: number): void;
  /** Strings HCN handed out that were not yet released with CoTaskMemFree. */
  outstandingAllocations(): number;
  /** CoTaskMemFree calls on pointers never handed out, or freed twice. */
  badFrees(): number;
  /** Handles opened or created and not yet closed. */
  openHandles(): number;
}

export async function loadEmulatorHooks(libraryPath: string): Promise<EmulatorHooks> {
  const koffi = await importKoffi();
  // koffi.load of a path already loaded shares the one dlopen handle, hence the same state.
  const lib = koffi.load(libraryPath);
  const reset = lib.func('EmuReset', 'void', []);
  const failNext = lib.func('EmuFailNext', 'void', ['str', 'int32_t']);
  const outstanding = lib.func('EmuOutstandingAllocations', 'int32_t', []);
  const badFrees = lib.func('EmuBadFrees', 'int32_t', []);
  const openHandles = lib.func('EmuOpenHandles', 'int32_t', []);
  return {
    reset: () => void reset(),
    // HRESULTs are signed in C; 0x8007xxxx constants are written unsigned in TypeScript.
    failNext: (name, hresult) => void failNext(name, hresult | 0),
    outstandingAllocations: () => Number(outstanding()),
    badFrees: () => Number(badFrees()),
    openHandles: () => Number(openHandles()),
  };
}
