// Types of sea-blob.mjs, for the TypeScript tests that read the built executables.
export declare const SEA_MAGIC: number;
export declare const SEA_RESOURCE: string;
export declare const SEA_FUSE: string;

export interface SeaBlob {
  codePath: string;
  code: string;
  warningDisabled: boolean;
  usesSnapshot: boolean;
  usesCodeCache: boolean;
}

export declare function makeSeaBlob(paths: {
  mainScript: string;
  blobPath: string;
  configPath: string;
}): void;
export declare function readSeaBlob(blob: Buffer): SeaBlob;
