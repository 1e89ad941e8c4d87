/** Level metering of s16le PCM (e.g. the talk meter tap): pure, in dBFS (0 = full scale sine peak). */

/** Silence floor reported instead of -Infinity. */
export const SILENCE_DBFS = -96;

export interface Level {
  /** RMS level in dBFS (a full-scale square wave is 0, a full-scale sine about -3). */
  readonly rmsDbfs: number;
  /** Highest absolute sample in dBFS. */
  readonly peakDbfs: number;
  readonly samples: number;
}

function toDb(value: number): number {
  return value <= 0 ? SILENCE_DBFS : Math.max(SILENCE_DBFS, 20 * Math.log10(value));
}

/** RMS and peak of little-endian s16 samples (a trailing odd byte is ignored). */
export function pcmLevel(pcm: Uint8Array): Level {
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const samples = Math.floor(pcm.byteLength / 2);
  let sumSquares = 0;
  let peak = 0;
  for (let i = 0; i < samples; i++) {
    const value = view.getInt16(i * 2, true) / 32768;
    sumSquares += value * value;
    const magnitude = Math.abs(value);
    if (magnitude > peak) peak = magnitude;
  }
  if (samples === 0) return { rmsDbfs: SILENCE_DBFS, peakDbfs: SILENCE_DBFS, samples: 0 };
  return { rmsDbfs: toDb(Math.sqrt(sumSquares / samples)), peakDbfs: toDb(peak), samples };
}

/**
 * Cuts a stream of s16le chunks (any sizes, odd ones too) into windows of `windowSamples` and
 * reports each window's level.
 */
export class LevelMeter {
  readonly #windowBytes: number;
  #pending: Buffer = Buffer.alloc(0);

  constructor(windowSamples: number) {
    if (!Number.isInteger(windowSamples) || windowSamples <= 0) throw new RangeError(`window must be a positive whole number of samples, got ${windowSamples}`);
    this.#windowBytes = windowSamples * 2;
  }

  /** Adds a chunk; returns the levels of the windows it completed (often none or one). */
  push(chunk: Uint8Array): Level[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const levels: Level[] = [];
    let offset = 0;
    while (this.#pending.length - offset >= this.#windowBytes) {
      levels.push(pcmLevel(this.#pending.subarray(offset, offset + this.#windowBytes)));
      offset += this.#windowBytes;
    }
    this.#pending = this.#pending.subarray(offset);
    return levels;
  }
}
