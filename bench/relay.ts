/**
 * The relay benchmark: hoodycall's relay against piping-server (the reference) and a raw TCP relay (the
 * ceiling), in one run, interleaved, with several repetitions. See bench/relay/README.md.
 *
 *   npm run bench:relay                      full run (about 5 minutes)
 *   npm run bench:relay -- --quick           small sizes, one repetition (a smoke run)
 *   npm run bench:relay -- --only a,d --reps 5 --relays hoodycall,piping-server
 *
 * Every relay runs as its own process, started fresh for each measurement; the clients run here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ClientScope } from './relay/clients.js';
import { concurrentPipes, GiB, MiB, onePipe, setUploadFraming, smallWrites, waitingPipes } from './relay/cases.js';
import { killAll, RELAY_NAMES, setClockTicks, startRelay, type RelayName, type RunningRelay } from './relay/servers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NEEDED_FDS = 16_000;

type CaseId = 'a' | 'b' | 'c' | 'd';
const CASES: readonly CaseId[] = ['a', 'b', 'c', 'd'];

interface Settings {
  readonly quick: boolean;
  /** Repetitions per case. */
  readonly reps: Readonly<Record<CaseId, number>>;
  /** Extra node flags for every relay process (diagnosis: profiling, heap settings). */
  readonly relayNodeFlags: readonly string[];
  readonly cases: readonly CaseId[];
  readonly relays: readonly RelayName[];
  readonly json: string;
  readonly framing: 'chunked' | 'length';
  readonly onePipeBytes: number;
  readonly smallWritesMs: number;
  readonly waitingSmall: number;
  readonly waitingLarge: number;
  readonly deliverInFlight: number;
  readonly concurrentPipes: number;
  readonly concurrentBytes: number;
  readonly budgetMs: number;
}

function usage(message?: string): never {
  if (message !== undefined) process.stderr.write(`bench:relay: ${message}\n`);
  process.stderr.write(
    'usage: node dist/bench/relay.js [--quick] [--reps N] [--only a,b,c,d] [--relays hoodycall,piping-server,raw]\n' +
      '                                [--content-length] [--relay-node-flags "--flag ..."] [--json FILE]\n',
  );
  process.exit(message === undefined ? 0 : 2);
}

function parseSettings(argv: readonly string[]): Settings {
  let quick = false;
  let reps: number | undefined;
  let cases: readonly CaseId[] = CASES;
  let relays: readonly RelayName[] = RELAY_NAMES;
  let framing: 'chunked' | 'length' = 'chunked';
  let relayNodeFlags: string[] = [];
  let json = `/tmp/hoodycall-bench-relay-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--quick':
        quick = true;
        break;
      case '--reps':
        reps = Number(value());
        if (!Number.isInteger(reps) || reps < 1 || reps > 20) usage('--reps must be 1..20');
        break;
      case '--only':
        cases = value()
          .split(',')
          .map((id) => {
            if (!(CASES as readonly string[]).includes(id)) usage(`unknown case ${id}`);
            return id as CaseId;
          });
        break;
      case '--relays':
        relays = value()
          .split(',')
          .map((name) => {
            if (!(RELAY_NAMES as readonly string[]).includes(name)) usage(`unknown relay ${name}`);
            return name as RelayName;
          });
        break;
      case '--json':
        json = value();
        break;
      case '--content-length':
        framing = 'length';
        break;
      case '--relay-node-flags':
        relayNodeFlags = value().split(/\s+/).filter((flag) => flag !== '');
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  return quick
    ? {
        quick,
        reps: { a: reps ?? 1, b: reps ?? 1, c: reps ?? 1, d: reps ?? 1 },
        relayNodeFlags,
        cases,
        relays,
        json,
        framing,
        onePipeBytes: 128 * MiB,
        smallWritesMs: 2_000,
        waitingSmall: 200,
        waitingLarge: 1_000,
        deliverInFlight: 250,
        concurrentPipes: 50,
        concurrentBytes: 2 * MiB,
        budgetMs: 4 * 60_000,
      }
    : {
        quick,
        // (a) and (d) last a second or two and vary most from run to run on this VM: more repetitions.
        reps: { a: reps ?? 5, b: reps ?? 5, c: reps ?? 3, d: reps ?? 5 },
        relayNodeFlags,
        cases,
        relays,
        json,
        framing,
        onePipeBytes: GiB,
        smallWritesMs: 10_000,
        waitingSmall: 2_000,
        waitingLarge: 10_000,
        deliverInFlight: 250,
        concurrentPipes: 200,
        concurrentBytes: 8 * MiB,
        budgetMs: 14 * 60_000,
      };
}

/** The soft fd limit of this process (a child shell inherits it). */
function softFdLimit(): number {
  const text = execFileSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return text === 'unlimited' ? Infinity : Number(text);
}

/** Runs this script again under a raised `ulimit -n` when needed: the clients hold 11,000 sockets. */
function reexecWithFdLimit(): boolean {
  if (process.env.HOODYCALL_BENCH_REEXEC === '1' || softFdLimit() >= NEEDED_FDS) return false;
  const script = 'ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"';
  const child = spawn('bash', ['-c', script, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, HOODYCALL_BENCH_REEXEC: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.once('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + 2)));
  return true;
}

/** One figure of the table. */
interface Figure {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly digits: number;
}

const FIGURES: readonly Figure[] = [
  { key: 'a.mibps', label: '(a) one pipe, throughput', unit: 'MiB/s', digits: 0 },
  { key: 'a.cpu', label: '(a) one pipe, relay CPU', unit: 's/GiB', digits: 2 },
  { key: 'a.clientCpu', label: '(a) one pipe, client CPU (info)', unit: 's/GiB', digits: 2 },
  { key: 'a.kibPerRead', label: '(a) one pipe, KiB per client read (info)', unit: 'KiB', digits: 1 },
  { key: 'b.p50', label: '(b) small writes, p50', unit: 'ms', digits: 3 },
  { key: 'b.p99', label: '(b) small writes, p99', unit: 'ms', digits: 3 },
  { key: 'b.max', label: '(b) small writes, max (info)', unit: 'ms', digits: 2 },
  { key: 'c.kib', label: '(c) RSS per waiting pipe, N=2k', unit: 'KiB', digits: 1 },
  { key: 'c.delivered', label: '(c) N=2k delivered + verified', unit: 'pipes', digits: 0 },
  { key: 'c.kibLarge', label: '(c) RSS per waiting pipe, N=10k', unit: 'KiB', digits: 1 },
  { key: 'c.kibMarginal', label: '(c) marginal RSS/pipe, 2k->10k (info)', unit: 'KiB', digits: 1 },
  { key: 'c.heldLarge', label: '(c) N=10k all held', unit: '1=yes', digits: 0 },
  { key: 'c.deliveredLarge', label: '(c) N=10k delivered + verified', unit: 'pipes', digits: 0 },
  { key: 'c.deliverLargeSeconds', label: '(c) N=10k delivery time (info)', unit: 's', digits: 1 },
  { key: 'd.mibps', label: '(d) 200 pipes, aggregate', unit: 'MiB/s', digits: 0 },
  { key: 'd.cpu', label: '(d) 200 pipes, relay CPU (info)', unit: 's/GiB', digits: 2 },
  { key: 'd.clientCpu', label: '(d) 200 pipes, client CPU (info)', unit: 's/GiB', digits: 2 },
  { key: 'd.kibPerRead', label: '(d) 200 pipes, KiB per client read (info)', unit: 'KiB', digits: 1 },
];

interface Sample {
  readonly rep: number;
  readonly relay: RelayName;
  readonly measurement: string;
  readonly values: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A full GC of the clients' process before each measurement, so garbage left by the previous one (10,000
 * sockets in case c) is not collected on the clock of the next relay. `--expose-gc` cannot be passed
 * through `npm run`, hence the flag set at run time and the function taken from a fresh context.
 */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

async function withTimeout<T>(work: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          onTimeout();
          reject(new Error(`${what}: timed out after ${ms / 1000} s`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Measurement {
  readonly id: string;
  readonly timeoutMs: number;
  run(relay: RunningRelay, scope: ClientScope): Promise<Record<string, number>>;
}

function measurementsOf(caseId: CaseId, s: Settings): Measurement[] {
  const largeLabel = `${s.waitingLarge}`;
  switch (caseId) {
    case 'a':
      return [
        {
          id: 'a',
          timeoutMs: 30_000 + (s.onePipeBytes / MiB) * 100,
          async run(relay, scope) {
            const r = await onePipe(relay, scope, s.onePipeBytes);
            return { 'a.mibps': r.mibPerSecond, 'a.cpu': r.serverCpuPerGiB, 'a.clientCpu': r.clientCpuPerGiB, 'a.kibPerRead': r.kibPerRead };
          },
        },
      ];
    case 'b':
      return [
        {
          id: 'b',
          timeoutMs: s.smallWritesMs + 30_000,
          async run(relay, scope) {
            const r = await smallWrites(relay, scope, s.smallWritesMs);
            return { 'b.p50': r.p50, 'b.p99': r.p99, 'b.max': r.max };
          },
        },
      ];
    case 'c':
      return [
        {
          id: `c${s.waitingSmall}`,
          timeoutMs: 120_000,
          async run(relay, scope) {
            const r = await waitingPipes(relay, scope, s.waitingSmall, s.deliverInFlight);
            return { 'c.kib': r.kibPerPipe, 'c.delivered': r.delivered, 'c.deliverSeconds': r.deliverSeconds };
          },
        },
        {
          id: `c${largeLabel}`,
          timeoutMs: 240_000,
          async run(relay, scope) {
            const r = await waitingPipes(relay, scope, s.waitingLarge, s.deliverInFlight);
            return {
              'c.kibLarge': r.kibPerPipe,
              'c.heldLarge': r.held ? 1 : 0,
              'c.deliveredLarge': r.delivered,
              'c.deliverLargeSeconds': r.deliverSeconds,
            };
          },
        },
      ];
    case 'd':
      return [
        {
          id: 'd',
          timeoutMs: 60_000 + ((s.concurrentPipes * s.concurrentBytes) / MiB) * 100,
          async run(relay, scope) {
            const r = await concurrentPipes(relay, scope, s.concurrentPipes, s.concurrentBytes);
            return { 'd.mibps': r.mibPerSecond, 'd.cpu': r.serverCpuPerGiB, 'd.clientCpu': r.clientCpuPerGiB, 'd.kibPerRead': r.kibPerRead };
          },
        },
      ];
  }
}

/** 2000 -> '2k', 1000 -> '1k', 250 -> '250'. */
function count(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

function repsText(settings: Settings): string {
  return settings.cases.map((caseId) => `${caseId}x${settings.reps[caseId]}`).join(' ');
}

function format(value: number | undefined, digits: number): string {
  if (value === undefined) return '-';
  if (Number.isNaN(value)) return 'FAIL';
  return value.toFixed(digits);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

interface Target {
  readonly label: string;
  /** undefined: not measured in this run. */
  verdict(
    medianOf: (key: string, relay: RelayName) => number | undefined,
    samples: readonly Sample[],
    settings: Settings,
  ): { ok: boolean; detail: string } | undefined;
}

const TARGETS: readonly Target[] = [
  {
    label: '(a) one-pipe throughput >= piping-server',
    verdict(m) {
      const h = m('a.mibps', 'hoodycall');
      const p = m('a.mibps', 'piping-server');
      if (h === undefined || p === undefined) return undefined;
      return { ok: h >= p, detail: `${h.toFixed(0)} vs ${p.toFixed(0)} MiB/s (x${(h / p).toFixed(2)})` };
    },
  },
  {
    label: '(a) one-pipe throughput >= 90% of raw',
    verdict(m) {
      const h = m('a.mibps', 'hoodycall');
      const r = m('a.mibps', 'raw');
      if (h === undefined || r === undefined) return undefined;
      return { ok: h >= 0.9 * r, detail: `${((h / r) * 100).toFixed(0)}% of raw (${r.toFixed(0)} MiB/s)` };
    },
  },
  {
    label: '(a) relay CPU per GiB <= 0.9x piping-server',
    verdict(m) {
      const h = m('a.cpu', 'hoodycall');
      const p = m('a.cpu', 'piping-server');
      if (h === undefined || p === undefined) return undefined;
      return { ok: h <= 0.9 * p, detail: `${h.toFixed(2)} vs ${p.toFixed(2)} s/GiB (x${(h / p).toFixed(2)})` };
    },
  },
  {
    label: '(b) small-write p99 <= 2 ms',
    verdict(m) {
      const h = m('b.p99', 'hoodycall');
      if (h === undefined) return undefined;
      return { ok: h <= 2, detail: `${h.toFixed(2)} ms` };
    },
  },
  {
    label: '(c) <= 10 KiB per waiting pipe',
    verdict(m, _samples, settings) {
      const h = m('c.kib', 'hoodycall');
      if (h === undefined) return undefined;
      const large = m('c.kibLarge', 'hoodycall');
      return {
        ok: h <= 10,
        detail:
          `${h.toFixed(1)} KiB at ${count(settings.waitingSmall)}` +
          (large === undefined ? '' : `, ${large.toFixed(1)} KiB at ${count(settings.waitingLarge)}`),
      };
    },
  },
  {
    label: '(c) 10,000 waiting pipes held and delivered',
    verdict(_m, samples, settings) {
      const large = `c${settings.waitingLarge}`;
      const runs = samples.filter((s) => s.relay === 'hoodycall' && s.measurement === large);
      if (runs.length === 0) return undefined;
      const good = runs.filter((s) => s.values['c.heldLarge'] === 1 && s.values['c.deliveredLarge'] === settings.waitingLarge).length;
      return {
        ok: good === runs.length,
        detail: `${good} of ${runs.length} runs held and delivered all ${settings.waitingLarge.toLocaleString('en-US')}`,
      };
    },
  },
  {
    label: '(d) 200-pipe aggregate >= 1.2x piping-server',
    verdict(m) {
      const h = m('d.mibps', 'hoodycall');
      const p = m('d.mibps', 'piping-server');
      if (h === undefined || p === undefined) return undefined;
      return { ok: h >= 1.2 * p, detail: `${h.toFixed(0)} vs ${p.toFixed(0)} MiB/s (x${(h / p).toFixed(2)})` };
    },
  },
];

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  setUploadFraming(settings.framing);
  setClockTicks(Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);
  const startedAt = Date.now();
  const deadline = startedAt + settings.budgetMs;
  const samples: Sample[] = [];
  const node = process.version;
  const cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  process.stderr.write(
    `bench:relay: ${settings.quick ? 'QUICK' : 'full'} run, repetitions ${repsText(settings)}, cases ${settings.cases.join(',')}, ` +
      `relays ${settings.relays.join(',')}, uploads ${settings.framing}; node ${node}, ${cpus} CPUs, fd limit ${softFdLimit()}\n`,
  );

  const maxReps = Math.max(...settings.cases.map((caseId) => settings.reps[caseId]));
  for (let rep = 1; rep <= maxReps; rep++) {
    // Rotate the order each repetition, so no relay always runs first (or right after a heavy run).
    const order = settings.relays.map((_, i) => settings.relays[(i + rep - 1) % settings.relays.length] as RelayName);
    for (const caseId of settings.cases) {
      if (rep > settings.reps[caseId]) continue;
      for (const measurement of measurementsOf(caseId, settings)) {
        for (const relayName of order) {
          const began = performance.now();
          const label = `[rep ${rep}/${settings.reps[caseId]}] ${measurement.id.padEnd(7)} ${relayName.padEnd(13)}`;
          if (Date.now() > deadline) {
            samples.push({ rep, relay: relayName, measurement: measurement.id, values: {}, seconds: 0, error: 'skipped: time budget exhausted' });
            process.stderr.write(`${label} skipped (time budget)\n`);
            continue;
          }
          const scope = new ClientScope();
          let relay: RunningRelay | undefined;
          try {
            collectGarbage();
            relay = await startRelay(relayName, ROOT, settings.relayNodeFlags);
            const running = relay;
            const values = await withTimeout(measurement.run(running, scope), measurement.timeoutMs, `${measurement.id} on ${relayName}`, () =>
              scope.destroyAll(),
            );
            const seconds = (performance.now() - began) / 1000;
            samples.push({ rep, relay: relayName, measurement: measurement.id, values, seconds });
            const shown = Object.entries(values)
              .map(([key, value]) => `${key}=${value.toFixed(key.endsWith('mibps') || key.includes('delivered') ? 0 : 3)}`)
              .join(' ');
            process.stderr.write(`${label} ${shown} (${seconds.toFixed(1)} s)\n`);
          } catch (error) {
            const message = (error as Error).message;
            const tail = relay?.stderrTail() ?? '';
            samples.push({
              rep,
              relay: relayName,
              measurement: measurement.id,
              values: {},
              seconds: (performance.now() - began) / 1000,
              error: message + (tail === '' ? '' : ` [relay stderr: ${tail.slice(-500)}]`),
            });
            process.stderr.write(`${label} ERROR ${message}\n${tail === '' ? '' : `  relay stderr: ${tail.slice(-500)}\n`}`);
          } finally {
            scope.destroyAll();
            await relay?.stop();
          }
          // Let the sockets of this run leave the machine's queues before the next relay starts.
          await sleep(300);
        }
      }
    }
  }

  report(settings, samples, { node, cpus, seconds: (Date.now() - startedAt) / 1000 });
}

function report(settings: Settings, samples: readonly Sample[], machine: { node: string; cpus: string; seconds: number }): void {
  const relays = settings.relays;
  const valuesOf = (key: string, relay: RelayName): number[] => {
    const values: number[] = [];
    for (const sample of samples) {
      if (sample.relay !== relay) continue;
      const value = sample.values[key];
      if (value !== undefined) values.push(value);
    }
    return values;
  };
  const failedOf = (key: string, relay: RelayName): boolean =>
    samples.some((s) => s.relay === relay && s.error !== undefined && key.startsWith(s.measurement.slice(0, 1)));
  const medianOf = (key: string, relay: RelayName): number | undefined => {
    if (key === 'c.kibMarginal') {
      // RSS growth between the two pipe counts, per added pipe: free of fixed costs (heap sizing).
      const small = medianOf('c.kib', relay);
      const large = medianOf('c.kibLarge', relay);
      if (small === undefined || large === undefined) return undefined;
      const [n, m] = [settings.waitingSmall, settings.waitingLarge];
      return (large * m - small * n) / (m - n);
    }
    const values = valuesOf(key, relay);
    if (values.length === 0) return failedOf(key, relay) ? NaN : undefined;
    return median(values);
  };

  const short: Record<RelayName, string> = { hoodycall: 'hoodycall', 'piping-server': 'piping-server', raw: 'raw TCP' };
  const columns = [44, 8, ...relays.map(() => 13), 9, 9];
  const header = [
    pad('figure (median of repetitions)', columns[0] ?? 44),
    pad('unit', 8),
    ...relays.map((relay) => pad(short[relay], 13, true)),
    pad('h/pipe', 9, true),
    pad('h/raw', 9, true),
  ].join(' ');
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `hoodycall relay benchmark: ${settings.quick ? 'QUICK run (small sizes, not the real figures)' : 'full run'}, ` +
      `repetitions ${repsText(settings)}, node ${machine.node}, ${machine.cpus} CPUs, ${machine.seconds.toFixed(0)} s`,
  );
  lines.push('');
  lines.push(header);
  lines.push('-'.repeat(header.length));
  for (const figure of FIGURES) {
    const medians = relays.map((relay) => medianOf(figure.key, relay));
    if (medians.every((value) => value === undefined)) continue;
    const h = medianOf(figure.key, 'hoodycall');
    const p = medianOf(figure.key, 'piping-server');
    const r = medianOf(figure.key, 'raw');
    const ratio = (x: number | undefined, y: number | undefined): string =>
      x === undefined || y === undefined || Number.isNaN(x) || Number.isNaN(y) || y === 0 ? '-' : x / y >= 100 ? (x / y).toFixed(0) : (x / y).toFixed(2);
    const label = figure.label
      .replace('2k', count(settings.waitingSmall))
      .replace('10k', count(settings.waitingLarge))
      .replace('200 pipes', `${settings.concurrentPipes} pipes`);
    lines.push(
      [
        pad(label, columns[0] ?? 44),
        pad(figure.unit, 8),
        ...medians.map((value) => pad(format(value, figure.digits), 13, true)),
        pad(ratio(h, p), 9, true),
        pad(ratio(h, r), 9, true),
      ].join(' '),
    );
  }
  lines.push('');
  lines.push('targets (hoodycall):');
  const verdicts: { label: string; result: string; detail: string }[] = [];
  for (const target of TARGETS) {
    const verdict = target.verdict(medianOf, samples, settings);
    const result = verdict === undefined ? 'n/a' : verdict.ok ? 'PASS' : 'MISS';
    const detail = verdict?.detail ?? 'not measured in this run';
    verdicts.push({ label: target.label, result, detail });
    lines.push(`  ${pad(result, 5)} ${pad(target.label, 46)} ${detail}`);
  }
  if (settings.quick) lines.push('  (QUICK run: sizes are reduced, so these verdicts are only a smoke test)');

  lines.push('');
  lines.push('samples per repetition:');
  for (const figure of FIGURES) {
    const parts = relays
      .map((relay) => {
        const values = valuesOf(figure.key, relay);
        return values.length === 0 ? undefined : `${short[relay]} ${values.map((v) => format(v, figure.digits)).join(' ')}`;
      })
      .filter((part): part is string => part !== undefined);
    if (parts.length > 0) lines.push(`  ${pad(figure.key, 22)} ${parts.join(' | ')}`);
  }
  const errors = samples.filter((s) => s.error !== undefined);
  if (errors.length > 0) {
    lines.push('');
    lines.push('errors:');
    for (const s of errors) lines.push(`  rep ${s.rep} ${s.measurement} ${s.relay}: ${s.error ?? ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  const json = {
    date: new Date().toISOString(),
    settings,
    machine,
    medians: Object.fromEntries(
      FIGURES.map((figure) => [figure.key, Object.fromEntries(relays.map((relay) => [relay, medianOf(figure.key, relay) ?? null]))]),
    ),
    targets: verdicts,
    samples,
  };
  try {
    writeFileSync(settings.json, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`\nresults: ${settings.json}\n`);
  } catch (error) {
    process.stderr.write(`bench:relay: cannot write ${settings.json}: ${(error as Error).message}\n`);
  }
}

if (!reexecWithFdLimit()) {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench:relay: ${signal}, stopping every relay\n`);
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  main().then(
    () => {
      killAll();
      // Sockets of a timed-out run may linger; nothing else is left to wait for.
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench:relay: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      killAll();
      process.exit(1);
    },
  );
}
