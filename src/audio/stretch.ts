/**
 * The playout stage between listen's decoder and its player: 32-bit float mono PCM at 48 kHz in,
 * 64-bit float out (see playFloatWavArgs for why), played faster (WSOLA, wsola.ts) while the audio in hand is above the target. It keeps
 * the model of the real-time player it feeds (PlayoutQueue), which is where "audio in hand" is known:
 * the live-edge keeper asks it before dropping anything, and the target is asked of `targetMs`.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { PlayoutQueue, TempoControl, type TempoOptions } from './playout.js';
import { Wsola } from './wsola.js';

const BYTES = 4;
const SAMPLES_PER_MS = 48;

export interface StretchOptions extends TempoOptions {
  /** The playout target now, ms. null: never faster (everything plays as it comes). */
  readonly targetMs: (() => number) | null;
  /** The clock, ms (default performance.now); injectable for tests. */
  readonly now?: () => number;
  /**
   * Put out first, with the first audio (the player's WAV header): a player given its header before
   * any audio would start its own output at once (a WAV on stdout before the call has even begun).
   */
  readonly header?: Buffer;
  /**
   * The player reads packets of this many frames and waits for each to be full: when the output
   * stops short of a whole packet (a stream's start: Opus pre-skip leaves 168 of 480 samples; the
   * end of a catch-up) and nothing follows within REALIGN_MS, that packet is completed with silence
   * (a few ms, once), instead of its audio waiting for the next page and the call keeping that as delay.
   */
  readonly alignFrames?: number;
}

/** How long an unfinished packet may wait for more audio before it is completed with silence, ms. */
const REALIGN_MS = 4;

export class PlayoutStretch extends Transform {
  readonly queue = new PlayoutQueue();
  readonly #wsola = new Wsola();
  readonly #control: TempoControl;
  readonly #targetMs: (() => number) | null;
  readonly #now: () => number;
  #carry: Buffer = Buffer.alloc(0);
  #header: Buffer | null;
  readonly #alignFrames: number;
  /** Frames put out so far, silence included. */
  #frames = 0;
  #realign: NodeJS.Timeout | null = null;
  /** Silence put in to complete packets, ms. */
  paddedMs = 0;
  /** The speed chosen for the last chunk. */
  tempo = 1;
  /** Input audio played so far, and output audio put out, ms. */
  inMs = 0;
  outMs = 0;

  constructor(options: StretchOptions) {
    super();
    this.#control = new TempoControl(options);
    this.#targetMs = options.targetMs;
    this.#now = options.now ?? (() => performance.now());
    this.#header = options.header ?? null;
    this.#alignFrames = options.alignFrames ?? 1;
  }

  /** Audio in hand at `now`: handed to the player and not yet played, plus what the stretcher holds, ms. */
  inHandMs(now = this.#now()): number {
    return this.queue.queuedMs(now) + this.#wsola.held / SAMPLES_PER_MS;
  }

  /** Input audio skipped by playing faster, ms. */
  get skippedMs(): number {
    return this.#wsola.skipped / SAMPLES_PER_MS;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#realign !== null) clearTimeout(this.#realign);
    this.#realign = null;
    const data = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const whole = data.length - (data.length % BYTES);
    this.#carry = whole === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(whole));
    if (whole === 0) return callback();
    // Copy into an aligned array: a Buffer's offset in its pool need not be a multiple of 4.
    const samples = new Float32Array(whole / BYTES);
    Buffer.from(samples.buffer).set(data.subarray(0, whole));
    const now = this.#now();
    const target = this.#targetMs;
    this.tempo = target === null ? 1 : this.#control.tempo(this.inHandMs(now), target());
    const out = this.#wsola.push(samples, this.tempo);
    this.inMs += samples.length / SAMPLES_PER_MS;
    this.outMs += out.length / SAMPLES_PER_MS;
    if (out.length > 0) this.queue.handed(out.length / SAMPLES_PER_MS, now);
    this.#frames += out.length;
    callback(null, this.#withHeader(this.#wide(out)));
    if (this.#frames % this.#alignFrames !== 0) this.#realign = setTimeout(() => this.#complete(), REALIGN_MS);
  }

  /** Completes the unfinished packet with silence (nothing came for REALIGN_MS). */
  #complete(): void {
    this.#realign = null;
    const missing = (this.#alignFrames - (this.#frames % this.#alignFrames)) % this.#alignFrames;
    if (missing === 0 || this.destroyed || this.writableEnded) return;
    this.#frames += missing;
    this.paddedMs += missing / SAMPLES_PER_MS;
    this.queue.handed(missing / SAMPLES_PER_MS, this.#now());
    this.push(this.#wide(new Float32Array(missing)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#realign !== null) clearTimeout(this.#realign);
    this.#realign = null;
    callback(error);
  }

  /** The samples as 64-bit float. */
  #wide(samples: Float32Array): Buffer {
    const wide = Float64Array.from(samples);
    return Buffer.from(wide.buffer, wide.byteOffset, wide.byteLength);
  }

  #withHeader(bytes: Buffer): Buffer {
    if (this.#header === null || bytes.length === 0) return bytes;
    const header = this.#header;
    this.#header = null;
    return Buffer.concat([header, bytes]);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#realign !== null) clearTimeout(this.#realign);
    this.#realign = null;
    // Whatever is held plays at normal speed.
    const out = this.#wsola.push(new Float32Array(0), 1);
    callback(null, out.length === 0 ? null : this.#withHeader(this.#wide(out)));
  }
}

