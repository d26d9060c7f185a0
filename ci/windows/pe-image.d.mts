// Types of pe-image.mjs, for the TypeScript tests that read the built executables.
export declare const MACHINE_AMD64: number;

export interface PeHeaders {
  peOffset: number;
  machine: number;
  isDll: boolean;
  subsystem: number;
  checksumAt: number;
  directories: Array<{ at: number; rva: number; size: number }>;
  sections: Array<{
    name: string;
    virtualSize: number;
    virtualAddress: number;
    rawSize: number;
    rawOffset: number;
  }>;
}

export declare function readPeHeaders(image: Buffer): PeHeaders;
export declare function findRcDataResource(image: Buffer, name: string): Buffer | undefined;
export declare function withoutSignature(image: Buffer): Buffer;
export declare function updateChecksum(image: Buffer): Buffer;
export declare function checksums(image: Buffer): { stored: number; computed: number };
export declare function markDosStub(image: Buffer, marker: string, window: number): boolean;
