// Types of sea-executable.mjs, for the TypeScript tests that read the built executables.
import type { SeaBlob } from './sea-blob.mjs';

export declare const MARKER_WINDOW_BYTES: number;

export interface SeaExecutable {
  bytes: number;
  machine: number;
  isDll: boolean;
  subsystem: number;
  signed: boolean;
  checksumValid: boolean;
  fuse: string | undefined;
  fuseCount: number;
  head: string;
  blob: Buffer | undefined;
  sea: SeaBlob | undefined;
}

export declare function writeSeaExecutable(options: {
  nodeExe: string;
  blob: Buffer;
  output: string;
  postjectDir: string;
  marker: string;
}): Promise<boolean>;
export declare function inspectSeaExecutable(file: string): SeaExecutable;
