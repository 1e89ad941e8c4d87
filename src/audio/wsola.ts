/**
 * Streaming time-compression of mono audio without a change of pitch (WSOLA: waveform-similarity
 * overlap-add), for playing a backlog faster. Pure: samples in, samples out, no clock.
 *
 * The output follows an input position `p`. At normal speed it is the input itself, sample for
 * sample, with nothing held back (a clean call gets no delay from this stage). Faster, the output is
 * made in hops of 10 ms: each hop cross-fades from the input at `p` (fading out) to the input a
 * little further on at `s` (fading in), and `p` moves to the end of what faded in. The `s − p` samples
 * in between are never heard: that is the time won. `s` is searched among the positions 2.5–15 ms on
 * (a pitch period, as NetEQ's accelerate removes) for the one whose waveform best matches what is
 * being faded out (normalised cross-correlation, on every 4th sample and lag, then refined), so the
 * seam falls between two similar periods and the pitch is untouched.
 *
 * How much to skip accrues as a debt of `(tempo − 1) × hop` per hop; once it reaches 2.5 ms a skip is
 * made (whatever length matches best, up to 15 ms: the debt may go below zero and the next hops then
 * skip nothing), so the long-run speed is the tempo asked for. A hop whose next 25 ms holds an onset
 * (a peak well above the hop just played: a plosive, a click) skips nothing, so that the start of a
 * sound is never cut out; its debt is paid in the hops after it.
 *
 * Pauses (audio 30 dB under the recent loud level) are shortened at 2× whatever the tempo: a shorter
 * pause is not heard as faster speech, so most of a catch-up happens there.
 *
 * Held back while faster: up to 25 ms (the farthest candidate plus a hop), which is audio already in
 * the queue being caught up on. Back at normal speed, what is held comes out at once.
 */

const RATE = 48_000;
/** One output hop (and cross-fade), samples: 10 ms. */
export const HOP = RATE / 100;
/** Skips are between one short and one long pitch period: 2.5–15 ms. */
const MIN_SKIP = RATE / 400;
const MAX_SKIP = (RATE * 15) / 1000;
/** The coarse search looks at every DECIMATE-th lag and sample. */
const DECIMATE = 4;
/** An onset: a peak ahead this many times the last hop's peak (and above the noise floor). */
const ONSET_RATIO = 3;
const ONSET_FLOOR = 0.02;
/**
 * A pause: the next 25 ms peak 30 dB below the recent loud level (and below −30 dBFS). Pauses are
 * shortened at QUIET_TEMPO whatever the tempo asked: a shorter pause is not heard as faster speech,
 * which is how NetEQ, too, accelerates low-energy audio first.
 */
const QUIET_RATIO = 1 / 32;
const QUIET_CEILING = 0.03;
const QUIET_TEMPO = 2;
/** The loud level decays by this per hop: it halves in about a second. */
const LOUD_DECAY = 0.993;

/** Rising half of a periodic Hann window over one hop: rise[i] + (1 − rise[i]) = 1. */
const RISE: Float32Array = (() => {
  const rise = new Float32Array(HOP);
  for (let i = 0; i < HOP; i++) rise[i] = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / HOP);
  return rise;
})();

export class Wsola {
  /** Input not yet consumed; `#buffer[0]` is input position `#p`. */
  #buffer: Float32Array = new Float32Array(0);
  /** Skip owed, samples. */
  #debt = 0;
  /** Peak of the last hop put out (onset guard). */
  #lastPeak = 0;
  /** Recent loud level: the largest hop peak, decaying (pause detection). */
  #loud = 0;
  /** Input samples skipped so far. */
  skipped = 0;

  /** Samples held back (input taken, not yet put out). */
  get held(): number {
    return this.#buffer.length;
  }

  /**
   * Feeds `input` and returns what can be played now at `tempo` (≥ 1; 1 is normal speed).
   */
  push(input: Float32Array, tempo: number): Float32Array {
    const data = this.#buffer.length === 0 ? input : concat(this.#buffer, input);
    if (tempo <= 1) {
      // Normal speed: everything, straight through (what was held too), and the debt is forgiven.
      this.#debt = 0;
      this.#buffer = new Float32Array(0);
      this.#lastPeak = peak(data, Math.max(0, data.length - HOP), data.length);
      this.#loud = Math.max(this.#loud * LOUD_DECAY ** Math.ceil(data.length / HOP), peak(data, 0, data.length));
      return data;
    }
    const out: Float32Array[] = [];
    let p = 0;
    // A hop needs the farthest candidate's cross-fade in hand.
    while (data.length - p >= MAX_SKIP + HOP) {
      const ahead = peak(data, p, p + MAX_SKIP + HOP);
      const quiet = ahead < QUIET_CEILING && ahead < this.#loud * QUIET_RATIO;
      this.#debt += (Math.max(tempo, quiet ? QUIET_TEMPO : 1) - 1) * HOP;
      let skip = 0;
      if (this.#debt >= MIN_SKIP && !this.#onsetAhead(ahead)) {
        // In a pause any seam is inaudible: skip what is owed, up to a hop (2× at most); in sound, the
      // best-matching period.
        skip = quiet ? Math.min(HOP, Math.round(this.#debt)) : bestSkip(data, p);
      }
      const hop = new Float32Array(HOP);
      const s = p + skip;
      for (let i = 0; i < HOP; i++) {
        const rise = RISE[i] ?? 0;
        hop[i] = (1 - rise) * (data[p + i] ?? 0) + rise * (data[s + i] ?? 0);
      }
      this.#debt -= skip;
      this.skipped += skip;
      this.#lastPeak = peak(hop, 0, HOP);
      this.#loud = Math.max(this.#loud * LOUD_DECAY, this.#lastPeak);
      out.push(hop);
      p = s + HOP;
    }
    this.#buffer = data.slice(p);
    return out.length === 1 ? (out[0] ?? new Float32Array(0)) : concatAll(out);
  }

  /** Whether the next 25 ms (peak `ahead`) start a sound: a peak well above the hop just played. */
  #onsetAhead(ahead: number): boolean {
    return ahead > ONSET_FLOOR && ahead > ONSET_RATIO * this.#lastPeak;
  }
}

/**
 * The skip in [MIN_SKIP, MAX_SKIP] whose next hop best continues the hop at p. The whole range is
 * searched whatever the debt (a skip shorter than the pitch period would tear the waveform); a skip
 * beyond the debt is repaid by the hops after it skipping nothing.
 */
function bestSkip(data: Float32Array, p: number): number {
  const maxSkip = MAX_SKIP;
  let best = MIN_SKIP;
  let bestScore = -Infinity;
  const score = (skip: number, step: number): number => {
    let cross = 0;
    let energy = 0;
    const s = p + skip;
    for (let i = 0; i < HOP; i += step) {
      const a = data[p + i] ?? 0;
      const b = data[s + i] ?? 0;
      cross += a * b;
      energy += b * b;
    }
    return energy > 0 ? cross / Math.sqrt(energy) : 0;
  };
  for (let skip = MIN_SKIP; skip <= maxSkip; skip += DECIMATE) {
    const value = score(skip, DECIMATE);
    if (value > bestScore) {
      bestScore = value;
      best = skip;
    }
  }
  const coarse = best;
  bestScore = -Infinity;
  for (let skip = Math.max(MIN_SKIP, coarse - DECIMATE + 1); skip <= Math.min(maxSkip, coarse + DECIMATE - 1); skip++) {
    const value = score(skip, 1);
    if (value > bestScore) {
      bestScore = value;
      best = skip;
    }
  }
  return best;
}

function peak(data: Float32Array, from: number, to: number): number {
  let max = 0;
  for (let i = Math.max(0, from); i < Math.min(data.length, to); i++) max = Math.max(max, Math.abs(data[i] ?? 0));
  return max;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
