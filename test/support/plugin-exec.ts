/**
 * Executing a built plugin the way a runtime does (environment + config on stdin), for tests
 * that must cover the process edge. Returns the exit code and the parsed stdout document.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..');
export const distBin = join(repoRoot, 'dist', 'bin');
export const referenceBin = '/usr/lib/cni';
export const hasReferencePlugins = existsSync(join(referenceBin, 'bridge'));

export interface PluginCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  /** Directory holding the plugin and its IPAM plugins. */
  binDir?: string;
}

export interface PluginAnswer {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is not empty. */
  json?: Record<string, unknown>;
}

export function execPluginSync(type: string, call: PluginCall, config: unknown): PluginAnswer {
  const binDir = call.binDir ?? distBin;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    CNI_PATH: binDir,
  };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  const run = spawnSync(join(binDir, type), [], {
    env,
    input: typeof config === 'string' ? config : JSON.stringify(config),
    encoding: 'utf8',
    timeout: 60_000,
  });
  const answer: PluginAnswer = { exitCode: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  if (run.stdout.trim()) answer.json = JSON.parse(run.stdout) as Record<string, unknown>;
  return answer;
}

/** The built executables exist (tests that exec plugins build first via globalSetup). */
export function distBuilt(): boolean {
  return existsSync(join(distBin, 'bridge'));
}
