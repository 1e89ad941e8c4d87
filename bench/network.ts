/**
 * Calls through bad links (issue 13): each profile (bench/network/profiles.ts) on the talker's leg,
 * hoodycall and the tuned shell pipeline side by side in one run, as heard. See bench/network/README.md.
 *
 *   npm run build && node dist/bench/network.js                        every profile, 50 s calls
 *   node dist/bench/network.js --profiles 3g,lossy --call-s 20          shorter, for development
 *   node dist/bench/network.js --profiles lossy --cases hc-default --hc 'cap400||--max-delay 400'
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from './latency/configs.js';
import type { CallCase } from './latency/live-call.js';
import { killAllSync } from './latency/procs.js';
import { STALL_CASES } from './latency/stall.js';
import { LIVE_MS } from './network/metrics.js';
import { PROFILE_IDS, profileById, type Profile } from './network/profiles.js';
import { runProfile, type NetworkSettings, type ProfileResult } from './network/run.js';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function usage(message?: string): never {
  if (message !== undefined) process.stderr.write(`bench:network: ${message}\n`);
  process.stderr.write(
    'usage: node dist/bench/network.js [--profiles ID,...] [--cases ID,...] [--hc \'ID|TALK ARGS|LISTEN ARGS\']...\n' +
      '                                  [--shell \'ID|ENCODER ARGS\']... [--call-s S] [--seed N] [--root DIR] [--json FILE]\n' +
      `  profiles: ${PROFILE_IDS.join(', ')}; cases: ${Object.keys(STALL_CASES).join(', ')}\n`,
  );
  process.exit(message === undefined ? 0 : 2);
}

/** A hoodycall case with extra talk and listen arguments: `ID|TALK ARGS|LISTEN ARGS` (space-separated). */
function customCase(text: string): CallCase {
  const [id, talkText, listenText] = text.split('|');
  const base = STALL_CASES['hc-default'];
  if (id === undefined || id.trim() === '' || base === undefined) usage(`--hc needs ID|TALK ARGS|LISTEN ARGS, got ${text}`);
  const words = (value: string | undefined): string[] => (value ?? '').split(' ').filter((word) => word !== '');
  return {
    ...base,
    id: id.trim(),
    label: `hoodycall talk ${words(talkText).join(' ')} / listen ${words(listenText).join(' ')}`.replace(/ +/g, ' '),
    talker: (urls, ctx) => {
      const spec = base.talker(urls, ctx);
      return { file: spec.file, args: [...spec.args, ...words(talkText)] };
    },
    listener: (urls, ctx) => {
      const spec = base.listener(urls, ctx);
      return { file: spec.file, args: [...spec.args, ...words(listenText)] };
    },
  };
}

/**
 * The tuned shell pipeline with other encoder output options: `ID|OPUS AND OGG ARGS` (replacing
 * `-c:a libopus -b:a 32k -application voip -frame_duration 20 -flush_packets 1 -page_duration 20000`).
 */
function shellCase(text: string): CallCase {
  const [id, opus] = text.split('|');
  const base = STALL_CASES.tuned;
  if (id === undefined || id.trim() === '' || opus === undefined || base === undefined) usage(`--shell needs ID|ENCODER ARGS, got ${text}`);
  return {
    ...base,
    id: id.trim(),
    label: `tuned shell pipeline, encoder ${opus.trim()}`,
    talker: (urls, ctx) => {
      const spec = base.talker(urls, ctx);
      const command = spec.args[spec.args.length - 1] ?? '';
      const replaced = command.replace(/-c:a libopus .*?-page_duration \d+/, `-c:a libopus ${opus.trim()}`);
      if (replaced === command) throw new Error('the tuned talker command changed: --shell cannot place its encoder options');
      return { file: spec.file, args: [...spec.args.slice(0, -1), replaced] };
    },
  };
}

interface Settings extends NetworkSettings {
  /** The hoodycall checkout whose bin/hoodycall.js is measured (and serves as relay). */
  readonly root: string;
  readonly profiles: readonly Profile[];
  readonly cases: readonly CallCase[];
  readonly json: string;
}

function parseSettings(argv: readonly string[]): Settings {
  let profiles: Profile[] = PROFILE_IDS.map((id) => profileById(id)).filter((profile): profile is Profile => profile !== undefined);
  let cases: CallCase[] = ['hc-default', 'tuned'].map((id) => STALL_CASES[id]).filter((c): c is CallCase => c !== undefined);
  const custom: CallCase[] = [];
  let callMs = 50_000;
  let seed = 13;
  let root = HERE;
  let json = `/tmp/hoodycall-bench-network-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--profiles':
        profiles = value().split(',').map((id) => profileById(id.trim()) ?? usage(`unknown profile ${id}`));
        break;
      case '--cases':
        cases = value()
          .split(',')
          .filter((id) => id !== '')
          .map((id) => STALL_CASES[id.trim()] ?? usage(`unknown case ${id}`));
        break;
      case '--hc':
        custom.push(customCase(value()));
        break;
      case '--call-s': {
        const seconds = Number(value());
        if (!Number.isInteger(seconds) || seconds < 5 || seconds > 600) usage('--call-s must be a whole number of seconds, 5..600');
        callMs = seconds * 1000;
        break;
      }
      case '--seed':
        seed = Number(value());
        if (!Number.isInteger(seed)) usage('--seed must be a whole number');
        break;
      case '--json':
        json = value();
        break;
      case '--root':
        root = path.resolve(value());
        break;
      case '--shell':
        custom.push(shellCase(value()));
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  }
  return { root, profiles, cases: [...cases, ...custom], json, callMs, minGapMs: 400, maxGapMs: 600, tailMs: 3_000, seed };
}

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** One markdown row per case. */
function rows(result: ProfileResult): string[] {
  return result.cases.map((c) => {
    const m = c.metrics;
    const recovery = m.recoveryMs.length === 0 ? '–' : m.recoveryMs.map((ms) => (ms === null ? 'never' : (ms / 1000).toFixed(1))).join(' / ');
    return `| ${result.profile} | ${c.id} | ${m.heard}/${m.sent} (${fmt(m.heardPct)} %) | ${fmt(m.whole.median)} / ${fmt(m.whole.p90)} | ${fmt(m.last10s.median)} / ${fmt(m.last10s.p90)} | ${fmt(m.longestGapMs)} | ${recovery} | ${fmt(c.wireKbps, 1)} | ${c.talkerExit}; ${c.listenerExit} | ${c.listenerNotes.join(', ') || '–'} |`;
  });
}

const HEADER = [
  '| link | case | clicks heard | as heard, median / p90 ms | last 10 s, median / p90 ms | longest gap ms | back live after each outage, s | up kbit/s | talk; listen ended | listener said |',
  '|---|---|---|---|---|---|---|---|---|---|',
];

/** The issue's targets for hoodycall's default case. */
function verdicts(results: readonly ProfileResult[]): string[] {
  const lines: string[] = [];
  const hc = (profile: string): ProfileResult['cases'][number] | undefined => results.find((r) => r.profile === profile)?.cases.find((c) => c.id === 'hc-default');
  const tuned = (profile: string): ProfileResult['cases'][number] | undefined => results.find((r) => r.profile === profile)?.cases.find((c) => c.id === 'tuned');
  const mark = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
  const clean = hc('clean');
  const cleanTuned = tuned('clean');
  if (clean !== undefined && cleanTuned !== undefined) {
    const ok = clean.metrics.whole.median <= cleanTuned.metrics.whole.median + 5;
    lines.push(`${mark(ok)}  clean: hoodycall ≤ tuned + 5 ms (median as heard ${fmt(clean.metrics.whole.median)} vs ${fmt(cleanTuned.metrics.whole.median)} ms)`);
  }
  const pair = (profile: string, pct: number, lastMs: number): void => {
    const c = hc(profile);
    if (c === undefined) return;
    const ok = c.metrics.heardPct >= pct && c.metrics.last10s.median <= lastMs;
    lines.push(`${mark(ok)}  ${profile}: ≥ ${pct} % heard with last-10-s median ≤ ${lastMs} ms (${fmt(c.metrics.heardPct, 1)} %, ${fmt(c.metrics.last10s.median)} ms)`);
  };
  pair('3g', 97, 300);
  pair('lossy', 95, 700);
  pair('thin', 90, 500);
  const tunnel = hc('tunnel');
  if (tunnel !== undefined) {
    const ok = tunnel.metrics.recoveryMs.every((ms) => ms !== null && ms <= 1_000) && tunnel.talkerExit === 'ran to the end' && tunnel.listenerExit === 'ran to the end';
    lines.push(
      `${mark(ok)}  tunnel: back live (≤ ${LIVE_MS} ms) ≤ 1 s after each blackout, never an exit (${tunnel.metrics.recoveryMs.map((ms) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`)).join(', ')}; talk ${tunnel.talkerExit}, listen ${tunnel.listenerExit})`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAllSync();
      process.exit(130);
    });
  }
  const ctx: Context = { root: settings.root, node: process.execPath };
  log(`hoodycall network benchmark — ${new Date().toISOString()}`);
  let commit = '?';
  try {
    commit = execFileSync('git', ['-C', settings.root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout (an exported tree): say so
    commit = 'not a git checkout';
  }
  log(`hoodycall measured: ${settings.root} (${commit})`);
  log(`machine: ${os.cpus().length} cores, node ${process.version}; load average at start ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  log(`plan: ${settings.profiles.map((p) => p.id).join(', ')}; cases ${settings.cases.map((c) => c.id).join(', ')} at once per profile; ${settings.callMs / 1000} s calls, clicks every ${settings.minGapMs}-${settings.maxGapMs} ms; seed ${settings.seed}`);
  const results: ProfileResult[] = [];
  for (const profile of settings.profiles) {
    const result = await runProfile(profile, settings.cases, settings, ctx);
    results.push(result);
    log('');
    log(`${profile.label}: machine busy ${fmt(result.busyPct)} %; outages ${result.outages.map((o) => `${(o.fromMs / 1000).toFixed(1)}+${o.toMs - o.fromMs}`).join(' ') || 'none'}`);
    for (const line of rows(result)) log(line);
    for (const c of result.cases) {
      const cpu = (byName: Readonly<Record<string, number>>): string => Object.entries(byName).map(([name, value]) => `${name} ${value.toFixed(2)}`).join(' + ') || '-';
      log(`  ${c.id}: CPU s/min talk ${cpu(c.talkCpu)}; listen ${cpu(c.listenCpu)}${c.unpaired > 0 ? `; ${c.unpaired} detections paired with no click` : ''}`);
      if (c.error !== null) log(`  ${c.id}: ERROR ${c.error}; listener: ${c.listenerStderr.replace(/\n/g, ' | ')}; talker: ${c.talkerStderr.replace(/\n/g, ' | ')}`);
    }
  }
  log('');
  log(`all profiles (seed ${settings.seed}, ${settings.callMs / 1000} s calls):`);
  log('');
  for (const line of HEADER) log(line);
  for (const result of results) for (const line of rows(result)) log(line);
  log('');
  log('targets (hoodycall default):');
  for (const line of verdicts(results)) log(`  ${line}`);
  writeFileSync(settings.json, JSON.stringify({ date: new Date().toISOString(), settings: { ...settings, profiles: settings.profiles.map((p) => p.id), cases: settings.cases.map((c) => c.id) }, results }, null, 1));
  log('');
  log(`JSON with every click: ${settings.json}`);
}

await main();
