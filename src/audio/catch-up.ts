/**
 * The live-edge keeper for `listen`: after a network stall the backlog arrives in a burst, and a
 * player that plays everything stays that far behind for the rest of the call. LiveEdge sits between
 * the Ogg page splitter and the decoder and drops whole audio pages of such a backlog, oldest first,
 * so what is heard comes back near real time.
 *
 * What it measures, in wall-clock ms on its own clock (`now`):
 * - Each Opus audio page has a media time: its granule position (48 kHz samples) minus the granule of
 *   the first audio page of its logical stream. The baseline is the earliest arrival relative to media
 *   time seen in that stream (the first page's arrival, lowered if a later page ever comes earlier).
 * - A model of a real-time player: it starts a page when the page is passed on (or when the previous
 *   one ends, if later) and plays it for the page's duration; when nothing is there, it waits. This is
 *   what ffmpeg → PulseAudio does, and what makes an underrun's delay stay for good.
 * - `behindMs`: how much later than at best the audio is heard (the model's start of the last page
 *   passed on, against the baseline, growing while the player waits for data).
 *
 * What it drops: only audio that is *in hand* — queued in the player model or arrived in the same batch
 * as newer pages (pages that arrive together, in one event-loop turn, are one batch: a burst after a
 * stall). A page that is late because the network got slower cannot be won back: dropping it would cut
 * audio and the next page would be just as late. So a catch-up starts when the audio in hand exceeds
 * `maxDelayMs` and drops the oldest pages until what is left is about `targetMs` (default a quarter of
 * the bound): catching up only to the bound would leave the whole bound as delay for the rest of the
 * call, and some margin keeps the next small hiccup from underrunning. Jitter smaller than the bound
 * never drops anything: the player model absorbs it as a jitter buffer.
 *
 * Headers (OpusHead, OpusTags) are never dropped, nor EOS pages, nor pages of a non-Opus stream; a
 * page continuing a packet follows the fate of the page before it, so the decoder never sees half a
 * packet. The dropped pages leave a gap in granules and page sequence numbers; ffmpeg's Ogg demuxer
 * and Opus decoder play on from the next page without inserting silence (tested in catch-up.test.ts).
 *
 * A new logical stream (a BOS page with a new serial: a reconnecting talker chains a fresh stream with
 * new headers) re-bases the media clock; the player model carries on.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { clearImmediate, setImmediate } from 'node:timers';
import type { JitterTarget } from './jitter-target.js';
import { isOpusHead, opusPacketSamples, pagePackets, type OggPage } from './ogg.js';

/** Opus granule positions count 48 kHz samples whatever the input rate. */
const GRANULE_RATE_PER_MS = 48;

/**
 * Default bound on the audio in hand, ms. With the adaptive playout in front of the player (listen's
 * decoder chain) this is the hard cap: below it a backlog is played faster, not dropped. 1 s keeps
 * every stall of the "3g" and "lossy" links (up to 800 ms) and drops a longer one (a tunnel)
 * back to the live edge; bench/network/README.md has the trade-off measured for 200 ms to 3 s.
 */
export const DEFAULT_MAX_DELAY_MS = 1_000;

export interface SkipEvent {
  /** Audio dropped in this catch-up, ms. */
  readonly skippedMs: number;
  /** Pages dropped in this catch-up. */
  readonly pages: number;
  /** Audio in hand when the catch-up began and at its end, ms. */
  readonly inHandBeforeMs: number;
  readonly inHandAfterMs: number;
  /** `behindMs` when the catch-up began and at its end. */
  readonly behindBeforeMs: number;
  readonly behindAfterMs: number;
}

export interface LiveEdgeOptions {
  /** The bound on the audio in hand, ms; null or 0: never drop (still measures). */
  readonly maxDelayMs: number | null;
  /** What a catch-up drains to, ms (a number, or asked anew at each catch-up); default a quarter of `maxDelayMs`. */
  readonly targetMs?: number | (() => number);
  /**
   * The audio in hand downstream, ms, when a playout stage behind the decoder knows it better than
   * this keeper's own model (which assumes normal speed): the stretcher that plays faster does.
   */
  readonly inHandMs?: () => number;
  /** Told of every audio page's arrival (the playout target follows them). */
  readonly jitter?: JitterTarget;
  /** The clock, ms (default `performance.now`); injectable for tests. */
  readonly now?: () => number;
  /** Called once per catch-up, when it is over: no drop for a second (or the end of the stream). */
  readonly onSkip?: (event: SkipEvent) => void;
}

/** One logical stream (one serial). */
interface StreamState {
  readonly serial: number;
  readonly opus: boolean;
  /** Packets completed on earlier pages: 0 = OpusHead, 1 = OpusTags, then audio. */
  completed: number;
  /** Granule of the first audio page; media time is measured from it. */
  firstGranule: bigint | null;
  lastGranule: bigint | null;
  /** Earliest (arrival − media time) seen, ms: the baseline. */
  baseline: number | null;
  /** Whether the previous page was dropped (a continued packet follows its page). */
  lastDropped: boolean;
}

type Kind = 'header' | 'audio' | 'other';

interface Entry {
  readonly page: OggPage;
  readonly kind: Kind;
  readonly stream: StreamState | null;
  /** Audio pages: media time of the end of the page (ms since the stream's first audio page) and its duration. */
  readonly endMs: number;
  readonly durationMs: number;
}

interface Episode {
  skippedMs: number;
  pages: number;
  readonly inHandBeforeMs: number;
  readonly behindBeforeMs: number;
  inHandAfterMs: number;
  /** When the last page of this catch-up was dropped. */
  lastDropAt: number;
}

/**
 * A backlog can come in several reads a few ms apart (and a slow link drains it over a while): drops
 * within this long of the previous one are reported as the same catch-up.
 */
const EPISODE_QUIET_MS = 1_000;

export class LiveEdge extends Transform {
  readonly #maxDelayMs: number | null;
  readonly #targetMs: number | (() => number);
  readonly #inHandMs: (() => number) | undefined;
  readonly #jitter: JitterTarget | undefined;
  /** With `inHandMs`: audio passed on in the batch being decided (not yet out of the decoder). */
  #batchPassedMs = 0;
  readonly #now: () => number;
  readonly #onSkip: ((event: SkipEvent) => void) | undefined;
  #stream: StreamState | null = null;
  #pending: OggPage[] = [];
  #scheduled: ReturnType<typeof setImmediate> | null = null;
  /** Player model: when the audio passed on so far will have finished playing (null: nothing yet). */
  #playCursor: number | null = null;
  /** When, at best, the last page passed on could have started (its arrival at the baseline: it is whole only then); its duration. */
  #lastIdeal: number | null = null;
  #lastDuration = 0;
  /** Dropping now: from audio in hand over the bound down to the target. */
  #catchingUp = false;
  /** The level the current catch-up drains to, fixed when it begins. */
  #drainTo: number | null = null;
  /** What the current catch-up has dropped so far, reported once it has been quiet for EPISODE_QUIET_MS. */
  #episode: Episode | null = null;
  /** Totals over the call. */
  skippedMs = 0;
  skippedPages = 0;
  catchUps = 0;

  constructor(options: LiveEdgeOptions) {
    // Pages in (object mode), page bytes out, for the decoder's stdin.
    super({ writableObjectMode: true, readableObjectMode: false, writableHighWaterMark: 16 });
    if (options.maxDelayMs !== null && !(options.maxDelayMs >= 0)) throw new RangeError(`maxDelayMs must be a number >= 0 or null, got ${String(options.maxDelayMs)}`);
    // 0 means off, as `--max-delay 0` does: a bound of nothing would drop every page it could.
    const bound = options.maxDelayMs === 0 ? null : options.maxDelayMs;
    this.#maxDelayMs = bound;
    this.#targetMs = options.targetMs ?? (bound ?? 0) / 4;
    if (typeof this.#targetMs === 'number' && bound !== null && (this.#targetMs < 0 || this.#targetMs > bound)) {
      throw new RangeError(`targetMs must be from 0 to maxDelayMs, got ${this.#targetMs}`);
    }
    this.#inHandMs = options.inHandMs;
    this.#jitter = options.jitter;
    this.#now = options.now ?? (() => performance.now());
    this.#onSkip = options.onSkip;
  }

  /** How much later than at best the audio is heard now, ms (0 before the first audio page). */
  get behindMs(): number {
    if (this.#playCursor === null || this.#lastIdeal === null) return 0;
    const now = this.#now();
    // When the last page passed on ends playing: the playout stage knows, if there is one.
    const ends = this.#inHandMs === undefined ? Math.max(this.#playCursor, now) : now + this.#inHandMs();
    return Math.max(0, ends - this.#lastDuration - this.#lastIdeal);
  }

  /** Audio queued in the player model, ms. */
  get queuedMs(): number {
    return this.#queuedAt(this.#now());
  }

  #queuedAt(now: number): number {
    if (this.#inHandMs !== undefined) return this.#inHandMs() + this.#batchPassedMs;
    return this.#playCursor === null ? 0 : Math.max(0, this.#playCursor - now);
  }

  override _transform(page: OggPage, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending.push(page);
    // Decide once everything that arrived in this event-loop turn is in: only then is it known which
    // pages have newer ones behind them.
    this.#scheduled ??= setImmediate(() => this.#drain());
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#drain();
    this.#endEpisode();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    this.#pending = [];
    callback(error);
  }

  #drain(): void {
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const now = this.#now();
    const entries = batch.map((page) => this.#classify(page, now));
    // Audio that arrived after each page in this same batch.
    const newerMs: number[] = new Array<number>(entries.length).fill(0);
    let sum = 0;
    for (let i = entries.length - 1; i >= 0; i--) {
      newerMs[i] = sum;
      const entry = entries[i];
      if (entry?.kind === 'audio') sum += entry.durationMs;
    }
    this.#batchPassedMs = 0;
    entries.forEach((entry, i) => this.#decide(entry, newerMs[i] ?? 0, now));
    this.#batchPassedMs = 0;
  }

  /** Reads a page into the stream state: which kind it is, its media time, and the baseline. */
  #classify(page: OggPage, now: number): Entry {
    const packets = pagePackets(page);
    if (page.bos) {
      const first = packets.pieces[0];
      this.#stream = { serial: page.serial, opus: first !== undefined && isOpusHead(first), completed: 0, firstGranule: null, lastGranule: null, baseline: null, lastDropped: false };
      this.#jitter?.restart();
    }
    const stream = this.#stream;
    // Pages of another stream than the current one (or before any BOS) are passed on as they are.
    if (stream === null || stream.serial !== page.serial || !stream.opus) return { page, kind: 'other', stream: null, endMs: 0, durationMs: 0 };
    const firstPacketIndex = stream.completed;
    stream.completed += packets.completed;
    if (firstPacketIndex < 2) return { page, kind: 'header', stream, endMs: 0, durationMs: 0 };
    if (page.granule < 0n) return { page, kind: 'audio', stream, endMs: this.#endOf(stream), durationMs: 0 };

    let durationMs: number;
    if (stream.lastGranule !== null && page.granule >= stream.lastGranule) durationMs = Number(page.granule - stream.lastGranule) / GRANULE_RATE_PER_MS;
    else {
      // The first audio page (its granule also counts the encoder's pre-skip), or a granule that went
      // backwards: the duration from the packets' TOC bytes, and the media clock starts again here.
      const whole = packets.firstContinued ? packets.pieces.slice(1) : packets.pieces;
      const complete = packets.lastComplete ? whole : whole.slice(0, -1);
      durationMs = complete.reduce((total, packet) => total + opusPacketSamples(packet), 0) / GRANULE_RATE_PER_MS;
      if (stream.lastGranule !== null) {
        stream.baseline = null;
        this.#lastIdeal = null;
        this.#jitter?.restart();
      }
      stream.firstGranule = page.granule;
    }
    stream.lastGranule = page.granule;
    const endMs = this.#endOf(stream);
    const offset = now - endMs;
    if (stream.baseline === null || offset < stream.baseline) stream.baseline = offset;
    this.#jitter?.arrival(now, endMs);
    return { page, kind: 'audio', stream, endMs, durationMs };
  }

  #endOf(stream: StreamState): number {
    if (stream.firstGranule === null || stream.lastGranule === null) return 0;
    return Number(stream.lastGranule - stream.firstGranule) / GRANULE_RATE_PER_MS;
  }

  #decide(entry: Entry, newerMs: number, now: number): void {
    const { page, stream } = entry;
    if (entry.kind !== 'audio' || stream === null) {
      this.push(page.bytes);
      return;
    }
    const inHand = this.#queuedAt(now) + newerMs;
    let drop: boolean;
    if (page.continued) drop = stream.lastDropped;
    else if (this.#maxDelayMs === null || page.eos) drop = false;
    else {
      if (!this.#catchingUp && inHand > this.#maxDelayMs) {
        this.#catchingUp = true;
        this.#drainTo = typeof this.#targetMs === 'number' ? this.#targetMs : Math.min(this.#maxDelayMs, Math.max(0, this.#targetMs()));
        this.#episode ??= { skippedMs: 0, pages: 0, inHandBeforeMs: inHand, behindBeforeMs: this.#heardLateness(stream, entry, now), inHandAfterMs: 0, lastDropAt: now };
      }
      // Drop only while what would be left in hand still reaches the target: the dropped page's time
      // is then covered by audio that is queued or already here, and never becomes silence.
      drop = this.#catchingUp && inHand - entry.durationMs >= (this.#drainTo ?? 0);
    }
    stream.lastDropped = drop;
    if (drop) {
      if (this.#episode !== null) {
        this.#episode.skippedMs += entry.durationMs;
        this.#episode.pages += 1;
        this.#episode.lastDropAt = now;
      }
      this.skippedMs += entry.durationMs;
      this.skippedPages += 1;
      return;
    }
    const start = Math.max(this.#playCursor ?? now, now);
    this.#playCursor = start + entry.durationMs;
    this.#batchPassedMs += entry.durationMs;
    this.#lastDuration = entry.durationMs;
    if (stream.baseline !== null) this.#lastIdeal = stream.baseline + entry.endMs;
    this.push(page.bytes);
    if (page.continued) return;
    if (this.#catchingUp) {
      this.#catchingUp = false;
      this.#drainTo = null;
      if (this.#episode !== null) this.#episode.inHandAfterMs = inHand;
    } else if (this.#episode !== null && now - this.#episode.lastDropAt >= EPISODE_QUIET_MS) this.#endEpisode();
  }

  /** How late this page would start playing if passed on now, against the baseline. */
  #heardLateness(stream: StreamState, entry: Entry, now: number): number {
    if (stream.baseline === null) return 0;
    return Math.max(0, Math.max(this.#playCursor ?? now, now) - (stream.baseline + entry.endMs));
  }

  #endEpisode(): void {
    const episode = this.#episode;
    this.#episode = null;
    this.#catchingUp = false;
    this.#drainTo = null;
    if (episode === null || episode.pages === 0) return;
    this.catchUps += 1;
    this.#onSkip?.({
      skippedMs: episode.skippedMs,
      pages: episode.pages,
      inHandBeforeMs: episode.inHandBeforeMs,
      inHandAfterMs: episode.inHandAfterMs,
      behindBeforeMs: episode.behindBeforeMs,
      behindAfterMs: this.behindMs,
    });
  }
}
