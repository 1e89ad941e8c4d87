/**
 * The browser listener's as-heard delay: clicks from the click generator (signal.ts) go into
 * `hoodycall talk --input -`, through a `hoodycall serve` relay, to the relay's page in Debian's headless
 * Chromium (the Listen button pressed). In the page, a tap on the output node (after the decoder and the
 * Web Audio scheduling, where the speakers' signal is taken) finds each click's onset and dates it with
 * the audio clock's own presentation time (AudioContext.getOutputTimestamp: when that sample reaches the
 * output device, output latency included). Delay = that time − the moment the click's block was handed
 * to `talk`. Both clocks are the machine's wall clock.
 *
 * Two players: `webcodecs` (the page's own: fetch + Ogg + AudioDecoder + Web Audio) and `element` (the
 * fallback, a plain `<audio>`: the page with AudioDecoder removed), to show what a media element adds.
 *
 *   node dist/bench/latency/browser.js [--clicks N] [--rounds N] [--only webcodecs|element]
 *   npm run bench:latency -- --only hc-default --browser      (beside the CLI's figure)
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { matchClicks, median, percentile, type Event } from './match.js';
import { childEnv, spawnGroup, stopGroup } from './procs.js';
import { HOST, startRelay } from './relay.js';
import { planClicks, RealtimeGenerator, streamingWavHeader } from './signal.js';

export type BrowserPlayer = 'webcodecs' | 'element';

export interface BrowserRun {
  readonly player: BrowserPlayer;
  readonly sent: number;
  /** As-heard delay of each matched click, ms. */
  readonly delays: number[];
  /** What the page reports of its audio path: output latency, scheduling lead, underruns. */
  readonly detail: string;
  readonly error: string | null;
}

const CHROMIUM = process.env['HOODYCALL_CHROMIUM'] ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--autoplay-policy=no-user-gesture-required',
  '--disable-background-networking', '--disable-component-update', '--disable-default-apps', '--disable-sync',
  '--no-first-run', '--no-default-browser-check', '--no-pings', '--disable-field-trial-config',
];

/**
 * The in-page tap, as source text: it runs in the page (DOM types), while this file compiles for Node.
 * A ScriptProcessor on `hoodycall.output` sees every played sample with its context time
 * (`playbackTime`); an onset is the first sample over −20 dBFS after 200 ms below it.
 */
const TAP = `(() => {
  const api = window.hoodycall;
  const context = api.context, output = api.output;
  const tap = context.createScriptProcessor(256, 1, 1);
  const mute = context.createGain(); mute.gain.value = 0;
  output.connect(tap); tap.connect(mute); mute.connect(context.destination);
  const onsets = []; let position = 0; let quietUntil = 0;
  tap.onaudioprocess = (event) => {
    const samples = event.inputBuffer.getChannelData(0);
    const stamp = context.getOutputTimestamp();
    for (let i = 0; i < samples.length; i++) {
      const at = position + i;
      if (Math.abs(samples[i]) > 0.1 && at >= quietUntil) {
        const contextTime = event.playbackTime + i / context.sampleRate;
        const epoch = performance.timeOrigin + stamp.performanceTime + (contextTime - stamp.contextTime) * 1000;
        onsets.push({ pos: at, epoch });
        quietUntil = at + context.sampleRate * 0.2;
      }
    }
    position += samples.length;
  };
  window.__clicks = onsets;
})()`;

async function waitForListenState(page: import('playwright-core').Page, states: readonly string[], timeoutMs: number): Promise<string> {
  const handle = await page.waitForFunction(
    (wanted: readonly string[]) => {
      const state = (globalThis as { hoodycall?: { listenState: string } }).hoodycall?.listenState ?? '';
      return wanted.includes(state) ? state : false;
    },
    states,
    { timeout: timeoutMs, polling: 50 },
  );
  return (await handle.jsonValue()) as string;
}

/** One call: the page listens with `player`, `talk` sends `clicks` clicks. */
export async function runBrowserOnce(
  browser: Browser,
  root: string,
  relayPort: number,
  player: BrowserPlayer,
  clicks: number,
  seed: number,
): Promise<BrowserRun> {
  const name = `bench-browser-${player}-${seed}-${Date.now().toString(36)}`;
  const server = `http://${HOST}:${relayPort}`;
  const page = await browser.newPage();
  // The element figure: the page as a browser without WebCodecs runs it.
  if (player === 'element') await page.addInitScript(() => Reflect.deleteProperty(globalThis, 'AudioDecoder'));
  const talker = spawnGroup('talk', process.execPath, [path.join(root, 'bin/hoodycall.js'), 'talk', name, '--server', server, '--input', '-', '-q'], {
    stdin: 'pipe',
    stdout: 'ignore',
    cwd: root,
    env: childEnv(),
  });
  let generator: RealtimeGenerator | undefined;
  try {
    await page.goto(`${server}/#${name}`);
    await page.click('#listen');
    await waitForListenState(page, ['waiting', 'listening'], 10_000);
    if (talker.stdin === null) throw new Error('talk has no stdin');
    // The element buffers seconds before it plays, and clicks before that are heard late, not lost.
    const firstMs = 1_500;
    const onsets = planClicks({ firstMs, count: clicks, minGapMs: 500, maxGapMs: 700, seed });
    generator = new RealtimeGenerator(talker.stdin, onsets, seed, streamingWavHeader());
    generator.start();
    await waitForListenState(page, ['listening'], 15_000);
    await page.evaluate(TAP);
    const lastMs = (onsets.at(-1) ?? 0) / 48 + (player === 'element' ? 8_000 : 1_500);
    while (performance.now() - generator.startedAt < lastMs) await new Promise((resolve) => setTimeout(resolve, 200));
    const hits = (await page.evaluate('window.__clicks')) as { pos: number; epoch: number }[];
    const detail = (await page.evaluate(
      `(() => { const h = window.hoodycall, c = h.context;
        return 'base ' + (c.baseLatency * 1000).toFixed(0) + ' ms, output ' + (c.outputLatency * 1000).toFixed(0) + ' ms' +
          (h.listenMode === 'webcodecs' ? ', lead ' + (h.stats.leadSeconds * 1000).toFixed(0) + ' ms, underruns ' + h.stats.underruns + ', dropped ' + h.stats.dropped : ''); })()`,
    )) as string;
    const heard: Event[] = hits.map((hit) => ({ pos: hit.pos, at: hit.epoch - performance.timeOrigin }));
    const sent = generator.sent;
    const pairs = matchClicks(sent, heard);
    const delays: number[] = [];
    pairs.forEach((index, hit) => {
      const click = index === null ? undefined : sent[index];
      const at = heard[hit]?.at;
      if (click !== undefined && at !== undefined) delays.push(at - click.at);
    });
    return { player, sent: sent.length, delays, detail, error: delays.length === 0 ? 'no click was heard' : null };
  } catch (error) {
    return { player, sent: generator?.sent.length ?? 0, delays: [], detail: '', error: error instanceof Error ? error.message : String(error) };
  } finally {
    generator?.stop();
    talker.stdin?.end();
    await stopGroup(talker);
    await page.close();
  }
}

export async function launchBenchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
}

/** Runs `rounds` calls per player against a relay on `relayPort`; returns one line per player. */
export async function browserLatencyReport(root: string, relayPort: number, options: { rounds: number; clicks: number; players?: readonly BrowserPlayer[] }): Promise<string[]> {
  const browser = await launchBenchChromium();
  const lines: string[] = [];
  try {
    for (const player of options.players ?? (['webcodecs', 'element'] as const)) {
      const delays: number[] = [];
      let sent = 0;
      const errors: string[] = [];
      const details: string[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        const run = await runBrowserOnce(browser, root, relayPort, player, options.clicks, 7_000 + round);
        sent += run.sent;
        delays.push(...run.delays);
        if (run.error !== null) errors.push(run.error);
        if (run.detail !== '') details.push(run.detail);
      }
      const label = player === 'webcodecs' ? 'browser page, WebCodecs + Web Audio' : 'browser page, plain <audio>';
      const figures =
        delays.length === 0
          ? 'no clicks heard'
          : `as heard median ${median(delays).toFixed(0)} ms, p90 ${percentile(delays, 90).toFixed(0)}, max ${Math.max(...delays).toFixed(0)} (${delays.length}/${sent} clicks)`;
      lines.push(`${player.padEnd(10)} ${label}: ${figures}${errors.length > 0 ? `; errors: ${errors.join('; ')}` : ''}`);
      if (details.length > 0) lines.push(`           page: ${details.join(' / ')}`);
    }
  } finally {
    await browser.close();
  }
  return lines;
}

/** The hook for bench/latency.ts: its own relay, both players, the report lines. */
export async function browserLatencySection(root: string, rounds: number, clicks: number): Promise<string[]> {
  const relay = await startRelay(root);
  try {
    return await browserLatencyReport(root, relay.port, { rounds, clicks });
  } finally {
    await relay.stop();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (flag: string, fallback: string): string => {
    const index = argv.indexOf(flag);
    return index === -1 ? fallback : (argv[index + 1] ?? fallback);
  };
  const rounds = Number(option('--rounds', '2'));
  const clicks = Number(option('--clicks', '10'));
  const only = option('--only', '');
  const players: BrowserPlayer[] = only === 'webcodecs' || only === 'element' ? [only] : ['webcodecs', 'element'];
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const relay = await startRelay(root);
  try {
    for (const line of await browserLatencyReport(root, relay.port, { rounds, clicks, players })) process.stdout.write(`${line}\n`);
  } finally {
    await relay.stop();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench/latency/browser: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
