/**
 * The pure decisions of adaptive playout (see listener.ts for where they run):
 *
 * - `PlayoutQueue` models the real-time player behind the listener: audio handed to it plays from
 *   when it is handed over (or when what came before ends, if later), at one second per second; when
 *   nothing is there, it waits (a gap). What is handed over and not yet played is the **queue**: the
 *   audio in hand, i.e. the delay above the live edge that can still be won back by playing faster.
 * - `TempoControl` picks the playback speed from the queue and the target: normal speed at or below
 *   the target, faster above it, in proportion to the excess up to `maxTempo`. It starts speeding up
 *   only `startAboveMs` over the target and stops at the target, so a queue that hovers just above
 *   the target does not flip the speed on every page.
 *
 * Times are ms on any monotonic clock, passed in.
 */

/** A real-time player's queue, from what was handed to it and when. */
export class PlayoutQueue {
  /** When everything handed over so far will have played; null before the first audio. */
  #cursor: number | null = null;
  #gapMs = 0;

  /** `durationMs` of audio handed to the player at `nowMs`. */
  handed(durationMs: number, nowMs: number): void {
    if (this.#cursor !== null && nowMs > this.#cursor) this.#gapMs += nowMs - this.#cursor;
    this.#cursor = Math.max(this.#cursor ?? nowMs, nowMs) + durationMs;
  }

  /** Audio handed over and not yet played at `nowMs`, ms. */
  queuedMs(nowMs: number): number {
    return this.#cursor === null ? 0 : Math.max(0, this.#cursor - nowMs);
  }

  /** Time the player spent waiting for audio so far (gaps heard), ms. */
  get gapMs(): number {
    return this.#gapMs;
  }
}

export interface TempoOptions {
  /** The fastest playback, as a speed factor (1.25: 25 % faster, ~ the most speech takes unnoticed). */
  readonly maxTempo?: number;
  /** Speed up once the queue is this far over the target, ms. */
  readonly startAboveMs?: number;
  /** Excess over the target (ms) at which the speed reaches `maxTempo`. */
  readonly fullAtMs?: number;
}

export const DEFAULT_MAX_TEMPO = 1.25;
const START_ABOVE_MS = 40;
const FULL_AT_MS = 100;
/** The least speed-up worth doing: below it a catch-up would take longer than the next hiccup. */
const MIN_SPEEDUP = 0.05;

export class TempoControl {
  readonly #maxTempo: number;
  readonly #startAboveMs: number;
  readonly #fullAtMs: number;
  #fast = false;

  constructor(options: TempoOptions = {}) {
    this.#maxTempo = options.maxTempo ?? DEFAULT_MAX_TEMPO;
    if (!(this.#maxTempo >= 1 && this.#maxTempo <= 2)) throw new RangeError(`maxTempo must be from 1 to 2, got ${this.#maxTempo}`);
    this.#startAboveMs = options.startAboveMs ?? START_ABOVE_MS;
    this.#fullAtMs = options.fullAtMs ?? FULL_AT_MS;
  }

  /** The speed for the next audio, given the queue and the target (ms). */
  tempo(queuedMs: number, targetMs: number): number {
    const excess = queuedMs - targetMs;
    if (this.#fast ? excess <= 0 : excess <= this.#startAboveMs) {
      this.#fast = false;
      return 1;
    }
    this.#fast = true;
    const room = this.#maxTempo - 1;
    return 1 + Math.min(room, Math.max(Math.min(MIN_SPEEDUP, room), (excess / this.#fullAtMs) * room));
  }
}
