/**
 * The test signal and its detector.
 *
 * The generator writes 48 kHz mono s16le PCM in real time: one 10 ms block (480 samples) each time the
 * clock reaches the block's start, so the pipeline receives audio the way a capture device hands it
 * over. The background is faint white noise (about −66 dBFS); a click is a 6 ms, 2 kHz tone burst at
 * half of full scale that starts exactly at the start of a block. A click's "sent" time is the moment
 * the block that carries it was handed to the pipeline (`performance.now()` just before the write).
 *
 * The detector reads the decoded PCM, finds each click's onset (the first sample above a threshold
 * after a quiet gap) and records when the bytes holding that sample arrived. It also keeps a model of
 * a real-time player: playback starts with the first decoded sample and goes on at 48,000 samples per
 * second; a sample that has not arrived when its turn comes stalls the player until it does, and
 * everything after it plays that much later. "As heard" is the time the onset sample plays in that model.
 */
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';

export const SAMPLE_RATE = 48_000;
export const BLOCK_MS = 10;
export const BLOCK_SAMPLES = (SAMPLE_RATE * BLOCK_MS) / 1000;
const BYTES_PER_SAMPLE = 2;

const CLICK_MS = 6;
const CLICK_HZ = 2_000;
const CLICK_AMPLITUDE = 0.5 * 32_767;
const NOISE_AMPLITUDE = 16;
/** Onset threshold: about −20 dBFS, 8× below the click and 200× above the noise. */
export const DEFAULT_THRESHOLD = 3_277;
/**
 * After an onset, the detector ignores this much audio (the rest of the click and its codec ringing,
 * well under 50 ms). 120 ms, not more: listen's playout shortens pauses up to 2×, so clicks 400 ms
 * apart (bench/network) can come out 200 ms apart.
 */
const REFRACTORY_SAMPLES = (SAMPLE_RATE * 120) / 1000;

/** A small deterministic PRNG (mulberry32), so each run's click times can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ClickPlanOptions {
  /** Time of the first click, ms after the generator starts. */
  readonly firstMs: number;
  readonly count: number;
  readonly minGapMs: number;
  readonly maxGapMs: number;
  readonly seed: number;
}

/**
 * Click onsets as sample positions, each on a block boundary. Gaps are random in [minGap, maxGap]
 * (10 ms steps), which also gives the click train a pattern the matcher can lock onto.
 */
export function planClicks(options: ClickPlanOptions): number[] {
  const random = prng(options.seed);
  const onsets: number[] = [];
  let ms = Math.round(options.firstMs / BLOCK_MS) * BLOCK_MS;
  for (let i = 0; i < options.count; i++) {
    onsets.push(ms * (SAMPLE_RATE / 1000));
    const steps = Math.round((options.maxGapMs - options.minGapMs) / BLOCK_MS);
    ms += options.minGapMs + Math.floor(random() * (steps + 1)) * BLOCK_MS;
  }
  return onsets;
}

export interface SentClick {
  /** Sample position of the onset in the generated stream. */
  readonly pos: number;
  /** performance.now() when the block carrying the onset was written. */
  readonly at: number;
}

function clickWaveform(): Int16Array {
  const length = (SAMPLE_RATE * CLICK_MS) / 1000;
  const wave = new Int16Array(length);
  for (let i = 0; i < length; i++) wave[i] = Math.round(CLICK_AMPLITUDE * Math.sin((2 * Math.PI * CLICK_HZ * i) / SAMPLE_RATE + Math.PI / 2));
  return wave;
}

/** Writes the test signal in real time into `sink` until stopped. */
export class RealtimeGenerator {
  readonly sent: SentClick[] = [];
  /** The first write error (EPIPE when the pipeline died), if any. */
  writeError: Error | null = null;
  #startedAt = 0;
  #block = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  readonly #sink: Writable;
  readonly #onsets: ReadonlySet<number>;
  readonly #noise: () => number;
  readonly #click = clickWaveform();
  readonly #prefix: Buffer | undefined;

  constructor(sink: Writable, onsets: readonly number[], seed: number, prefix?: Buffer) {
    this.#sink = sink;
    this.#onsets = new Set(onsets);
    this.#noise = prng(seed ^ 0x5eed);
    this.#prefix = prefix;
    sink.on('error', this.#onError);
  }

  readonly #onError = (error: Error): void => {
    this.writeError ??= error;
  };

  #prefixWritten = false;

  /** Writes the prefix (a WAV header) now, ahead of the audio: a talker that reads it first can dial before anyone speaks. */
  writePrefix(): void {
    if (this.#prefix !== undefined && !this.#prefixWritten) this.#sink.write(this.#prefix);
    this.#prefixWritten = true;
  }

  /** Starts writing now; returns the start time (performance.now()). */
  start(): number {
    this.#running = true;
    this.#startedAt = performance.now();
    this.writePrefix();
    this.#tick();
    return this.#startedAt;
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  /** Samples written so far. */
  get position(): number {
    return this.#block * BLOCK_SAMPLES;
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#sink.off('error', this.#onError);
  }

  #tick(): void {
    if (!this.#running) return;
    const due = Math.floor((performance.now() - this.#startedAt) / BLOCK_MS);
    while (this.#block <= due) {
      const block = this.#render(this.#block * BLOCK_SAMPLES);
      if (this.#sink.destroyed || this.writeError !== null) break;
      const pos = this.#block * BLOCK_SAMPLES;
      if (this.#onsets.has(pos)) this.sent.push({ pos, at: performance.now() });
      this.#sink.write(block);
      this.#block++;
    }
    const next = this.#startedAt + this.#block * BLOCK_MS;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, next - performance.now()));
  }

  #render(pos: number): Buffer {
    const block = Buffer.alloc(BLOCK_SAMPLES * BYTES_PER_SAMPLE);
    for (let i = 0; i < BLOCK_SAMPLES; i++) {
      block.writeInt16LE(Math.round((this.#noise() * 2 - 1) * NOISE_AMPLITUDE), i * BYTES_PER_SAMPLE);
    }
    if (this.#onsets.has(pos)) {
      for (let i = 0; i < this.#click.length && i < BLOCK_SAMPLES; i++) {
        block.writeInt16LE(this.#click[i] ?? 0, i * BYTES_PER_SAMPLE);
      }
    }
    return block;
  }
}

export interface Detection {
  /** Sample position of the onset in the decoded stream (counted from its first sample). */
  readonly pos: number;
  /** performance.now() when the bytes holding the onset sample were read. */
  readonly at: number;
  /** When a real-time player that started at the first decoded sample plays the onset sample. */
  readonly heardAt: number;
}

/** Finds clicks in s16le mono PCM and models a real-time player. Feed it every chunk as it is read. */
export class ClickDetector {
  readonly detections: Detection[] = [];
  /** performance.now() of the first decoded sample, or null before it. */
  firstSampleAt: number | null = null;
  /** Samples read so far. */
  samples = 0;
  /** Where the modelled player ran dry and waited (silence heard): when it resumed, and for how long (ms). */
  readonly underruns: { readonly at: number; readonly ms: number }[] = [];
  /** The play cursor (ms, performance.now() scale) of the modelled player: when the next sample plays. */
  #playCursor = 0;
  #carry: Buffer | null = null;
  #quietUntil = 0;
  readonly #threshold: number;

  constructor(threshold = DEFAULT_THRESHOLD) {
    this.#threshold = threshold;
  }

  feed(data: Buffer, at: number): void {
    let bytes = data;
    if (this.#carry !== null) {
      bytes = Buffer.concat([this.#carry, data]);
      this.#carry = null;
    }
    const whole = bytes.length - (bytes.length % BYTES_PER_SAMPLE);
    if (whole < bytes.length) this.#carry = Buffer.from(bytes.subarray(whole));
    const count = whole / BYTES_PER_SAMPLE;
    if (count === 0) return;
    if (this.firstSampleAt === null) {
      this.firstSampleAt = at;
      this.#playCursor = at;
    }
    // The player reaches this chunk at playCursor, or stalls until it arrives.
    const playStart = Math.max(this.#playCursor, at);
    // Waits below a block (10 ms) are the reads' own granularity, not a gap anyone hears.
    if (at - this.#playCursor >= BLOCK_MS) this.underruns.push({ at, ms: at - this.#playCursor });
    const base = this.samples;
    for (let i = 0; i < count; i++) {
      const pos = base + i;
      if (pos < this.#quietUntil) continue;
      const value = bytes.readInt16LE(i * BYTES_PER_SAMPLE);
      if (value > this.#threshold || value < -this.#threshold) {
        this.detections.push({ pos, at, heardAt: playStart + (i * 1000) / SAMPLE_RATE });
        this.#quietUntil = pos + REFRACTORY_SAMPLES;
      }
    }
    this.samples += count;
    this.#playCursor = playStart + (count * 1000) / SAMPLE_RATE;
  }
}

/** A streaming WAV header, s16le mono 48 kHz, with the RIFF and data sizes unknown (0xFFFFFFFF). */
export function streamingWavHeader(): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(0xffffffff, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * BYTES_PER_SAMPLE, 28);
  header.writeUInt16LE(BYTES_PER_SAMPLE, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(0xffffffff, 40);
  return header;
}

/**
 * Strips a streaming WAV header: walks the RIFF chunks to `data` (sizes may be 0xFFFFFFFF), checks
 * that `fmt ` says PCM s16 mono 48 kHz and then passes the sample bytes on. Throws on anything else.
 */
export class WavStripper {
  #buffer: Buffer = Buffer.alloc(0);
  #inData = false;
  /** Byte offset of the first sample, once found. */
  dataOffset: number | null = null;

  /** Returns the sample bytes in `chunk` (empty while still in the header). */
  feed(chunk: Buffer): Buffer {
    if (this.#inData) return chunk;
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const bytes = this.#buffer;
    if (bytes.length < 12) return Buffer.alloc(0);
    const magic = bytes.toString('latin1', 0, 4);
    if (magic !== 'RIFF' && magic !== 'RF64') throw new Error(`listener output is not WAV (starts with ${JSON.stringify(magic)})`);
    if (bytes.toString('latin1', 8, 12) !== 'WAVE') throw new Error('listener output is RIFF but not WAVE');
    let offset = 12;
    let sawFormat = false;
    for (;;) {
      if (bytes.length < offset + 8) return Buffer.alloc(0);
      const id = bytes.toString('latin1', offset, offset + 4);
      const size = bytes.readUInt32LE(offset + 4);
      if (id === 'data') {
        if (!sawFormat) throw new Error('WAV data chunk before fmt chunk');
        this.#inData = true;
        this.dataOffset = offset + 8;
        const rest = Buffer.from(bytes.subarray(offset + 8));
        this.#buffer = Buffer.alloc(0);
        return rest;
      }
      if (size === 0xffffffff) throw new Error(`WAV chunk ${JSON.stringify(id)} has an unknown size`);
      const padded = size + (size % 2);
      if (bytes.length < offset + 8 + padded) {
        if (padded > 1 << 20) throw new Error(`WAV chunk ${JSON.stringify(id)} is too large (${size} bytes)`);
        return Buffer.alloc(0);
      }
      if (id === 'fmt ') {
        checkFormat(bytes.subarray(offset + 8, offset + 8 + size));
        sawFormat = true;
      }
      offset += 8 + padded;
    }
  }
}

function checkFormat(fmt: Buffer): void {
  if (fmt.length < 16) throw new Error('WAV fmt chunk is too short');
  let tag = fmt.readUInt16LE(0);
  // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
  if (tag === 0xfffe && fmt.length >= 26) tag = fmt.readUInt16LE(24);
  const channels = fmt.readUInt16LE(2);
  const rate = fmt.readUInt32LE(4);
  const bits = fmt.readUInt16LE(14);
  if (tag !== 1 || channels !== 1 || rate !== SAMPLE_RATE || bits !== 16) {
    throw new Error(`listener WAV is format ${tag}, ${channels} ch, ${rate} Hz, ${bits} bit; expected PCM s16 mono 48 kHz`);
  }
}
