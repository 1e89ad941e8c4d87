/**
 * One profile run: a fresh relay, and every case as its own call at once, each talker behind its own
 * link proxy; all proxies share one seed and one clock, so every call lives through the same delays,
 * stalls and blackouts at the same moments. The listeners reach the relay directly.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Context, Urls } from '../latency/configs.js';
import { hangUp, heardClicks, startLiveCall, stopCalls, unpairedDetections, type CallCase, type HeardClick, type LiveCall } from '../latency/live-call.js';
import { groupCpu, machineTicks } from '../latency/procs.js';
import { startRelay } from '../latency/relay.js';
import { planClicks } from '../latency/signal.js';
import { HOST, startLinkProxy, type LinkCounters, type LinkProxy, type Outage } from './link.js';
import { callMetrics, type CallMetrics } from './metrics.js';
import type { Profile } from './profiles.js';

export interface NetworkSettings {
  /** Length of the call (clicks are sent from 1 s to here), ms. */
  readonly callMs: number;
  readonly minGapMs: number;
  readonly maxGapMs: number;
  /** After the last click, how long the listener may still take to play it, ms. */
  readonly tailMs: number;
  readonly seed: number;
}

export interface CaseResult {
  readonly id: string;
  readonly label: string;
  readonly metrics: CallMetrics;
  /** Everything the talker put on its link (HTTP, chunk framing, Ogg), kbit/s over the call. */
  readonly wireKbps: number;
  readonly link: LinkCounters;
  /** CPU seconds per minute of call, by process name, of the talker's and the listener's process groups (start-up included). */
  readonly talkCpu: Readonly<Record<string, number>>;
  readonly listenCpu: Readonly<Record<string, number>>;
  readonly talkerExit: string;
  readonly listenerExit: string;
  /** The listener's stderr lines that tell what it did (catch-ups, reconnects), deduplicated by kind. */
  readonly listenerNotes: readonly string[];
  readonly talkerStderr: string;
  readonly listenerStderr: string;
  readonly error: string | null;
  /** Detections the matcher paired with no sent click. */
  readonly unpaired: number;
  /** Every click sent and every detection (ms after the call's start; stream positions), for diagnosis. */
  readonly detail: {
    readonly sent: readonly { readonly pos: number; readonly atMs: number }[];
    readonly hits: readonly { readonly pos: number; readonly atMs: number; readonly heardMs: number }[];
  };
  /** Each heard click: ms after the call's start it was sent, its delay as heard. */
  readonly clicks: readonly { readonly sentMs: number; readonly heardMs: number }[];
  readonly underruns: readonly { readonly atMs: number; readonly ms: number }[];
}

export interface ProfileResult {
  readonly profile: Profile['id'];
  readonly outages: readonly Outage[];
  readonly busyPct: number;
  readonly cases: readonly CaseResult[];
}

/** Start-up is not what is measured: the first sound comes when every talker has dialled (at most this long), */
const MAX_WARMUP_MS = 15_000;
/** and this long after that (the listeners' dial, ffmpeg's start). */
const SETTLE_MS = 3_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How a process ended before the call's end (null: it was still running then). */
function exitText(info: { code: number | null; signal: NodeJS.Signals | null; at: number } | null, t0: number): string {
  if (info === null) return 'ran to the end';
  const how = info.signal !== null ? `killed by ${info.signal}` : `exit ${String(info.code)}`;
  return `${how} at ${((info.at - t0) / 1000).toFixed(1)} s`;
}

export async function runProfile(profile: Profile, cases: readonly CallCase[], settings: NetworkSettings, ctx: Context): Promise<ProfileResult> {
  const relay = await startRelay(ctx.root);
  const proxies: LinkProxy[] = [];
  const calls: LiveCall[] = [];
  const clock = { t0: performance.now() };
  const before = await machineTicks();
  try {
    const listenServer = `http://${HOST}:${relay.port}`;
    const count = Math.floor((settings.callMs - 1_000) / ((settings.minGapMs + settings.maxGapMs) / 2)) + 1;
    for (const callCase of cases) {
      const proxy = await startLinkProxy({ targetPort: relay.port, spec: profile.link, seed: settings.seed, horizonMs: settings.callMs + 60_000, now: () => performance.now(), origin: () => clock.t0 });
      proxies.push(proxy);
      const talkServer = `http://${HOST}:${proxy.port}`;
      const name = `net-${profile.id}-${callCase.id}-${randomBytes(6).toString('hex')}`;
      const urls: Urls = { talk: `${talkServer}/api/v1/pipe/${name}`, listen: `${listenServer}/api/v1/pipe/${name}`, talkServer, listenServer, name };
      // The same clicks for every case: the same seed.
      const onsets = planClicks({ firstMs: 1_000, count, minGapMs: settings.minGapMs, maxGapMs: settings.maxGapMs, seed: settings.seed });
      calls.push(startLiveCall(callCase, urls, onsets, settings.seed, ctx));
    }
    // Every process starts (two node CLIs, ffmpegs, curls) and every talker has dialled (its request
    // came through its proxy) before anyone speaks: on 2 cores their start-up would otherwise queue
    // audio in whichever pipeline was slowest to start, as delay kept for the whole call, or lose the
    // first clicks, and the comparison would be about start-up, not about the link.
    for (const call of calls) call.generator.writePrefix();
    const warmupEnd = performance.now() + MAX_WARMUP_MS;
    while (proxies.some((proxy) => proxy.counters.upIn === 0) && performance.now() < warmupEnd) await sleep(50);
    await sleep(SETTLE_MS);
    clock.t0 = performance.now();
    for (const call of calls) call.generator.start();
    await sleep(clock.t0 + settings.callMs - performance.now());
    // Let the last clicks come out (every click found, or the tail is over).
    const lastSent = Math.max(...calls.map((call) => call.generator.sent[call.generator.sent.length - 1]?.at ?? 0));
    while (performance.now() < lastSent + settings.tailMs) {
      if (calls.every((call) => call.detector.detections.length >= call.generator.sent.length)) break;
      await sleep(100);
    }
    const endAt = performance.now();
    const exits = calls.map((call) => [call.talker.exitInfo(), call.listener.exitInfo()] as const);
    const minutes = (endAt - clock.t0) / 60_000;
    const perMinute = (cpu: ReadonlyMap<string, number>): Record<string, number> => Object.fromEntries([...cpu].map(([name, seconds]) => [name, Math.round((seconds / minutes) * 100) / 100]));
    const cpus = await Promise.all(calls.map(async (call) => [perMinute(await groupCpu(call.talker.pid)), perMinute(await groupCpu(call.listener.pid))] as const));
    await hangUp(calls);
    const after = await machineTicks();
    const outages = proxies[0]?.outages.filter((outage) => outage.fromMs < settings.callMs) ?? [];
    const results = calls.map((call, index): CaseResult => {
      const heard: HeardClick[] = heardClicks(call);
      const proxy = proxies[index];
      // The call's last click was due at its planned onset, whether or not the talker still took it.
      const callEnd = clock.t0 + (planClicks({ firstMs: 1_000, count, minGapMs: settings.minGapMs, maxGapMs: settings.maxGapMs, seed: settings.seed }).at(-1) ?? 0) / 48;
      const metrics = callMetrics({
        planned: count,
        heard,
        underrunsMs: call.detector.underruns.map((underrun) => underrun.ms),
        outages: outages.map((outage) => ({ fromAt: clock.t0 + outage.fromMs, toAt: clock.t0 + outage.toMs })),
        endAt: callEnd,
      });
      const [talkerExit, listenerExit] = exits[index] ?? [null, null];
      const stderr = call.listener.stderrTail();
      const notes = new Map<string, number>();
      for (const line of stderr.split(/[\r\n]+/)) {
        const kind = /^(caught up|reconnect|lost|connected|the talker|playout)/i.exec(line.trim())?.[1];
        if (kind !== undefined) notes.set(kind.toLowerCase(), (notes.get(kind.toLowerCase()) ?? 0) + 1);
      }
      return {
        id: call.callCase.id,
        label: call.callCase.label,
        metrics,
        wireKbps: proxy === undefined ? Number.NaN : (proxy.counters.upIn * 8) / (endAt - clock.t0),
        talkCpu: cpus[index]?.[0] ?? {},
        listenCpu: cpus[index]?.[1] ?? {},
        link: { ...(proxy?.counters ?? { upIn: 0, upOut: 0, downIn: 0, downOut: 0, upQueuedMax: 0, downQueuedMax: 0 }) },
        talkerExit: exitText(talkerExit, clock.t0),
        listenerExit: exitText(listenerExit, clock.t0),
        listenerNotes: [...notes].map(([kind, times]) => `${kind} ×${times}`),
        talkerStderr: call.talker.stderrTail().slice(-600),
        listenerStderr: stderr.slice(-600),
        error: call.error ?? (heard.length === 0 ? (call.detector.samples === 0 ? 'no audio came out' : 'no click was found') : null),
        unpaired: unpairedDetections(call),
        detail: {
          sent: call.generator.sent.map((click) => ({ pos: click.pos, atMs: Math.round(click.at - clock.t0) })),
          hits: call.detector.detections.map((hit) => ({ pos: hit.pos, atMs: Math.round(hit.at - clock.t0), heardMs: Math.round(hit.heardAt - clock.t0) })),
        },
        clicks: heard.map((click) => ({ sentMs: Math.round(click.sentAt - clock.t0), heardMs: Math.round(click.heardMs) })),
        underruns: call.detector.underruns.map((underrun) => ({ atMs: Math.round(underrun.at - clock.t0), ms: Math.round(underrun.ms) })),
      };
    });
    const busyPct = ((after.busy - before.busy) / Math.max(1, after.total - before.total)) * 100;
    return { profile: profile.id, outages, busyPct, cases: results };
  } finally {
    await stopCalls(calls);
    for (const proxy of proxies) proxy.close();
    await relay.stop();
  }
}
