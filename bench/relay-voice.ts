/**
 * The relay benchmark's voice-shaped case: K concurrent calls, each a chunked PUT writing a 100-byte
 * page every 20 ms to its GET receiver, the calls' pages staggered over the 20 ms period as
 * independent talkers' are. For each K and each setup (hoodycall, piping-server, the raw TCP ceiling,
 * two hoodycall relays behind the shipped nginx config): the setup's CPU per page, delivery latency
 * (p50/p99/max), pages lost, RSS per call, and the load generator's own CPU per page. See
 * bench/relay/README.md, "Voice-shaped case".
 *
 *   npm run bench:voice                                   full run (about 12 minutes)
 *   npm run bench:voice -- --ks 250,1000 --setups hoodycall,piping-server --reps 1 --window 5
 *   VOICE_WORKER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:voice -- …   (node flags for the generator)
 *
 * The load generator is a few processes of its own (voice-worker.ts), each holding both ends of its
 * share of the calls; every setup runs fresh for each measurement, in a rotating order.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { killAll, setClockTicks } from './relay/servers.js';
import { killNginx, SETUP_NAMES, setSetupClockTicks, startSetup, type RunningSetup, type SetupName } from './relay/voice-setups.js';
import { Histogram, PAGE_MS, type CallSpec, type FromWorker, type ToWorker, type WindowReport } from './relay/voice-protocol.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKER = path.join(ROOT, 'dist/bench/relay/voice-worker.js');
const NEEDED_FDS = 16_000;
/** The latency bound a setup must hold for its calls to count (the issue's target). */
const P99_BOUND_MS = 20;

interface Settings {
  readonly ks: readonly number[];
  readonly setups: readonly SetupName[];
  readonly reps: number;
  readonly workers: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly relayNodeFlags: readonly string[];
  readonly json: string;
  /** Another checkout whose hoodycall runs as the setup `hoodycall-alt` (A/B of a relay change). */
  readonly alt: string | undefined;
}

function usage(message?: string): never {
  if (message !== undefined) process.stderr.write(`bench:voice: ${message}\n`);
  process.stderr.write(
    'usage: node dist/bench/relay-voice.js [--ks 250,500,1000,2000] [--setups hoodycall,piping-server,raw,nginx-2]\n' +
      '                                      [--reps N] [--workers N] [--warmup S] [--window S] [--relay-node-flags "..."] [--json FILE]\n' +
      '                                      [--alt DIR]   (adds setup hoodycall-alt: DIR/bin/hoodycall.js, for A/B runs)\n',
  );
  process.exit(message === undefined ? 0 : 2);
}

function parseSettings(argv: readonly string[]): Settings {
  let ks: readonly number[] = [250, 500, 1000, 2000];
  let setups: readonly SetupName[] = SETUP_NAMES;
  let reps = 2;
  let workers = 2;
  let warmupMs = 3_000;
  let windowMs = 10_000;
  let relayNodeFlags: string[] = [];
  let json = `/tmp/hoodycall-bench-voice-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  let alt: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => argv[++i] ?? usage(`${arg} needs a value`);
    const whole = (text: string, min: number, max: number): number => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < min || n > max) usage(`${arg} must be a whole number from ${min} to ${max}`);
      return n;
    };
    switch (arg) {
      case '--ks':
        ks = value().split(',').map((k) => whole(k, 1, 5_000));
        break;
      case '--setups':
        setups = value()
          .split(',')
          .map((name) => ([...SETUP_NAMES, 'hoodycall-alt'] as readonly string[]).includes(name) ? (name as SetupName) : usage(`unknown setup ${name}`));
        break;
      case '--reps':
        reps = whole(value(), 1, 10);
        break;
      case '--workers':
        workers = whole(value(), 1, 8);
        break;
      case '--warmup':
        warmupMs = whole(value(), 1, 60) * 1000;
        break;
      case '--window':
        windowMs = whole(value(), 1, 120) * 1000;
        break;
      case '--relay-node-flags':
        relayNodeFlags = value().split(/\s+/).filter((flag) => flag !== '');
        break;
      case '--json':
        json = value();
        break;
      case '--alt':
        alt = path.resolve(value());
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  if (alt !== undefined && !setups.includes('hoodycall-alt')) setups = [...setups, 'hoodycall-alt'];
  if (alt === undefined && setups.includes('hoodycall-alt')) usage('the setup hoodycall-alt needs --alt DIR');
  return { ks, setups, reps, workers, warmupMs, windowMs, relayNodeFlags, json, alt };
}

function softFdLimit(): number {
  const text = execFileSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return text === 'unlimited' ? Infinity : Number(text);
}

/** Runs this script again under a raised `ulimit -n` when needed (2,000 calls are 4,000 sockets here). */
function reexecWithFdLimit(): boolean {
  if (process.env['HOODYCALL_BENCH_REEXEC'] === '1' || softFdLimit() >= NEEDED_FDS) return false;
  const script = 'ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"';
  const child = spawn('bash', ['-c', script, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, HOODYCALL_BENCH_REEXEC: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.once('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 130)));
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let clockTicks = 100;

/** Busy CPU seconds of the whole machine so far (all CPUs, /proc/stat): what else ran is this minus ours. */
async function machineBusySeconds(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / clockTicks;
}

/** A load-generator process and a way to ask it one thing at a time. */
class Worker {
  readonly child: ChildProcess;
  #waiting: ((message: FromWorker) => void) | undefined;

  constructor() {
    this.child = fork(WORKER, [], { execArgv: process.env['VOICE_WORKER_FLAGS']?.split(' ') ?? [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromWorker) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.(message);
    });
  }

  ask<K extends FromWorker['kind']>(message: ToWorker, answer: K, timeoutMs = 60_000): Promise<Extract<FromWorker, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker: no '${answer}' within ${timeoutMs / 1000} s`)), timeoutMs);
      this.#waiting = (reply) => {
        clearTimeout(timer);
        if (reply.kind !== answer) reject(new Error(`worker answered '${reply.kind}', expected '${answer}'`));
        else resolve(reply as Extract<FromWorker, { kind: K }>);
      };
      this.child.send(message);
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

interface Sample {
  readonly rep: number;
  readonly setup: SetupName;
  readonly k: number;
  readonly values?: {
    readonly cpuUsPerPage: number;
    /** Of which in the kernel. */
    readonly systemUsPerPage: number;
    readonly cores: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly lost: number;
    readonly pagesPerSecond: number;
    readonly rssPerCallKiB: number;
    readonly generatorUsPerPage: number;
    readonly generatorSystemUsPerPage: number;
    readonly generatorElu: number;
    /** Cores used by everything else on the machine during the window (other processes, the kernel's own threads). */
    readonly otherCores: number;
    readonly cpuParts: Record<string, number>;
  };
  readonly error?: string;
}

/** RSS of the setup's relays once it stops moving (5 samples 250 ms apart within 64 KiB), at most 5 s. */
async function settledRss(setup: RunningSetup): Promise<number> {
  const samples: number[] = [];
  const deadline = Date.now() + 5_000;
  for (;;) {
    samples.push(await setup.relayRssKiB());
    const recent = samples.slice(-5);
    if (Date.now() > deadline || (recent.length === 5 && Math.max(...recent) - Math.min(...recent) <= 64)) break;
    await sleep(250);
  }
  return samples[samples.length - 1] ?? 0;
}

async function measure(setupName: SetupName, k: number, rep: number, settings: Settings): Promise<Sample> {
  let setup: RunningSetup | undefined;
  const workers: Worker[] = [];
  try {
    setup = await startSetup(setupName, ROOT, settings.relayNodeFlags, settings.alt);
    const rssBefore = await settledRss(setup);
    const calls: CallSpec[][] = Array.from({ length: settings.workers }, () => []);
    for (let i = 0; i < k; i++) {
      calls[i % settings.workers]?.push({ name: `voice-${rep}-${k}-${i}`, index: i, slot: Math.floor((i * PAGE_MS) / k) });
    }
    for (const share of calls) {
      const worker = new Worker();
      workers.push(worker);
      await worker.ask({ kind: 'setup', endpoint: setup.endpoint, calls: share }, 'ready');
    }
    const connected = await Promise.all(workers.map((worker) => worker.ask({ kind: 'connect' }, 'connected', 120_000)));
    const failures = connected.flatMap((reply) => reply.failures);
    if (failures.length > 0) throw new Error(`${failures.length} calls did not connect: ${failures.slice(0, 3).join(' | ')}`);
    const started = await Promise.all(workers.map((worker) => worker.ask({ kind: 'start' }, 'started')));
    const stuck = started.reduce((sum, reply) => sum + reply.stuck, 0);
    if (stuck > 0) throw new Error(`${stuck} calls delivered no page within 30 s`);
    await sleep(settings.warmupMs);
    const rssDuring = await setup.relayRssKiB();

    await Promise.all(workers.map((worker) => worker.ask({ kind: 'mark' }, 'marked')));
    const cpuBefore = await setup.cpuSeconds();
    const systemBefore = await setup.systemSeconds();
    const partsBefore = await setup.cpuParts();
    const busyBefore = await machineBusySeconds();
    const began = performance.now();
    await sleep(settings.windowMs);
    const reports: WindowReport[] = (await Promise.all(workers.map((worker) => worker.ask({ kind: 'report' }, 'report')))).map((reply) => reply.report);
    const seconds = (performance.now() - began) / 1000;
    const cpu = (await setup.cpuSeconds()) - cpuBefore;
    const system = (await setup.systemSeconds()) - systemBefore;
    const partsAfter = await setup.cpuParts();
    const busy = (await machineBusySeconds()) - busyBefore;

    const stopped = await Promise.all(workers.map((worker) => worker.ask({ kind: 'stop' }, 'stopped', 60_000)));
    const lost = stopped.reduce((sum, reply) => sum + reply.lost, 0);
    const errors = stopped.flatMap((reply) => reply.errors);
    const unclean = stopped.reduce((sum, reply) => sum + reply.unclean, 0);
    if (errors.length > 0 || unclean > 0) throw new Error(`${unclean} calls did not end cleanly; ${errors.slice(0, 3).join(' | ')}`);

    const histogram = new Histogram();
    for (const report of reports) histogram.add(report.histogram, report.maxMs);
    const received = reports.reduce((sum, report) => sum + report.received, 0);
    const generatorCpu = reports.reduce((sum, report) => sum + report.cpuSeconds, 0);
    const generatorSystem = reports.reduce((sum, report) => sum + report.systemSeconds, 0);
    return {
      rep,
      setup: setupName,
      k,
      values: {
        cpuUsPerPage: (cpu / received) * 1e6,
        systemUsPerPage: (system / received) * 1e6,
        cores: cpu / seconds,
        p50: histogram.percentile(50),
        p99: histogram.percentile(99),
        max: histogram.maxMs,
        lost,
        pagesPerSecond: received / seconds,
        rssPerCallKiB: (rssDuring - rssBefore) / k,
        generatorUsPerPage: (generatorCpu / received) * 1e6,
        generatorSystemUsPerPage: (generatorSystem / received) * 1e6,
        generatorElu: Math.max(...reports.map((report) => report.elu)),
        otherCores: Math.max(0, busy - cpu - generatorCpu) / seconds,
        cpuParts: Object.fromEntries(Object.entries(partsAfter).map(([part, after]) => [part, (after - (partsBefore[part] ?? 0)) / seconds])),
      },
    };
  } catch (error) {
    return { rep, setup: setupName, k, error: `${(error as Error).message}${setup === undefined ? '' : ` [${setup.stderrTail().slice(-300)}]`}` };
  } finally {
    for (const worker of workers) worker.kill();
    await setup?.stop();
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/** Calls one core carries at `usPerPage`: a call is 50 pages a second. */
const callsPerCore = (usPerPage: number): number => 1e6 / ((1000 / PAGE_MS) * usPerPage);

function report(settings: Settings, samples: readonly Sample[], seconds: number): void {
  type Key = keyof NonNullable<Sample['values']>;
  const med = (setup: SetupName, k: number, key: Exclude<Key, 'cpuParts'>): number =>
    median(samples.filter((s) => s.setup === setup && s.k === k && s.values !== undefined).map((s) => s.values?.[key] ?? NaN));
  const lines: string[] = [];
  const cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  lines.push('');
  lines.push(
    `hoodycall relay benchmark, voice-shaped case: K calls, a 100-byte page every ${PAGE_MS} ms each; medians of ${settings.reps} run(s); ` +
      `${settings.windowMs / 1000} s window after ${settings.warmupMs / 1000} s warm-up; ${settings.workers} generator processes; node ${process.version}, ${cpus} CPUs, ${seconds.toFixed(0)} s`,
  );
  lines.push('');
  const header = ['setup', 'K', 'CPU µs/page', 'kernel', 'cores', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'RSS/call KiB', 'gen µs/page', 'gen ELU', 'other cores'];
  const widths = [14, 5, 12, 7, 6, 7, 7, 8, 5, 13, 12, 8, 12];
  const row = (cells: readonly string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 8) : cell.padStart(widths[i] ?? 8))).join(' ');
  lines.push(row(header));
  lines.push('-'.repeat(row(header).length));
  for (const setup of settings.setups) {
    for (const k of settings.ks) {
      const failed = samples.filter((s) => s.setup === setup && s.k === k && s.error !== undefined).length;
      if (samples.every((s) => !(s.setup === setup && s.k === k && s.values !== undefined))) {
        lines.push(row([setup, String(k), 'FAIL', '', '', '', '', '', '', '', '', '', '']));
        continue;
      }
      lines.push(
        row([
          setup,
          String(k),
          med(setup, k, 'cpuUsPerPage').toFixed(1),
          med(setup, k, 'systemUsPerPage').toFixed(1),
          med(setup, k, 'cores').toFixed(2),
          med(setup, k, 'p50').toFixed(2),
          med(setup, k, 'p99').toFixed(1),
          med(setup, k, 'max').toFixed(0),
          med(setup, k, 'lost').toFixed(0),
          med(setup, k, 'rssPerCallKiB').toFixed(1),
          med(setup, k, 'generatorUsPerPage').toFixed(1),
          med(setup, k, 'generatorElu').toFixed(2),
          med(setup, k, 'otherCores').toFixed(2) + (failed > 0 ? ` (${failed} failed)` : ''),
        ]),
      );
    }
  }
  lines.push('');
  lines.push(`calls per core (1 s / (50 pages × CPU per page)), at the largest K whose median p99 <= ${P99_BOUND_MS} ms with nothing lost:`);
  const capacity = new Map<SetupName, { k: number; perCore: number }>();
  for (const setup of settings.setups) {
    const fit = settings.ks.filter((k) => med(setup, k, 'p99') <= P99_BOUND_MS && med(setup, k, 'lost') === 0);
    const k = Math.max(...fit);
    if (fit.length === 0) {
      lines.push(`  ${setup.padEnd(14)} none of the K held p99 <= ${P99_BOUND_MS} ms`);
      continue;
    }
    const perCore = callsPerCore(med(setup, k, 'cpuUsPerPage'));
    capacity.set(setup, { k, perCore });
    lines.push(`  ${setup.padEnd(14)} ${perCore.toFixed(0).padStart(6)} calls per core (at K = ${k}, ${med(setup, k, 'cpuUsPerPage').toFixed(1)} µs per page)`);
  }
  lines.push('');
  lines.push('targets:');
  const h = capacity.get('hoodycall');
  const p = capacity.get('piping-server');
  const n = capacity.get('nginx-2');
  if (h !== undefined && p !== undefined) {
    const ratio = h.perCore / p.perCore;
    lines.push(`  ${ratio >= 1.5 ? 'PASS' : 'MISS'}  hoodycall calls per core >= 1.5x piping-server's: ${h.perCore.toFixed(0)} vs ${p.perCore.toFixed(0)} (x${ratio.toFixed(2)})`);
  }
  if (h !== undefined && n !== undefined) {
    const ratio = n.k / h.k;
    lines.push(
      `  ${ratio >= 1.7 ? 'PASS' : 'MISS'}  2 relays behind nginx carry >= 1.7x one relay's calls at p99 <= ${P99_BOUND_MS} ms: K ${n.k} vs ${h.k} (x${ratio.toFixed(2)}; steps of the K list)`,
    );
  }
  const parts = samples.filter((s) => s.setup === 'nginx-2' && s.values !== undefined);
  if (parts.length > 0) {
    lines.push('');
    lines.push('nginx-2, cores used per part (median over runs):');
    for (const k of settings.ks) {
      const ofK = parts.filter((s) => s.k === k);
      if (ofK.length === 0) continue;
      const names = Object.keys(ofK[0]?.values?.cpuParts ?? {});
      lines.push(`  K ${String(k).padStart(5)}: ${names.map((name) => `${name} ${median(ofK.map((s) => s.values?.cpuParts[name] ?? NaN)).toFixed(2)}`).join(', ')}`);
    }
  }
  const errors = samples.filter((s) => s.error !== undefined);
  if (errors.length > 0) {
    lines.push('');
    lines.push('errors:');
    for (const s of errors) lines.push(`  rep ${s.rep} ${s.setup} K=${s.k}: ${s.error ?? ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  try {
    writeFileSync(settings.json, `${JSON.stringify({ date: new Date().toISOString(), settings, samples }, null, 2)}\n`);
    process.stdout.write(`\nresults: ${settings.json}\n`);
  } catch (error) {
    process.stderr.write(`bench:voice: cannot write ${settings.json}: ${(error as Error).message}\n`);
  }
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  setClockTicks(clockTicks);
  setSetupClockTicks(clockTicks);
  const startedAt = Date.now();
  process.stderr.write(
    `bench:voice: K ${settings.ks.join(',')}, setups ${settings.setups.join(',')}, ${settings.reps} rep(s), ${settings.workers} generator processes, ` +
      `window ${settings.windowMs / 1000} s; fd limit ${softFdLimit()}\n`,
  );
  const samples: Sample[] = [];
  for (let rep = 1; rep <= settings.reps; rep++) {
    for (const k of settings.ks) {
      // Rotate the order each repetition and K, so no setup always runs first.
      const shift = rep + settings.ks.indexOf(k);
      const order = settings.setups.map((_, i) => settings.setups[(i + shift) % settings.setups.length] as SetupName);
      for (const setup of order) {
        const sample = await measure(setup, k, rep, settings);
        samples.push(sample);
        const v = sample.values;
        process.stderr.write(
          `[rep ${rep}] ${setup.padEnd(13)} K=${String(k).padEnd(5)} ` +
            (v === undefined
              ? `ERROR ${sample.error ?? ''}\n`
              : `${v.cpuUsPerPage.toFixed(1)} µs/page (kernel ${v.systemUsPerPage.toFixed(1)}), ${v.cores.toFixed(2)} cores, p50 ${v.p50.toFixed(2)} p99 ${v.p99.toFixed(1)} max ${v.max.toFixed(0)} ms, ` +
                `lost ${v.lost}, ${v.rssPerCallKiB.toFixed(1)} KiB/call, generator ${v.generatorUsPerPage.toFixed(1)} µs/page (kernel ${v.generatorSystemUsPerPage.toFixed(1)}, ELU ${v.generatorElu.toFixed(2)}), ` +
                `others ${v.otherCores.toFixed(2)} cores\n`),
        );
        // Let the sockets of this run leave the machine's queues before the next setup starts.
        await sleep(500);
      }
    }
  }
  report(settings, samples, (Date.now() - startedAt) / 1000);
}

if (!reexecWithFdLimit()) {
  const cleanUp = (): void => {
    killAll();
    killNginx();
  };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench:voice: ${signal}, stopping everything\n`);
      cleanUp();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  main().then(
    () => {
      cleanUp();
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench:voice: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      cleanUp();
      process.exit(1);
    },
  );
}
