/**
 * The Linux host checks of `crosscni doctor`, from files only (/proc, /sys, the directories):
 * nothing is spawned and no netlink socket is opened, so doctor runs the same on a host whose
 * networking is broken. Where a file cannot settle a question, the check says so instead of
 * guessing.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import type { DoctorCheck, DoctorOptions } from './doctor.ts';
import { configFiles, loadNetworkListFile, loadSingleConfigFile } from './load-config.ts';

const REQUIRED_PLUGINS = ['loopback', 'bridge', 'host-local'];

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function rootCheck(): DoctorCheck {
  const uid = process.getuid?.();
  return uid === 0
    ? { name: 'root', status: 'ok', detail: 'running as root' }
    : {
        name: 'root',
        status: 'warn',
        detail: `running as uid ${uid}: plugins need root (CAP_NET_ADMIN), and some checks below may not see everything`,
        fix: 'run crosscni (and crosscni doctor) as root',
      };
}

/**
 * A kernel module is usable when loaded (/sys/module/<m>), built in (modules.builtin), or present
 * as a file the kernel autoloads on first use (rtnetlink requests "rtnl-link-<kind>").
 */
function moduleState(module: string, path: string): 'loaded' | 'builtin' | 'loadable' | 'unknown' {
  if (existsSync(join('/sys/module', module))) return 'loaded';
  const base = join('/lib/modules', release());
  if (readText(join(base, 'modules.builtin'))?.includes(`/${module}.ko`)) return 'builtin';
  const dir = join(base, 'kernel', path);
  if (readdirSafe(dir).some((f) => f.startsWith(`${module}.ko`))) return 'loadable';
  return 'unknown';
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function kernelCheck(): DoctorCheck {
  if (!existsSync('/sys/class/net') || readText('/proc/net/dev') === undefined) {
    return {
      name: 'kernel networking',
      status: 'fail',
      detail: '/sys/class/net or /proc/net/dev is missing',
      fix: 'mount sysfs on /sys and procfs on /proc',
    };
  }
  const states = { bridge: moduleState('bridge', 'net/bridge'), veth: moduleState('veth', 'drivers/net') };
  const unknown = Object.entries(states)
    .filter(([, s]) => s === 'unknown')
    .map(([m]) => m);
  const detail = Object.entries(states)
    .map(([m, s]) => `${m} ${s === 'loadable' ? 'available as a module (loaded on first use)' : s}`)
    .join(', ');
  if (unknown.length === 0) return { name: 'kernel networking', status: 'ok', detail };
  return {
    name: 'kernel networking',
    status: 'warn',
    detail: `${detail}: not loaded and no module file found for ${unknown.join(', ')} (it may still be built in)`,
    fix: `modprobe ${unknown.join(' ')}; if that fails, the kernel lacks ${unknown.join(' and ')} support`,
  };
}

function onPath(tool: string, env: DoctorOptions['env']): string | undefined {
  // Plugins run with the runtime's PATH, which usually has the sbin directories; so look there too.
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter((d) => d !== '')) {
    const file = join(dir, tool);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function netfilterCheck(env: DoctorOptions['env']): DoctorCheck {
  const found = ['nft', 'iptables'].map((t) => onPath(t, env)).filter((f): f is string => f !== undefined);
  if (found.length > 0) return { name: 'netfilter', status: 'ok', detail: `found ${found.join(', ')}` };
  return {
    name: 'netfilter',
    status: 'warn',
    detail: 'neither nft nor iptables is on PATH: ipMasq, portmap and firewall rules may fail',
    fix: 'install nftables (or iptables)',
  };
}

function forwardingCheck(): DoctorCheck {
  const value = readText('/proc/sys/net/ipv4/ip_forward')?.trim();
  if (value === undefined) {
    return { name: 'ip_forward', status: 'warn', detail: 'cannot read /proc/sys/net/ipv4/ip_forward' };
  }
  if (value !== '0') return { name: 'ip_forward', status: 'ok', detail: `net.ipv4.ip_forward = ${value}` };
  return {
    name: 'ip_forward',
    status: 'warn',
    detail: 'net.ipv4.ip_forward = 0: bridge with isGateway enables it on first ADD',
    fix: 'nothing needed for bridge isGateway; otherwise sysctl -w net.ipv4.ip_forward=1',
  };
}

function binDirCheck(binDir: string): DoctorCheck {
  if (!existsSync(binDir)) {
    return {
      name: 'bin dir',
      status: 'fail',
      detail: `${binDir} does not exist`,
      fix: `crosscni install --bin-dir ${binDir}`,
    };
  }
  const missing = REQUIRED_PLUGINS.filter((p) => !existsSync(join(binDir, p)));
  if (missing.length === 0)
    return { name: 'bin dir', status: 'ok', detail: `${binDir} holds ${REQUIRED_PLUGINS.join(', ')}` };
  return {
    name: 'bin dir',
    status: 'fail',
    detail: `${binDir} lacks ${missing.join(', ')}`,
    fix: `crosscni install --bin-dir ${binDir}`,
  };
}

function confDirCheck(confDir: string): DoctorCheck {
  const loaded: string[] = [];
  const broken: string[] = [];
  let files: string[];
  try {
    files = [...configFiles(confDir, ['.conflist']), ...configFiles(confDir, ['.conf', '.json'])];
  } catch (e) {
    return {
      name: 'conf dir',
      status: 'fail',
      detail: (e as Error).message,
      fix: `check the permissions of ${confDir}`,
    };
  }
  for (const file of files) {
    try {
      const list = file.endsWith('.conflist') ? loadNetworkListFile(file) : loadSingleConfigFile(file);
      loaded.push(list.name);
    } catch (e) {
      broken.push(`${file}: ${(e as Error).message}`);
    }
  }
  if (loaded.length === 0) {
    return {
      name: 'conf dir',
      status: 'fail',
      detail: `no loadable network configuration in ${confDir}${broken.length ? ` (${broken.join('; ')})` : ''}`,
      fix: `crosscni install --conflist FILE --conf-dir ${confDir}, or fix the files named`,
    };
  }
  const detail = `${confDir}: networks ${loaded.join(', ')}`;
  if (broken.length === 0) return { name: 'conf dir', status: 'ok', detail };
  return {
    name: 'conf dir',
    status: 'warn',
    detail: `${detail}; cannot load ${broken.join('; ')}`,
    fix: 'fix or remove those files',
  };
}

/**
 * Which host veths doctor can judge. A pair dies with either namespace, so a surviving host veth
 * means its container namespace is still held; whether anyone still wants it, only the runtime
 * knows. crosscni's own veths carry a tag naming network and attachment (sysfs ifalias), so
 * doctor-leftovers.ts lists those the result cache does not know. Untagged ones (another
 * plugin's, or an ADD killed between creating the pair and tagging it) cannot be told apart.
 */
function vethCheck(): DoctorCheck {
  return {
    name: 'stale veths',
    status: 'ok',
    detail:
      'tagged crosscni veths whose attachment has no cache entry are listed as leftovers; untagged veths are not judged (sysfs cannot tell which namespace a peer is in)',
    fix: 'for an untagged veth, look for held namespaces with `ip netns list` and `lsns -t net`',
  };
}

export function linuxChecks(options: DoctorOptions): DoctorCheck[] {
  return [
    rootCheck(),
    kernelCheck(),
    netfilterCheck(options.env),
    forwardingCheck(),
    binDirCheck(options.binDir),
    confDirCheck(options.confDir),
    vethCheck(),
  ];
}
