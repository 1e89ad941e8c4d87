/**
 * The playout's target delay, from how late pages arrive: WebRTC NetEQ's approach (its delay
 * manager's forgetting histogram), on Ogg pages instead of RTP packets.
 *
 * - Each audio page's **arrival delay** is how much later than the best recent page it came:
 *   `(arrival − media time) − min over the last 2 s of (arrival − media time)`, so a link's constant
 *   latency counts for nothing and only its jitter and stalls do.
 * - Every 500 ms of arrivals, the **largest** arrival delay of those 500 ms goes into a histogram of
 *   20 ms buckets (0–2 s; more counts as 2 s) that **forgets**: each update scales every bucket by
 *   0.983 (a weight halves in ~40 updates, ~20 s) and adds the rest to the new one; right after a start
 *   the factor ramps up from 0 (`1 − 2/(n+1)`), so the first updates count fully.
 * - The **target** is the upper edge of the bucket at the quantile: the delay that the given share of
 *   500 ms spells stayed within.
 *
 * The quantile is where this differs from NetEQ (0.95). NetEQ holds that much audio in its buffer all
 * the time; hoodycall does not buffer up to the target (a clean link adds nothing), it only plays
 * faster while above it, and a stall costs a gap, not audio. So the target is the level it *returns
 * to* after a stall: with 0.85, stalls in fewer than ~15 % of half-seconds (a "3g" link: one every
 * ~5 s) are caught up after each one, while a link stalled more often ("lossy": every ~2 s) keeps a
 * cushion the size of its usual stall. The quantile and the resulting figures are in
 * bench/network/README.md.
 *
 * Pure: times are passed in (ms on any monotonic clock), nothing is scheduled.
 */

export interface JitterTargetOptions {
  /** Share of 500 ms intervals whose largest delay the target covers (0–1). */
  readonly quantile?: number;
  /** Histogram forgetting factor per update. */
  readonly forgetFactor?: number;
  /** Ramp of the forgetting factor after a start: `1 − weight/(n+1)`. */
  readonly startForgetWeight?: number;
  readonly intervalMs?: number;
  readonly bucketMs?: number;
  readonly buckets?: number;
  /** How far back the best recent page is looked for, ms. */
  readonly historyMs?: number;
}

export const DEFAULT_QUANTILE = 0.85;
const FORGET_FACTOR = 0.983;
const START_FORGET_WEIGHT = 2;
const INTERVAL_MS = 500;
const BUCKET_MS = 20;
const BUCKETS = 100;
const HISTORY_MS = 2_000;

export class JitterTarget {
  readonly #quantile: number;
  readonly #forget: number;
  readonly #startWeight: number;
  readonly #intervalMs: number;
  readonly #bucketMs: number;
  readonly #histogram: Float64Array;
  readonly #historyMs: number;
  /** (arrival, arrival − media) of recent pages, oldest first. */
  readonly #history: { at: number; offset: number }[] = [];
  #updates = 0;
  /** The 500 ms interval being collected: its start and its largest delay so far. */
  #intervalStart: number | null = null;
  #intervalMax = 0;
  #lastDelay = 0;

  constructor(options: JitterTargetOptions = {}) {
    this.#quantile = options.quantile ?? DEFAULT_QUANTILE;
    if (!(this.#quantile > 0 && this.#quantile < 1)) throw new RangeError(`quantile must be between 0 and 1, got ${this.#quantile}`);
    this.#forget = options.forgetFactor ?? FORGET_FACTOR;
    this.#startWeight = options.startForgetWeight ?? START_FORGET_WEIGHT;
    this.#intervalMs = options.intervalMs ?? INTERVAL_MS;
    this.#bucketMs = options.bucketMs ?? BUCKET_MS;
    this.#histogram = new Float64Array(options.buckets ?? BUCKETS);
    this.#historyMs = options.historyMs ?? HISTORY_MS;
  }

  /** An audio page whose audio ends at `mediaMs` (its stream's media clock) arrived at `nowMs`. */
  arrival(nowMs: number, mediaMs: number): void {
    const offset = nowMs - mediaMs;
    const history = this.#history;
    while (history.length > 0 && nowMs - (history[0]?.at ?? nowMs) > this.#historyMs) history.shift();
    history.push({ at: nowMs, offset });
    let best = offset;
    for (const entry of history) best = Math.min(best, entry.offset);
    const delay = offset - best;
    this.#lastDelay = delay;
    if (this.#intervalStart === null) {
      this.#intervalStart = nowMs;
      this.#intervalMax = delay;
      return;
    }
    if (nowMs - this.#intervalStart >= this.#intervalMs) {
      this.#add(this.#intervalMax);
      // Intervals with no arrival at all (the link stalled through them) add nothing: the delay
      // they hide is the next arrival's.
      this.#intervalStart = nowMs - ((nowMs - this.#intervalStart) % this.#intervalMs);
      this.#intervalMax = delay;
    } else this.#intervalMax = Math.max(this.#intervalMax, delay);
  }

  /**
   * A new logical stream: its media clock starts anew, so the arrival history is no use. The
   * histogram (what this link does) is kept.
   */
  restart(): void {
    this.#history.length = 0;
  }

  /** The arrival delay of the last page, ms. */
  get lastDelayMs(): number {
    return this.#lastDelay;
  }

  /** Histogram updates so far (500 ms intervals seen). */
  get updates(): number {
    return this.#updates;
  }

  /** The target delay, ms: one bucket until the first interval is in. */
  get targetMs(): number {
    if (this.#updates === 0) return this.#bucketMs;
    const tail = 1 - this.#quantile;
    let above = 0;
    // The smallest bucket whose upper tail (the buckets above it) holds at most 1 − quantile.
    for (let bucket = this.#histogram.length - 1; bucket >= 0; bucket--) {
      above += this.#histogram[bucket] ?? 0;
      if (above > tail + 1e-12) return (bucket + 1) * this.#bucketMs;
    }
    return this.#bucketMs;
  }

  #add(delayMs: number): void {
    this.#updates += 1;
    const forget = Math.min(this.#forget, Math.max(0, 1 - this.#startWeight / (this.#updates + 1)));
    const bucket = Math.min(this.#histogram.length - 1, Math.max(0, Math.floor(delayMs / this.#bucketMs)));
    for (let i = 0; i < this.#histogram.length; i++) this.#histogram[i] = (this.#histogram[i] ?? 0) * forget;
    this.#histogram[bucket] = (this.#histogram[bucket] ?? 0) + (1 - forget);
  }
}
