/**
 * Measures a call's delay from the two ends of the same ffmpeg pair: when the talker's encoder had
 * taken in sample N (its meter tap) and when the listener's decoder put out sample N (its tap).
 * Opus keeps the sample count (pre-skip is removed on decoding), so sample N is the same instant of
 * the same audio at both ends: the difference is encoder + Ogg + pipe + decoder, everything but the
 * device buffers. Audio dropped in between (a catch-up) shifts the numbering; measuredDelay takes it in.
 */
export class SampleClock {
  readonly #rate: number;
  /** (total samples so far, when they arrived) checkpoints, oldest first, about the last 10 s. */
  readonly #points: { samples: number; at: number }[] = [];
  #total = 0;

  constructor(sampleRate: number) {
    this.#rate = sampleRate;
  }

  get samples(): number {
    return this.#total;
  }

  /** `count` more samples arrived at `at` (ms). */
  add(count: number, at: number): void {
    this.#total += count;
    this.#points.push({ samples: this.#total, at });
    while (this.#points.length > 2 && at - (this.#points[0]?.at ?? at) > 10_000) this.#points.shift();
  }

  /** When sample `sample` had arrived (ms): the arrival of the chunk that held it; null if outside the checkpoints. */
  timeOf(sample: number): number | null {
    const points = this.#points;
    for (let i = 1; i < points.length; i++) {
      const before = points[i - 1];
      const after = points[i];
      if (before === undefined || after === undefined) continue;
      if (sample > before.samples && sample <= after.samples) {
        // Samples of one chunk arrive together: the chunk's arrival time is when its last sample was there.
        return after.at;
      }
    }
    return null;
  }

  /** Seconds of audio so far. */
  get seconds(): number {
    return this.#total / this.#rate;
  }
}

/**
 * The delay (ms) of the newest sample the decoder put out, or null when it cannot be matched.
 * `skippedSamples`: audio the listener's catch-up dropped before the decoder (at the clocks' rate):
 * the decoder's sample N is then the encoder's sample N + skipped, not N, and counting it as N would
 * add every dropped page to the delay for the rest of the call.
 */
export function measuredDelay(captured: SampleClock, decoded: SampleClock, skippedSamples = 0): number | null {
  const sample = decoded.samples;
  if (sample === 0) return null;
  const capturedAt = captured.timeOf(sample + skippedSamples);
  const decodedAt = decoded.timeOf(sample);
  if (capturedAt === null || decodedAt === null) return null;
  return decodedAt - capturedAt;
}
