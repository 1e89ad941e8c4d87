/**
 * Goertzel tone detection for tests: the power of one frequency in a block of samples, and which of
 * a few candidate frequencies dominates. Pure; samples are numbers in [-1, 1].
 */

/** Power of `frequency` in `samples`, normalised so a full-scale sine at that frequency gives ≈ 1 (amplitude²). */
export function goertzelPower(samples: ArrayLike<number>, sampleRate: number, frequency: number): number {
  const n = samples.length;
  if (n === 0) return 0;
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let previous = 0;
  let beforePrevious = 0;
  for (let i = 0; i < n; i++) {
    const current = (samples[i] ?? 0) + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return (4 * power) / (n * n);
}

/** The candidate with the most power, and every candidate's power. */
export function dominantFrequency(
  samples: ArrayLike<number>,
  sampleRate: number,
  candidates: readonly number[],
): { frequency: number; powers: Map<number, number> } {
  const powers = new Map<number, number>();
  let best = Number.NaN;
  let bestPower = -1;
  for (const frequency of candidates) {
    const power = goertzelPower(samples, sampleRate, frequency);
    powers.set(frequency, power);
    if (power > bestPower) {
      bestPower = power;
      best = frequency;
    }
  }
  return { frequency: best, powers };
}

/** Little-endian signed 16-bit PCM (one channel, or channel `channel` of `channels`) as numbers in [-1, 1). */
export function s16leToFloat(pcm: Uint8Array, channels = 1, channel = 0): Float64Array {
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const frames = Math.floor(pcm.byteLength / (2 * channels));
  const out = new Float64Array(frames);
  for (let i = 0; i < frames; i++) out[i] = view.getInt16((i * channels + channel) * 2, true) / 32768;
  return out;
}

/** A sine of `frequency` Hz, `seconds` long, amplitude `amplitude`. */
export function sine(frequency: number, sampleRate: number, seconds: number, amplitude = 0.5): Float64Array {
  const out = new Float64Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate);
  return out;
}
