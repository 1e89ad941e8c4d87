/** Pooling runs per config, the results table and the target verdicts. */
import type { ConfigDef, ConfigId } from './configs.js';
import { max, median, percentile } from './match.js';
import type { RunResult } from './run.js';

export interface Summary {
  readonly config: ConfigDef;
  readonly runs: readonly RunResult[];
  readonly sent: number;
  readonly found: number;
  readonly arrival: { median: number; p90: number; max: number };
  readonly heard: { median: number; p90: number; max: number };
  readonly firstOutMs: number;
  readonly wireKbps: number;
  readonly talkCpuPerMin: number;
  readonly listenCpuPerMin: number;
  readonly staleHeard: number;
  readonly spurious: number;
  readonly harnessMs: number;
  readonly errors: readonly string[];
}

function stats(values: readonly number[]): { median: number; p90: number; max: number } {
  return { median: median(values), p90: percentile(values, 90), max: max(values) };
}

const numbers = (values: readonly (number | null)[]): number[] => values.filter((value): value is number => value !== null);

export function summarize(config: ConfigDef, runs: readonly RunResult[]): Summary {
  const arrival = runs.flatMap((run) => run.arrival);
  const heard = runs.flatMap((run) => run.heard);
  return {
    config,
    runs,
    sent: runs.reduce((sum, run) => sum + run.sent, 0),
    found: arrival.length,
    arrival: stats(arrival),
    heard: stats(heard),
    firstOutMs: median(numbers(runs.map((run) => run.firstOutMs))),
    wireKbps: median(numbers(runs.map((run) => run.wireKbps))),
    talkCpuPerMin: median(numbers(runs.map((run) => run.talkCpuPerMin))),
    listenCpuPerMin: median(numbers(runs.map((run) => run.listenCpuPerMin))),
    staleHeard: runs.reduce((sum, run) => sum + run.staleHeard, 0),
    spurious: runs.reduce((sum, run) => sum + run.spurious, 0),
    harnessMs: median(runs.flatMap((run) => run.harnessMs)),
    errors: runs.filter((run) => run.error !== null).map((run) => `round ${run.round}: ${run.error ?? ''}`),
  };
}

function fmt(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

export function table(summaries: readonly Summary[]): string {
  const header = ['config', 'clicks', 'med', 'p90', 'max', 'heard med', 'heard p90', 'heard max', '1st PCM', 'wire kbit/s', 'talk CPU s/min', 'listen CPU s/min'];
  const rows = summaries.map((summary) => [
    summary.config.id,
    `${summary.found}/${summary.sent}`,
    fmt(summary.arrival.median),
    fmt(summary.arrival.p90),
    fmt(summary.arrival.max),
    fmt(summary.heard.median),
    fmt(summary.heard.p90),
    fmt(summary.heard.max),
    fmt(summary.firstOutMs),
    fmt(summary.wireKbps, 1),
    fmt(summary.talkCpuPerMin, 2),
    fmt(summary.listenCpuPerMin, 2),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [line(header), '-'.repeat(line(header).length), ...rows.map(line)].join('\n');
}

export interface Verdict {
  readonly status: 'PASS' | 'MISS' | 'SKIP';
  readonly text: string;
}

function verdict(summary: Summary | undefined, boundMs: number, what: string, skipReason: string): Verdict {
  if (summary === undefined || summary.found === 0) {
    const why = summary === undefined ? skipReason : `no click measured (${summary.errors[0] ?? 'no clicks found'})`;
    return { status: 'SKIP', text: `${what} <= ${boundMs} ms: ${why}` };
  }
  const value = summary.heard.median;
  const missing = summary.sent - summary.found;
  const note = `heard median ${fmt(value, 1)} ms (p90 ${fmt(summary.heard.p90)}, max ${fmt(summary.heard.max)}), ${summary.found}/${summary.sent} clicks${missing > 0 ? `, ${missing} missing` : ''}`;
  return { status: value <= boundMs && missing === 0 ? 'PASS' : 'MISS', text: `${what} <= ${boundMs} ms as heard: ${note}` };
}

/** Sealing costs no delay a person could hear: the sealed default within 2 ms of the plain one, as heard, in the same run. */
function sealedVerdict(plain: Summary | undefined, sealed: Summary | undefined, skipReason: string): Verdict {
  const what = 'hoodycall sealed default within 2 ms of the plain default';
  if (plain === undefined || sealed === undefined || plain.found === 0 || sealed.found === 0) return { status: 'SKIP', text: `${what}: ${sealed === undefined ? skipReason : 'needs both hc-default and hc-sealed measured'}` };
  const difference = sealed.heard.median - plain.heard.median;
  const missing = sealed.sent - sealed.found;
  const note = `heard median ${fmt(sealed.heard.median, 1)} vs ${fmt(plain.heard.median, 1)} ms (${difference >= 0 ? '+' : ''}${fmt(difference, 1)}); CPU s/min talk ${fmt(sealed.talkCpuPerMin, 2)} vs ${fmt(plain.talkCpuPerMin, 2)}, listen ${fmt(sealed.listenCpuPerMin, 2)} vs ${fmt(plain.listenCpuPerMin, 2)}${missing > 0 ? `, ${missing} clicks missing` : ''}`;
  return { status: difference <= 2 && missing === 0 ? 'PASS' : 'MISS', text: `${what}: ${note}` };
}

export function verdicts(byId: ReadonlyMap<ConfigId, Summary>, skipReasons: ReadonlyMap<ConfigId, string>): Verdict[] {
  const reason = (id: ConfigId): string => skipReasons.get(id) ?? 'not run (--only)';
  const list = [
    verdict(byId.get('hc-default'), 60, 'hoodycall default', reason('hc-default')),
    verdict(byId.get('hc-lowlat'), 45, 'hoodycall --low-latency', reason('hc-lowlat')),
    verdict(byId.get('hc-late'), 60, 'hoodycall late listener (4 s)', reason('hc-late')),
    sealedVerdict(byId.get('hc-default'), byId.get('hc-sealed'), reason('hc-sealed')),
    verdict(byId.get('pa-hoodycall'), 100, 'hoodycall device path', reason('pa-hoodycall')),
  ];
  return list;
}

/** "node 1.52 + ffmpeg 0.71": median CPU s/min per process name over the runs that measured it. */
export function cpuBreakdown(runs: readonly RunResult[], side: 'talk' | 'listen'): string {
  const byName = new Map<string, number[]>();
  for (const run of runs) {
    const record = side === 'talk' ? run.talkCpuByProcess : run.listenCpuByProcess;
    if (record === null) continue;
    for (const [name, value] of Object.entries(record)) byName.set(name, [...(byName.get(name) ?? []), value]);
  }
  return [...byName]
    .map(([name, values]) => ({ name, value: median(values) }))
    .sort((a, b) => b.value - a.value)
    .map(({ name, value }) => `${name} ${fmt(value, 2)}`)
    .join(' + ');
}
