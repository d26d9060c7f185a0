/**
 * Test harness for the Windows backend on Linux: builds the HCN emulator (a test double of
 * computenetwork.dll), binds its hooks, and gives each test a fresh emulator state plus the
 * after-test check that every string HCN handed out was freed and every handle closed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { buildEmulator } from '../../hns/emulator/build.ts';
import { type EmulatorHooks, loadEmulatorHooks } from '../../hns/emulator/hooks.ts';
import { singleLibraryPaths } from '../../hns/ffi/library.ts';
import { FfiTransport } from '../../hns/ffi/transport.ts';

export interface Emulator {
  path: string;
  hooks: EmulatorHooks;
  transport: FfiTransport;
}

export async function startEmulator(): Promise<Emulator> {
  const path = await buildEmulator();
  const hooks = await loadEmulatorHooks(path);
  return { path, hooks, transport: new FfiTransport(singleLibraryPaths(path)) };
}

/** Nothing leaked: every PWSTR released with CoTaskMemFree once, every handle closed. */
export function expectNoLeaks(hooks: EmulatorHooks): void {
  expect({
    outstandingAllocations: hooks.outstandingAllocations(),
    openHandles: hooks.openHandles(),
    badFrees: hooks.badFrees(),
  }).toEqual({ outstandingAllocations: 0, openHandles: 0, badFrees: 0 });
}

/** A fixture's JSON with its formatting removed and its key order kept: the exact text HCN gets. */
export function fixture(name: string): string {
  return JSON.stringify(JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8')));
}

export const V2 = '"SchemaVersion":{"Major":2,"Minor":0}';
export const QUERY = `{${V2},"Flags":0}`;
