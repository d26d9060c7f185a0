/**
 * The side-by-side table (terminal text and markdown) and the targets of the issue with their
 * verdicts, from the figures the phases collected. Formatting only: nothing is measured here.
 */
import { loadavg } from 'node:os';
import type { MachineFacts } from './host.ts';
import type { BenchOptions } from './options.ts';
import type { Summary } from './stats.ts';

export interface Row {
  section: string;
  label: string;
  crosscni?: Summary;
  reference?: Summary;
  /** A row of single values (e.g. a slope) instead of latency figures. */
  values?: { crosscni: string; reference: string; ratio: string };
  note?: string;
}

/** Figures the verdicts need; absent when their phase did not run. */
export interface KeyFigures {
  floor?: Summary;
  versionBridge?: Summary;
  versionBridgeReference?: Summary;
  add?: Summary;
  addReference?: Summary;
  del?: Summary;
  delReference?: Summary;
  slopePer100Ms?: number;
  slopePer100MsReference?: number;
  scaleSize?: number;
  parallelAdd?: Summary;
  parallelAddReference?: Summary;
}

export interface Verdict {
  target: string;
  measured: string;
  verdict: 'met' | 'not met' | 'reported' | 'not measured';
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const rate = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const times = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '–');

function ratioCells(row: Row): string[] {
  const c = row.crosscni;
  const r = row.reference;
  if (row.values) return [row.values.ratio, '', '', ''];
  if (!c || !r) return ['', '', '', ''];
  return [
    times(c.medianMs / r.medianMs),
    times(c.p95Ms / r.p95Ms),
    times(c.maxMs / r.maxMs),
    times(c.opsPerSec / r.opsPerSec),
  ];
}

function figureCells(s: Summary | undefined): string[] {
  return s ? [ms(s.medianMs), ms(s.p95Ms), ms(s.maxMs), rate(s.opsPerSec)] : ['', '', '', ''];
}

function cells(row: Row): string[] {
  const label = `${row.label}${row.note ? ` (${row.note})` : ''}`;
  if (row.values)
    return [label, row.values.crosscni, '', '', '', row.values.reference, '', '', '', ...ratioCells(row)];
  return [label, ...figureCells(row.crosscni), ...figureCells(row.reference), ...ratioCells(row)];
}

const HEADER = [
  'case',
  'median ms',
  'p95 ms',
  'max ms',
  'ops/s',
  'median ms',
  'p95 ms',
  'max ms',
  'ops/s',
  'median',
  'p95',
  'max',
  'ops/s',
];

export function verdicts(k: KeyFigures, options: BenchOptions): Verdict[] {
  const out: Verdict[] = [];
  const floor = k.floor?.medianMs;
  if (k.versionBridge && floor) {
    const ratio = k.versionBridge.medianMs / floor;
    out.push({
      target: 'VERSION ≤ 1.15 × Node floor',
      measured: `bridge VERSION ${ms(k.versionBridge.medianMs)} ms = ${times(ratio)} floor (${ms(floor)} ms)`,
      verdict: ratio <= 1.15 ? 'met' : 'not met',
    });
  } else out.push({ target: 'VERSION ≤ 1.15 × Node floor', measured: '', verdict: 'not measured' });
  for (const [name, s] of [
    ['ADD', k.add],
    ['DEL', k.del],
  ] as const) {
    const target = `bridge ${name} ≤ Node floor + 10 ms`;
    if (s && floor) {
      const over = s.medianMs - floor;
      out.push({
        target,
        measured: `${ms(s.medianMs)} ms = floor ${over >= 0 ? '+' : '−'} ${ms(Math.abs(over))} ms`,
        verdict: over <= 10 ? 'met' : 'not met',
      });
    } else
      out.push({
        target,
        measured: floor ? '' : 'needs the version phase for the floor',
        verdict: 'not measured',
      });
  }
  if (k.del && k.delReference) {
    const ratio = k.del.medianMs / k.delReference.medianMs;
    out.push({
      target: 'DEL ≤ 0.5 × reference DEL',
      measured: `${ms(k.del.medianMs)} ms vs ${ms(k.delReference.medianMs)} ms = ${times(ratio)}`,
      verdict: ratio <= 0.5 ? 'met' : 'not met',
    });
  } else out.push({ target: 'DEL ≤ 0.5 × reference DEL', measured: '', verdict: 'not measured' });
  const growthTarget = `ADD growth ≤ 1 ms per 100 existing containers at ${options.scale}`;
  if (k.slopePer100Ms !== undefined && k.slopePer100MsReference !== undefined) {
    out.push({
      target: growthTarget,
      measured: `${signed(k.slopePer100Ms)} ms per 100 (reference ${signed(k.slopePer100MsReference)} ms)`,
      verdict: k.slopePer100Ms <= 1 ? 'met' : 'not met',
    });
  } else out.push({ target: growthTarget, measured: '', verdict: 'not measured' });
  const parallelTarget = `${options.parallel} parallel ADDs: ADDs/s and ratio to the reference`;
  if (k.parallelAdd && k.parallelAddReference) {
    out.push({
      target: parallelTarget,
      measured: `${rate(k.parallelAdd.opsPerSec)} ADDs/s vs ${rate(k.parallelAddReference.opsPerSec)} ADDs/s = ${times(k.parallelAdd.opsPerSec / k.parallelAddReference.opsPerSec)}`,
      verdict: 'reported',
    });
  } else out.push({ target: parallelTarget, measured: '', verdict: 'not measured' });
  return out;
}

export function signed(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
}

function preamble(facts: MachineFacts, options: BenchOptions, ipamNote: string): string[] {
  return [
    `date ${facts.date}; kernel ${facts.kernel}; CPU ${facts.cpu} (${facts.cores} cores); Node ${facts.node}; load average ${facts.loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`,
    `crosscni ${facts.commit} (${options.crosscniBin}); reference: Debian containernetworking-plugins ${facts.referenceVersion} (${options.referenceBin})`,
    `phases ${[...options.phases].join(', ')}; N=${options.n} sequential and parallel, P=${options.parallel}, scale ${options.scale} (blocks of ${options.scaleBlock}), VERSION/floor samples ${options.versionRuns}; cniVersion 1.0.0 for both; crosscni IPAM: ${ipamNote}`,
    "Each figure is one runtime operation through the crosscni runtime library (CniRuntime: conflist, prevResult, result cache), plugins exec'd as a runtime does; ratio = crosscni / reference.",
  ];
}

export function textReport(
  rows: readonly Row[],
  list: readonly Verdict[],
  defects: readonly string[],
  notes: readonly string[],
  facts: MachineFacts,
  options: BenchOptions,
  ipamNote: string,
): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const groupWidth = (from: number) => widths.slice(from, from + 4).reduce((a, b) => a + b, 0) + 6;
  const out: string[] = [...preamble(facts, options, ipamNote), ''];
  out.push(
    [
      ''.padEnd(widths[0]!),
      'crosscni'.padEnd(groupWidth(1)),
      'reference'.padEnd(groupWidth(5)),
      'ratio crosscni/reference',
    ].join('  '),
  );
  out.push(line(HEADER));
  let section = '';
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      out.push(`-- ${section}`);
    }
    out.push(line(cells(row)));
  }
  if (notes.length) out.push('', ...notes);
  out.push('', 'targets:');
  for (const v of list) out.push(`  [${v.verdict}] ${v.target}${v.measured ? `: ${v.measured}` : ''}`);
  if (defects.length) {
    out.push('', `reference defects seen by the verification (${defects.length}; recorded, not fatal):`);
    for (const d of defects) out.push(`  ${d}`);
  }
  return `${out.join('\n')}\n`;
}

export function markdownReport(
  rows: readonly Row[],
  list: readonly Verdict[],
  defects: readonly string[],
  notes: readonly string[],
  facts: MachineFacts,
  options: BenchOptions,
  ipamNote: string,
): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const out: string[] = preamble(facts, options, ipamNote).map((l) => `${l}  `);
  out.push(
    '',
    '| case | crosscni median ms | p95 | max | ops/s | reference median ms | p95 | max | ops/s | ratio median | p95 | max | ops/s |',
    `|${' --- |'.repeat(13)}`,
  );
  let section = '';
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      out.push(`| **${esc(section)}** |${' |'.repeat(12)}`);
    }
    out.push(`| ${cells(row).map(esc).join(' | ')} |`);
  }
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  out.push('', '| target | measured | verdict |', '| --- | --- | --- |');
  for (const v of list) out.push(`| ${esc(v.target)} | ${esc(v.measured)} | ${v.verdict} |`);
  if (defects.length) {
    out.push('', `Reference defects seen by the verification (${defects.length}; recorded, not fatal):`, '');
    for (const d of defects) out.push(`- ${d}`);
  }
  return `${out.join('\n')}\n`;
}
