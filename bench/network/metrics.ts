/**
 * What a call through a bad link sounded like, from its clicks (pure: no processes, no clock).
 *
 * - heard: clicks sent that the listener played (a click in a dropped page, or still not out when the
 *   call ended, is not heard);
 * - delay as heard (the real-time player model of bench/latency/signal.ts), median and p90, over the
 *   whole call and over the clicks sent in its last 10 s (where a delay that only grows shows);
 * - longest gap: the longest the modelled player waited for audio (silence in the middle of the call);
 * - recovery, per outage: from the outage's end until the listener hears live audio again, i.e. the
 *   first click sent after the end whose delay as heard is at most `liveMs`, counted to the moment it
 *   is heard. An outage after which nothing is heard live again has no recovery (null).
 */
import { median, percentile } from '../latency/match.js';
import type { HeardClick } from '../latency/live-call.js';

/** Delay as heard at which a call counts as live again after an outage, ms (ITU-T G.114's "acceptable" reaches 400). */
export const LIVE_MS = 300;
/** The "last 10 s" window, ms. */
export const TAIL_WINDOW_MS = 10_000;

export interface Spread {
  readonly median: number;
  readonly p90: number;
}

export interface CallMetrics {
  readonly sent: number;
  readonly heard: number;
  readonly heardPct: number;
  readonly whole: Spread;
  readonly last10s: Spread;
  readonly longestGapMs: number;
  /** Recovery after each outage, ms, in order (null: never live again). */
  readonly recoveryMs: readonly (number | null)[];
}

export interface CallInput {
  /** Clicks the call was to have (the person talks on even when the talker has died). */
  readonly planned: number;
  readonly heard: readonly HeardClick[];
  readonly underrunsMs: readonly number[];
  /** Outages in performance.now() time. */
  readonly outages: readonly { readonly fromAt: number; readonly toAt: number }[];
  /** When the last click was sent: the last-10-s window ends here. */
  readonly endAt: number;
  readonly liveMs?: number;
}

function spread(values: readonly number[]): Spread {
  return { median: median(values), p90: percentile(values, 90) };
}

export function callMetrics(input: CallInput): CallMetrics {
  const live = input.liveMs ?? LIVE_MS;
  const sent = input.planned;
  const heard = input.heard.length;
  const tailFrom = input.endAt - TAIL_WINDOW_MS;
  // An outage that ends after the last click has nothing after it to recover.
  const recoveryMs = input.outages.filter((outage) => outage.toAt < input.endAt).map((outage) => {
    const back = input.heard.find((click) => click.sentAt >= outage.toAt && click.heardMs <= live);
    return back === undefined ? null : back.sentAt + back.heardMs - outage.toAt;
  });
  return {
    sent,
    heard,
    heardPct: sent === 0 ? Number.NaN : (heard / sent) * 100,
    whole: spread(input.heard.map((click) => click.heardMs)),
    last10s: spread(input.heard.filter((click) => click.sentAt >= tailFrom).map((click) => click.heardMs)),
    longestGapMs: input.underrunsMs.reduce((longest, ms) => Math.max(longest, ms), 0),
    recoveryMs,
  };
}
