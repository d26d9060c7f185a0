/**
 * Picks the Platform implementation for this process. The only module in platform/ that knows
 * linux/ and hns/ exist; it loads them with a dynamic import() so a run loads only its own OS's
 * code (and VERSION, which needs no platform, loads neither).
 */
import type { Platform } from './contract.ts';

export type PlatformChoice = 'linux' | 'windows';

let cached: Platform | undefined;

/**
 * The platform for `choice`, default from `CROSSCNI_PLATFORM` or the OS. Tests choose
 * 'windows' on Linux to run the HCN backend against the emulator.
 */
export async function loadPlatform(choice?: PlatformChoice): Promise<Platform> {
  const wanted = choice ?? platformFromEnvironment();
  if (cached && cached.os === wanted) return cached;
  const platform =
    wanted === 'linux'
      ? (await import('../linux/index.ts')).createLinuxPlatform()
      : (await import('../hns/index.ts')).createWindowsPlatform();
  cached = platform;
  return platform;
}

function platformFromEnvironment(): PlatformChoice {
  const forced = process.env.CROSSCNI_PLATFORM;
  if (forced === 'linux' || forced === 'windows') return forced;
  return process.platform === 'win32' ? 'windows' : 'linux';
}
