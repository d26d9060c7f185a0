/**
 * The HCN emulator's test hooks (EmuReset, EmuFailNext, EmuOutstandingAllocations, EmuBadFrees,
 * EmuOpenHandles, and for the vmcompute.dll part EmuCreateComputeSystem, EmuRemoveComputeSystem,
 * EmuSetHnsVersion) bound with koffi. They exist only in the emulator library — a test double,
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
  /** A running compute system (container) with this ID appears; false if it already exists. */
  createComputeSystem(id: string): boolean;
  /** The compute system stops and is gone, with its endpoint attachments; false if unknown. */
  removeComputeSystem(id: string): boolean;
  /** What HNSCall GET /globals/version reports until the next reset. */
  setHnsVersion(major: number, minor: number): void;
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
  const createComputeSystem = lib.func('EmuCreateComputeSystem', 'int32_t', ['str']);
  const removeComputeSystem = lib.func('EmuRemoveComputeSystem', 'int32_t', ['str']);
  const setHnsVersion = lib.func('EmuSetHnsVersion', 'void', ['int32_t', 'int32_t']);
  return {
    reset: () => void reset(),
    // HRESULTs are signed in C; 0x8007xxxx constants are written unsigned in TypeScript.
    failNext: (name, hresult) => void failNext(name, hresult | 0),
    outstandingAllocations: () => Number(outstanding()),
    badFrees: () => Number(badFrees()),
    openHandles: () => Number(openHandles()),
    createComputeSystem: (id) => Number(createComputeSystem(id)) === 0,
    removeComputeSystem: (id) => Number(removeComputeSystem(id)) === 0,
    setHnsVersion: (major, minor) => void setHnsVersion(major, minor),
  };
}
