/**
 * What `crosscni install` plans to write, shared by the plain layout (install.ts) and the agent
 * layout (install-agent.ts): the planned-file record, how a crosscni executable is recognised,
 * and the check that a conflist is loadable before it is copied. Planning only; nothing is
 * written here.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BUILD_MARKER } from '../plugins/attachment/ipam-client.ts';
import { CliError } from './cli-options.ts';
import { loadNetworkListFile, loadSingleConfigFile } from './load-config.ts';

/** 'bundle': a full plugin bundle or its code cache in crosscni-bundles/, loaded by the plugin executable. */
export type FileKind = 'plugin' | 'addon' | 'bundle' | 'conflist';

export interface PlannedFile {
  source: string;
  target: string;
  kind: FileKind;
  data: Buffer;
  /** Default: 644 for conflists and bundles, 755 otherwise. */
  mode?: number;
}

export function hasBundleMarker(file: string): boolean {
  const head = Buffer.alloc(256);
  const fd = openSync(file, 'r');
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('latin1').includes(BUILD_MARKER);
  } finally {
    closeSync(fd);
  }
}

export function planConflist(file: string, confDir: string): PlannedFile {
  // A conflist the runtime cannot load would make the node NotReady: refuse it before copying.
  try {
    if (file.endsWith('.conflist')) loadNetworkListFile(file);
    else loadSingleConfigFile(file);
  } catch (e) {
    throw new CliError(
      `crosscni install: ${file} is not a loadable network configuration: ${(e as Error).message}`,
    );
  }
  return { source: file, target: join(confDir, basename(file)), kind: 'conflist', data: readFileSync(file) };
}
