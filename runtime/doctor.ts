/**
 * `crosscni doctor`: what this host needs for crosscni and what earlier attachments left behind,
 * as a list of checks (ok / warn / fail, each with what to do) and a list of leftovers. The
 * checks themselves live per OS (doctor-linux.ts, doctor-windows.ts, the Windows one loaded only
 * on Windows) and the leftover scan in doctor-leftovers.ts. Doctor only reads: it fixes nothing
 * and deletes nothing, it says which command would.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface Leftover {
  kind: 'ipam' | 'cache' | 'endpoint';
  network?: string;
  containerId?: string;
  ifname?: string;
  /** The file, Linux host veth name or HCN object id that is left over. */
  path: string;
  reason: string;
  fix: string;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  leftovers: Leftover[];
}

export interface DoctorOptions {
  binDir: string;
  confDir: string;
  /** host-local's dataDir. */
  dataDir: string;
  /** The result cache directory (its results/ subdirectory holds the entries). */
  cacheDir: string;
  env: Readonly<Record<string, string | undefined>>;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  if (process.platform === 'win32') {
    const { windowsDoctor } = await import('./doctor-windows.ts');
    return windowsDoctor(options);
  }
  const { linuxChecks } = await import('./doctor-linux.ts');
  const { findLeftovers } = await import('./doctor-leftovers.ts');
  const leftovers = await findLeftovers(options.dataDir, options.cacheDir, options.confDir);
  return { checks: linuxChecks(options), leftovers };
}

export function doctorExitCode(report: DoctorReport): number {
  return report.checks.some((c) => c.status === 'fail') ? 1 : 0;
}

export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(5)} ${c.name}: ${c.detail}`);
    if (c.fix && c.status !== 'ok') lines.push(`      fix: ${c.fix}`);
  }
  if (report.leftovers.length === 0) lines.push('no leftovers found');
  else {
    lines.push(`${report.leftovers.length} leftover(s):`);
    for (const l of report.leftovers) {
      lines.push(`  ${l.kind.padEnd(8)} ${l.path}: ${l.reason}`);
      lines.push(`           fix: ${l.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
