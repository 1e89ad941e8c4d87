/**
 * The mouth-to-ear latency benchmark: a real-time click generator feeds each pipeline, a detector
 * reads the decoded audio, and latency = click out − click in. All configs run in one process run,
 * interleaved over several rounds. See bench/latency/README.md.
 *
 *   npm run bench:latency                          full run (about 6 minutes)
 *   npm run bench:latency -- --quick               1 round, few clicks (a smoke run)
 *   npm run bench:latency -- --only tuned,hc-default --rounds 2
 *   npm run bench:latency -- --stall               a 2 s stall: hoodycall vs the naive pipeline (stall.ts)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CONFIG_IDS, CONFIGS, configById, type ConfigDef, type ConfigId, type Context } from './latency/configs.js';
import { killAllSync, setClockTicks } from './latency/procs.js';
import { startPulse, type Pulse } from './latency/pulse.js';
import { RELAY_KINDS, startBenchRelay, type BenchRelay, type RelayKind } from './latency/relay.js';
import { browserLatencySection } from './latency/browser.js';
import { cpuBreakdown, summarize, table, verdicts, type Summary } from './latency/report.js';
import { JOIN_ALLOWANCE_MS, runOnce, type RunResult, type RunSettings } from './latency/run.js';
import { stallBenchMain } from './latency/stall.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Settings {
  readonly configs: readonly ConfigId[];
  readonly rounds: number;
  readonly clicks: number;
  readonly deviceRounds: number;
  readonly deviceClicks: number;
  readonly budgetMs: number;
  readonly json: string;
  readonly verbose: boolean;
  /** Also the browser listener (bench/latency/browser.ts), after the other configs. */
  readonly browser: boolean;
  /** The relay the relayed configs go through. */
  readonly relay: RelayKind;
}

function usage(message?: string): never {
  if (message !== undefined) process.stderr.write(`bench:latency: ${message}\n`);
  process.stderr.write(
    'usage: node dist/bench/latency.js [--quick] [--only ID,ID,...] [--rounds N] [--clicks N]\n' +
      '                                  [--device-rounds N] [--device-clicks N] [--no-device] [--budget-min M] [--json FILE] [--verbose] [--browser]\n' +
      `                                  [--relay ${RELAY_KINDS.join('|')}]\n` +
      `  IDs: ${CONFIG_IDS.join(', ')}\n`,
  );
  process.exit(message === undefined ? 0 : 2);
}

function parseSettings(argv: readonly string[]): Settings {
  let quick = false;
  let configs: readonly ConfigId[] = CONFIG_IDS;
  let rounds: number | undefined;
  let clicks: number | undefined;
  let deviceRounds: number | undefined;
  let deviceClicks: number | undefined;
  let noDevice = false;
  let budgetMin = 9;
  let verbose = false;
  let browser = false;
  let relay: RelayKind = 'hoodycall';
  let json = `/tmp/hoodycall-bench-latency-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  const count = (arg: string, text: string, low: number, high: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < low || value > high) usage(`${arg} must be an integer ${low}..${high}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--quick':
        quick = true;
        break;
      case '--relay': {
        const kind = value();
        if (!(RELAY_KINDS as readonly string[]).includes(kind)) usage(`--relay is one of ${RELAY_KINDS.join(', ')}`);
        relay = kind as RelayKind;
        break;
      }
      case '--only': {
        const ids = value()
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id !== '');
        for (const id of ids) if (!(CONFIG_IDS as readonly string[]).includes(id)) usage(`unknown config ${id}`);
        configs = CONFIG_IDS.filter((id) => ids.includes(id));
        break;
      }
      case '--rounds':
        rounds = count(arg, value(), 1, 10);
        break;
      case '--clicks':
        clicks = count(arg, value(), 1, 100);
        break;
      case '--device-rounds':
        deviceRounds = count(arg, value(), 1, 10);
        break;
      case '--device-clicks':
        deviceClicks = count(arg, value(), 1, 100);
        break;
      case '--no-device':
        noDevice = true;
        break;
      case '--budget-min':
        budgetMin = count(arg, value(), 1, 60);
        break;
      case '--json':
        json = value();
        break;
      case '--browser':
        browser = true;
        break;
      case '--verbose':
        verbose = true;
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  }
  if (noDevice) configs = configs.filter((id) => configById(id).path !== 'device');
  return {
    configs,
    rounds: rounds ?? (quick ? 1 : 3),
    clicks: clicks ?? (quick ? 6 : 10),
    deviceRounds: deviceRounds ?? (quick ? 1 : 3),
    deviceClicks: deviceClicks ?? (quick ? 5 : 10),
    budgetMs: budgetMin * 60_000,
    json,
    verbose,
    browser,
    relay,
  };
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function installCleanup(): void {
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench:latency: ${signal}, stopping every process it started\n`);
      killAllSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench:latency: ${error.stack ?? error.message}\n`);
    killAllSync();
    process.exit(1);
  });
}

function tool(file: string, args: readonly string[]): string | null {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch {
    return null;
  }
}

interface CliStatus {
  readonly ok: boolean;
  readonly reason: string;
  readonly talkHelp: string;
}

/** Are `talk` and `listen` built? (`hoodycall NOPE --help` prints the top-level help and exits 0, so read it.) */
function detectCli(): CliStatus {
  const help = (command: string): string | null => {
    const out = tool(process.execPath, [path.join(ROOT, 'bin/hoodycall.js'), command, '--help']);
    return out !== null && out.includes(`hoodycall ${command}`) ? out : null;
  };
  const talk = help('talk');
  const listen = help('listen');
  if (talk === null || listen === null) {
    const missing = [talk === null ? 'talk' : null, listen === null ? 'listen' : null].filter((name) => name !== null).join(' and ');
    return { ok: false, reason: `skipped: talk/listen not built (\`hoodycall ${missing} --help\` shows no such command)`, talkHelp: '' };
  }
  return { ok: true, reason: '', talkHelp: talk };
}

/** Round r runs the configs rotated by r, so no config always follows the same one. */
function rotated<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function estimateMs(config: ConfigDef, clicks: number): number {
  return 2_000 + config.listenerDelayMs + JOIN_ALLOWANCE_MS * (config.listenerDelayMs > 0 ? 1 : 0) + clicks * 600 + config.tailMs;
}

function describeRun(run: RunResult): string {
  const med = (values: readonly number[]): string => fmtMs(medianOf(values));
  const parts = [
    `${run.arrival.length}/${run.sent} clicks`,
    `median ${med(run.arrival)} ms`,
    `heard ${med(run.heard)} ms`,
    `first PCM ${run.firstOutMs === null ? '-' : run.firstOutMs.toFixed(0)} ms`,
  ];
  parts.push(`machine busy ${run.machineBusyPct.toFixed(0)}%`);
  if (run.staleHeard > 0) parts.push(`${run.staleHeard} stale clicks played`);
  for (const line of run.leftBehind) parts.push(line);
  if (run.spurious > 0) parts.push(`${run.spurious} spurious`);
  if (run.error !== null) parts.push(`ERROR: ${run.error}`);
  return parts.join(', ');
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function fmtMs(value: number): string {
  return Number.isFinite(value) ? value.toFixed(0) : '-';
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  installCleanup();
  const began = performance.now();
  const ticks = Number(tool('getconf', ['CLK_TCK'])?.trim() ?? '100');
  setClockTicks(Number.isFinite(ticks) && ticks > 0 ? ticks : 100);
  const ctx: Context = { root: ROOT, node: process.execPath };

  const ffmpegVersion = tool('ffmpeg', ['-hide_banner', '-version'])?.split('\n')[0] ?? null;
  const curlVersion = tool('curl', ['--version'])?.split('\n')[0] ?? null;
  if (ffmpegVersion === null || curlVersion === null) {
    process.stderr.write('bench:latency: needs ffmpeg (with libopus) and curl on PATH\n');
    process.exitCode = 1;
    return;
  }
  const cli = detectCli();
  const skipReasons = new Map<ConfigId, string>();
  let selected = CONFIGS.filter((config) => settings.configs.includes(config.id));
  if (!cli.ok) {
    for (const config of selected) if (config.cli) skipReasons.set(config.id, cli.reason);
  } else if (!cli.talkHelp.includes('--low-latency')) {
    log('note: `hoodycall talk --help` does not list --low-latency; hc-lowlat runs anyway');
  }
  selected = selected.filter((config) => !skipReasons.has(config.id));
  const pipeConfigs = selected.filter((config) => config.path === 'pipe');
  let deviceConfigs = selected.filter((config) => config.path === 'device');

  log(`hoodycall latency benchmark — ${new Date().toISOString()}`);
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${os.type()} ${os.release()}, node ${process.version}`);
  log(`tools: ${ffmpegVersion}; ${curlVersion}`);
  log(`load average at start: ${os.loadavg().map((value) => value.toFixed(2)).join(' ')}`);
  log(`relay: ${settings.relay}`);
  log(
    `plan: ${pipeConfigs.length} pipe configs × ${settings.rounds} rounds × ${settings.clicks} clicks; ` +
      `${deviceConfigs.length} device configs × ${settings.deviceRounds} rounds × ${settings.deviceClicks} clicks; budget ${settings.budgetMs / 60_000} min`,
  );
  for (const [id, reason] of skipReasons) log(`${id}: ${reason}`);

  const results = new Map<ConfigId, RunResult[]>();
  const record = (run: RunResult): void => {
    const list = results.get(run.config as ConfigId) ?? [];
    list.push(run);
    results.set(run.config as ConfigId, list);
  };
  // In an object, so that assignments made inside the closure below are not narrowed away.
  const running: { relay: BenchRelay | null; pulse: Pulse | null } = { relay: null, pulse: null };
  const overBudget = (config: ConfigDef, clicks: number): boolean => performance.now() - began + estimateMs(config, clicks) > settings.budgetMs;

  const runRounds = async (configs: readonly ConfigDef[], rounds: number, clicks: number, pulse: Pulse | null): Promise<void> => {
    for (let round = 1; round <= rounds; round++) {
      for (const config of rotated(configs, round - 1)) {
        if (overBudget(config, clicks)) {
          skipReasons.set(config.id, skipReasons.get(config.id) ?? `some rounds skipped: over the ${settings.budgetMs / 60_000}-minute budget`);
          log(`round ${round}/${rounds}  ${config.id.padEnd(12)}  skipped (budget)`);
          continue;
        }
        if (config.relay && (running.relay === null || running.relay.problem() !== null)) {
          if (running.relay !== null) log(`relay ${running.relay.problem() ?? ''}; starting a new one`);
          running.relay = await startBenchRelay(ROOT, settings.relay);
        }
        const runSettings: RunSettings = { clicks, firstClickMs: 1_000, minGapMs: 500, maxGapMs: 700, seed: round * 1_000 + CONFIG_IDS.indexOf(config.id) };
        const relayPort = running.relay === null ? null : running.relay.port;
        const run = await runOnce(config, round, runSettings, { ctx, relayPort, pulse, log });
        record(run);
        log(`round ${round}/${rounds}  ${config.id.padEnd(12)}  ${describeRun(run)}  (${(run.durationMs / 1000).toFixed(1)} s)`);
        if (settings.verbose || run.error !== null) {
          for (const [who, text] of [
            ['talker', run.talkerStderr],
            ['listener', run.listenerStderr],
          ] as const) {
            if (text !== '') log(`    ${who} stderr: ${text.split('\n').slice(-6).join('\n      ')}`);
          }
          log(`    talker ${run.talkerExit}; listener ${run.listenerExit}`);
        }
      }
    }
  };

  try {
    await runRounds(pipeConfigs, settings.rounds, settings.clicks, null);
    if (deviceConfigs.length > 0) {
      const missing = ['pulseaudio', 'pactl', 'pacat', 'parec'].filter((file) => tool('which', [file]) === null);
      if (missing.length > 0) {
        for (const config of deviceConfigs) skipReasons.set(config.id, `skipped: ${missing.join(', ')} not installed`);
        deviceConfigs = [];
      } else {
        try {
          running.pulse = await startPulse(ROOT);
        } catch (error) {
          for (const config of deviceConfigs) skipReasons.set(config.id, `skipped: ${(error as Error).message}`);
          deviceConfigs = [];
        }
      }
      if (running.pulse !== null) await runRounds(deviceConfigs, settings.deviceRounds, settings.deviceClicks, running.pulse);
    }
  } finally {
    if (running.relay !== null) await running.relay.stop();
    if (running.pulse !== null) await running.pulse.stop();
  }

  // Report.
  const summaries: Summary[] = [];
  for (const config of CONFIGS) {
    const runs = results.get(config.id);
    if (runs !== undefined) summaries.push(summarize(config, runs));
  }
  const byId = new Map(summaries.map((summary) => [summary.config.id, summary] as const));
  log('');
  log(`load average at end: ${os.loadavg().map((value) => value.toFixed(2)).join(' ')}; wall time ${((performance.now() - began) / 1000).toFixed(0)} s`);
  log('');
  log('latency in ms, all clicks of all rounds pooled ("med/p90/max": arrival of the decoded click; "heard": real-time player)');
  log(table(summaries));
  if (settings.browser) {
    log('');
    log('browser listener, as heard in the page (bench/latency/browser.ts; same clicks into hoodycall talk --input -):');
    for (const line of await browserLatencySection(ROOT, settings.rounds, settings.clicks)) log(`  ${line}`);
  }
  const extras: string[] = [];
  for (const summary of summaries) {
    const perRun = summary.runs.map((run) => `${fmtMs(medianOf(run.heard))}${run.error === null ? '' : '!'}`).join(' / ');
    const busy = summary.runs.map((run) => run.machineBusyPct.toFixed(0)).join(' / ');
    extras.push(`${summary.config.id}: heard median per round ${perRun} ms; machine busy ${busy} %`);
    const talkCpu = cpuBreakdown(summary.runs, 'talk');
    const listenCpu = cpuBreakdown(summary.runs, 'listen');
    if (talkCpu !== '' || listenCpu !== '') extras.push(`${summary.config.id}: CPU s/min by process: talk ${talkCpu || '-'}; listen ${listenCpu || '-'}`);
    if (summary.staleHeard > 0) extras.push(`${summary.config.id}: ${summary.staleHeard} clicks sent before the listener started were played (backlog)`);
    if (summary.spurious > 0) extras.push(`${summary.config.id}: ${summary.spurious} detections matched no click`);
    if (Number.isFinite(summary.harnessMs)) extras.push(`${summary.config.id}: generator -> parec of hc_mic (not included) median ${summary.harnessMs.toFixed(0)} ms`);
    for (const error of summary.errors) extras.push(`${summary.config.id}: ${error}`);
  }
  if (extras.length > 0) {
    log('');
    for (const line of extras) log(`  ${line}`);
  }
  for (const [id, reason] of skipReasons) log(`  ${id}: ${reason}`);
  log('');
  log('targets:');
  const list = verdicts(byId, skipReasons);
  for (const item of list) log(`  ${item.status.padEnd(4)}  ${item.text}`);
  const tuned = byId.get('pa-tuned');
  if (tuned !== undefined && tuned.found > 0) {
    log(`  info  device path, tuned ffmpeg pipeline (reference): heard median ${tuned.heard.median.toFixed(0)} ms (${tuned.found}/${tuned.sent} clicks)`);
  }
  if (cli.ok) {
    const hcRuns = summaries.filter((summary) => summary.config.cli).flatMap((summary) => summary.runs);
    const exits = new Map<string, number>();
    for (const run of hcRuns) {
      const key = `${run.config}: talk ${run.talkerExit.replace(/\d+ ms/, 'N ms')}; listen ${run.listenerExit.replace(/\d+ ms/, 'N ms')}`;
      exits.set(key, (exits.get(key) ?? 0) + 1);
    }
    if (exits.size > 0) {
      log('');
      log('how hoodycall talk/listen ended (pipe path: EOF on talk\'s stdin, then SIGTERM after 3 s; device path: SIGTERM):');
      for (const [key, times] of exits) log(`  ${key}  (×${times})`);
    }
  }
  writeFileSync(
    settings.json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        settings,
        machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, kernel: os.release(), node: process.version, ffmpeg: ffmpegVersion, curl: curlVersion },
        skipped: Object.fromEntries(skipReasons),
        summaries: summaries.map(({ config, runs, ...rest }) => ({ config: config.id, label: config.label, ...rest, runs })),
        verdicts: list,
      },
      null,
      1,
    ),
  );
  log('');
  log(`JSON with every run and click: ${settings.json}`);
}

// `--stall`: the stall case on its own (bench/latency/stall.ts).
if (process.argv.includes('--stall')) await stallBenchMain(ROOT, process.argv.slice(2).filter((arg) => arg !== '--stall'));
else await main();
