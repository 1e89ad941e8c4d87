import { EventEmitter, once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'got';
import { CHANNELS, decodeToFloatArgs, meterTapArgs, playFloatWavArgs, type PlaybackTarget, PLAYER_PACKET_FRAMES, SAMPLE_RATE, webmToOggArgs } from '../audio/args.js';
import { DEFAULT_MAX_DELAY_MS, LiveEdge, type SkipEvent } from '../audio/catch-up.js';
import { JitterTarget } from '../audio/jitter-target.js';
import { PlayoutStretch } from '../audio/stretch.js';
import { streamingWavHeader } from '../audio/wav-feed.js';
import { WAVE_FORMAT_IEEE_FLOAT } from '../audio/wav.js';
import { NotOggError, type OggPage, OggPageSplitter } from '../audio/ogg.js';
import { playerArgs, type PlayerTarget } from '../audio/player.js';
import { type FfmpegOutcome, type FfmpegRun, runFfmpeg } from '../audio/process.js';
import type { BackoffPolicy, PipeErrorKind } from '../client/index.js';
import { audioContainer, mediaEssence, type SealedCall, type SealFailure, stripControls } from '../wire.js';
import { UnsealedError, unsealing } from './sealing.js';
import { ContentError, PipeReceiver, type ReceiverEnd } from './receiver.js';
import { type FfmpegFailed, METER_RATE } from './talker.js';

export interface ListenerOptions {
  readonly ffmpegPath: string;
  /** ffmpeg's own output (device, WAV) or, where ffmpeg has no output device, an external player. */
  readonly target: PlaybackTarget | PlayerTarget;
  /** ffmpeg's stdout: inherited for `--output -`. */
  readonly decoderStdout: 'inherit' | 'ignore';
  readonly url: URL;
  readonly name: string;
  /** Hanging up: a waiting dial, the stream or a pending redial ends at once. */
  readonly signal: AbortSignal;
  readonly reconnect: boolean;
  /** How long the first dial waits for the talker, s (`?wait=`). */
  readonly waitSeconds?: number | undefined;
  /** null: never drop audio to catch up. */
  readonly maxDelayMs?: number | null;
  /** Also keep the received stream, as it came, in this file. */
  readonly record?: string | undefined;
  readonly policy?: BackoffPolicy | undefined;
  readonly lostAfterMs?: number | undefined;
  /** Tap the decoder's output (low-rate PCM) to time it: `decoded` events. */
  readonly meter?: boolean | undefined;
  /** A sealed call: each connection is opened with the code's keys; nothing unauthenticated is played. */
  readonly sealed?: SealedCall | undefined;
}

export interface ListenerEvents {
  dialing: [attempt: number];
  connected: [gapMs: number];
  lost: [reason: string, delayMs: number];
  skip: [event: SkipEvent];
  /** `samples` more audio came out of the decoder (with `meter`, at METER_RATE). */
  decoded: [samples: number];
}

/** How a listener's call ended, as data. */
export type ListenEnd =
  | ReceiverEnd
  /** What the pipe carries is not audio we can play (its type, or bytes that are not Ogg). */
  | { readonly kind: 'not-audio'; readonly detail: string }
  /** A sealed call's stream could not be authenticated: not sealed, another code, or changed on the way. */
  | { readonly kind: 'unauthenticated'; readonly failure: SealFailure; readonly detail: string }
  | { readonly kind: 'audio-failed'; readonly outcome: FfmpegFailed };

/** The pipe carries something a decoder would fail on obscurely: an HTML error page, a JSON answer, garbage. */
export class NotAudioError extends ContentError {
  override readonly name = 'NotAudioError';
}

/**
 * A relay's stream that is not Ogg within this many bytes is not a call: an endless garbage body
 * must end the call with its reason, not keep the splitter searching at full CPU.
 */
const MAX_BYTES_WITHOUT_A_PAGE = 64 * 1024;

function startsBeforeDialing(target: PlaybackTarget | PlayerTarget): boolean {
  return target.kind !== 'wav' || target.path === '-';
}

/** The call's running decoder and what feeds it. */
interface Decoder {
  /** The processes of the chain, first to last: decoder and player, or the external player alone. */
  readonly runs: readonly FfmpegRun[];
  /** The live-edge keeper in front of ffmpeg, fed by every connection in turn. */
  readonly edge: LiveEdge;
  /** The playout stage between decoder and player (none in front of an external player). */
  readonly stretch: PlayoutStretch | null;
  readonly jitter: JitterTarget | null;
  /** Settles when every byte path of the chain has ended. */
  readonly fed: Promise<void>;
}

/** What the adaptive playout is doing now (Listener.playout). */
export interface PlayoutState {
  /** The delay it returns to after a stall, ms: follows the link's jitter and stalls, at most the cap. */
  readonly targetMs: number;
  /** Audio in hand (handed to the player, not yet played), ms. */
  readonly inHandMs: number;
  /** Playback speed now (1: normal; up to 1.25 while catching up). */
  readonly tempo: number;
  /** Audio skipped by playing faster so far, ms (nothing is lost: it is the pauses between pitch periods). */
  readonly stretchedMs: number;
}

/** The WAV header the player reads first: 64-bit float, as the playout stage writes (see playFloatWavArgs). */
const PLAYER_WAV_HEADER = streamingWavHeader({ formatTag: WAVE_FORMAT_IEEE_FLOAT, bitsPerSample: 64, channels: CHANNELS, sampleRate: SAMPLE_RATE });

/**
 * The listening side of a call: one decoder for the whole call, fed by each connection in turn (a
 * reconnecting talker sends a fresh Ogg stream; ffmpeg plays chained Ogg on), with whole Ogg pages
 * dropped after a stall so the delay comes back to `maxDelayMs`.
 */
export class Listener extends EventEmitter<ListenerEvents> {
  readonly #options: ListenerOptions;
  /** Ends the receiver: the user's hang-up, or a decoder that died. */
  readonly #stop = new AbortController();
  readonly #receiver: PipeReceiver;
  #decoder: Decoder | null = null;
  #decoderFailed: FfmpegFailed | null = null;
  /** skippedMs of a decoder already closed. */
  #skippedBefore = 0;
  #record: WriteStream | null = null;
  #startedAt: number | undefined;

  constructor(options: ListenerOptions) {
    super();
    this.#options = options;
    this.#receiver = new PipeReceiver({
      url: options.url,
      name: options.name,
      signal: AbortSignal.any([options.signal, this.#stop.signal]),
      reconnect: options.reconnect,
      policy: options.policy,
      lostAfterMs: options.lostAfterMs,
      waitSeconds: options.waitSeconds,
    });
    this.#receiver.on('dialing', (attempt) => this.emit('dialing', attempt));
    this.#receiver.on('connected', (_response, gapMs) => this.emit('connected', gapMs));
    this.#receiver.on('lost', (reason, delayMs) => this.emit('lost', reason, delayMs));
  }

  get bytesReceived(): number {
    return this.#receiver.bytesReceived;
  }

  /** How far behind the talker what we hear is, ms (0 before the decoder runs). */
  get behindMs(): number {
    return this.#decoder?.edge.behindMs ?? 0;
  }

  /** Audio the catch-up has dropped so far in this call, ms. */
  get skippedMs(): number {
    return this.#decoder?.edge.skippedMs ?? this.#skippedBefore;
  }

  /** The adaptive playout now; null when it is off (`maxDelayMs` null, an external player) or not started. */
  get playout(): PlayoutState | null {
    const decoder = this.#decoder;
    if (decoder === null || decoder.stretch === null || decoder.jitter === null) return null;
    return {
      targetMs: this.#targetMs(decoder.jitter),
      inHandMs: decoder.stretch.inHandMs(),
      tempo: decoder.stretch.tempo,
      stretchedMs: decoder.stretch.skippedMs,
    };
  }

  /** The cap: `maxDelayMs`, the default when not given; null when off. */
  get #capMs(): number | null {
    const cap = this.#options.maxDelayMs === undefined ? DEFAULT_MAX_DELAY_MS : this.#options.maxDelayMs;
    return cap === 0 ? null : cap;
  }

  /** The playout target: the link's, at most half the cap (room above it before anything is dropped). */
  #targetMs(jitter: JitterTarget): number {
    return Math.min(jitter.targetMs, (this.#capMs ?? Infinity) / 2);
  }

  get startedAt(): number | undefined {
    return this.#startedAt;
  }

  /**
   * Runs the call to its end. `retry`: kinds of first-dial failures to redial (a duplex call's role
   * switch). A first dial's refusal is thrown (a PipeError).
   */
  async run(retry: readonly PipeErrorKind[] = []): Promise<ListenEnd> {
    let end: ListenEnd;
    try {
      // Opened before dialing: a --record path that cannot be written is said at once, not mid-call.
      await this.#openRecord();
      // ffmpeg's start-up (~50 ms) would otherwise hold the first pages in a pipe, and that queue
      // stays as delay for the whole call. A decoder waiting on its input opens no speaker yet. Not
      // for a WAV file, which ffmpeg would create (or empty) before the call even connects.
      if (startsBeforeDialing(this.#options.target)) this.#startDecoder();
      end = await this.#receiver.run((stream, response) => this.#consume(stream, response), retry);
    } catch (error) {
      if (error instanceof NotAudioError) end = { kind: 'not-audio', detail: error.message };
      else if (error instanceof UnsealedError) end = { kind: 'unauthenticated', failure: error.failure, detail: error.message };
      else {
        await this.#closeDecoder();
        throw error;
      }
    }
    if (this.#decoderFailed !== null) end = { kind: 'audio-failed', outcome: this.#decoderFailed };
    const outcome = await this.#closeDecoder();
    // A call hung up before its first byte leaves the decoder with an empty input, which it calls a failure.
    const heardAnything = this.#receiver.bytesReceived > 0;
    if (outcome !== null && !outcome.ok && end.kind !== 'hung-up' && end.kind !== 'not-audio' && end.kind !== 'unauthenticated' && heardAnything) return { kind: 'audio-failed', outcome };
    return end;
  }

  async #consume(stream: Readable, response: Response): Promise<void> {
    const sealed = this.#options.sealed;
    if (sealed !== undefined) {
      // The Content-Type is the relay's to rewrite (ours passes it; others may say octet-stream): the
      // stream's own header decides, and nothing reaches the decoder or --record before it opens.
      const decoder = this.#decoder ?? this.#startDecoder();
      this.#startedAt ??= Date.now();
      const tap = this.#record === null ? [] : [recordTap(this.#record)];
      await pipeline([stream, unsealing(sealed, this.#options.name), ...tap, oggPages(), feeding(decoder.edge)]).catch((error: unknown) => {
        throw this.#notOgg(error);
      });
      return;
    }
    const contentType = response.headers['content-type'];
    const container = audioContainer(contentType);
    if (container === null) {
      stream.destroy();
      throw new NotAudioError(`${this.#options.name} carries ${stripControls(mediaEssence(contentType)).slice(0, 100)}, not Ogg or WebM audio`);
    }
    const decoder = this.#decoder ?? this.#startDecoder();
    this.#startedAt ??= Date.now();
    const tap = this.#record === null ? [] : [recordTap(this.#record)];
    if (container === 'webm') {
      // WebM (a browser's MediaRecorder) cannot be chained, so each connection is remuxed to Ogg by an
      // ffmpeg of its own (`-c:a copy`): the call keeps one decoder, and the catch-up, across reconnects.
      await this.#remuxWebm(stream, tap, decoder.edge);
      return;
    }
    // Whole pages only: a cut connection leaves half a page behind, which the splitter drops.
    await pipeline([stream, ...tap, oggPages(), feeding(decoder.edge)]).catch((error: unknown) => {
      throw this.#notOgg(error);
    });
  }

  /** A splitter's "no Ogg here" as the call's end; anything else as it is. */
  #notOgg(error: unknown): unknown {
    return error instanceof NotOggError ? new NotAudioError(`${this.#options.name} carries bytes that are not an Ogg stream (${error.message})`, { cause: error }) : error;
  }

  async #remuxWebm(stream: Readable, tap: Transform[], edge: LiveEdge): Promise<void> {
    const remux = runFfmpeg(this.#options.ffmpegPath, webmToOggArgs(), 'listen', { stdin: 'pipe', stdout: 'pipe' });
    if (remux.stdin === null || remux.stdout === null) throw new Error('ffmpeg has no stdin or stdout');
    let cut: unknown = null;
    try {
      await Promise.all([pipeline([stream, ...tap, remux.stdin]), pipeline([remux.stdout, oggPages(), feeding(edge)])]);
    } catch (error) {
      cut = this.#notOgg(error);
    } finally {
      remux.stop(500);
    }
    if (cut !== null) throw cut;
    const outcome = await remux.outcome;
    if (!outcome.ok) throw new NotAudioError(`the WebM stream could not be read: ${outcome.message}`);
  }

  /**
   * The call's one decoder chain, behind the live-edge keeper that every connection feeds:
   * pages → LiveEdge (drops only past the cap) → ffmpeg decoder (Ogg → float PCM) → PlayoutStretch
   * (faster while the audio in hand is above the target) → ffmpeg player (float WAV → device, WAV, PCM).
   * An external player (ffplay, mpv) reads the Ogg itself: page drops only, no stretching.
   */
  #startDecoder(): Decoder {
    const target = this.#options.target;
    const cap = this.#capMs;
    if (target.kind === 'player') {
      const run = runFfmpeg(target.path, playerArgs(target), 'listen', { stdin: 'pipe', stdout: this.#options.decoderStdout, program: target.player });
      if (run.stdin === null) throw new Error(`${target.player} has no stdin`);
      const edge = new LiveEdge({ maxDelayMs: cap, onSkip: (event) => this.emit('skip', event) });
      return this.#watch({ runs: [run], edge, stretch: null, jitter: null, fed: pipeline(edge, run.stdin).catch(() => undefined) });
    }
    const meter = this.#options.meter === true;
    const decode = runFfmpeg(this.#options.ffmpegPath, [...decodeToFloatArgs(), ...(meter ? meterTapArgs({ fd: 3, sampleRate: METER_RATE }) : [])], 'listen', { stdin: 'pipe', stdout: 'pipe', meter });
    decode.meter?.on('data', (chunk: Buffer) => this.emit('decoded', chunk.length / 2));
    const play = runFfmpeg(this.#options.ffmpegPath, playFloatWavArgs(target), 'listen', { stdin: 'pipe', stdout: this.#options.decoderStdout });
    if (decode.stdin === null || decode.stdout === null || play.stdin === null) throw new Error('ffmpeg has no stdin or stdout');
    // Off (`--max-delay off`): everything plays as it comes, no drop and no speed-up. A WAV file is
    // written as fast as audio comes, with no real-time player to model: the decoder's own start-up
    // (it starts when the call connects, not before) would look like a backlog to play faster. A
    // file keeps the page drops past the cap, on the keeper's own clock, as before.
    const toFile = target.kind === 'wav' && target.path !== '-';
    const jitter = cap === null || toFile ? null : new JitterTarget();
    const stretch = new PlayoutStretch({
      targetMs: jitter === null ? null : () => this.#targetMs(jitter),
      header: PLAYER_WAV_HEADER,
      alignFrames: PLAYER_PACKET_FRAMES,
    });
    const edge = new LiveEdge({
      maxDelayMs: cap,
      // Past the cap, drop down to the target, but never keep more than a quarter of the cap: after a
      // stall far longer than any before (the target cannot know yet), come back near the live edge.
      ...(jitter === null ? {} : { jitter, targetMs: () => Math.min(this.#targetMs(jitter), (cap ?? 0) / 4), inHandMs: () => stretch.inHandMs() }),
      onSkip: (event) => this.emit('skip', event),
    });
    const fed = Promise.all([pipeline(edge, decode.stdin), pipeline(decode.stdout, stretch, play.stdin)]).then(() => undefined, () => undefined);
    return this.#watch({ runs: [decode, play], edge, stretch, jitter, fed });
  }

  /** Makes `decoder` the call's, and ends the call if one of its processes dies mid-call. */
  #watch(decoder: Decoder): Decoder {
    // A process that dies mid-call ends the call: nothing else would notice until the next byte. The
    // rest of the chain cannot go on without it (a decoder still waiting for its first page would
    // never notice a player that could not open the speaker), so it is stopped, and the chain's
    // outcome says why.
    for (const run of decoder.runs) {
      void run.outcome.then(async (outcome) => {
        if (outcome.ok || this.#decoder !== decoder) return;
        for (const other of decoder.runs) if (other !== run) other.stop(500);
        const chain = await chainOutcome(decoder.runs);
        this.#decoderFailed ??= chain.ok ? outcome : chain;
        this.#stop.abort();
      });
    }
    this.#decoder = decoder;
    return decoder;
  }

  /** Lets the decoder finish what it has and exit; returns how it ended (null: none was running). */
  async #closeDecoder(): Promise<FfmpegOutcome | null> {
    const decoder = this.#decoder;
    this.#decoder = null;
    this.#record?.end();
    this.#record = null;
    if (decoder === null) return null;
    this.#skippedBefore = decoder.edge.skippedMs;
    decoder.edge.end();
    await decoder.fed;
    const outcome = chainOutcome(decoder.runs);
    const exited = await Promise.race([outcome, new Promise<null>((resolve) => setTimeout(() => resolve(null), 3_000).unref())]);
    if (exited !== null) return exited;
    for (const run of decoder.runs) run.stop(500);
    return outcome;
  }

  /** The `--record` file, opened (and its failure said) before the call. */
  async #openRecord(): Promise<void> {
    if (this.#options.record === undefined || this.#record !== null) return;
    const file = createWriteStream(this.#options.record);
    try {
      await once(file, 'open');
    } catch (error) {
      throw new RecordError(`cannot write --record ${this.#options.record}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    // A disk that fills mid-call loses the recording, not the call.
    file.on('error', () => undefined);
    this.#record = file;
  }
}

/** The `--record` file cannot be written. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
}

/** A pass-through that copies the call into the `--record` file (kept across reconnects: chained Ogg). */
function recordTap(file: WriteStream): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!file.destroyed) file.write(chunk);
      callback(null, chunk);
    },
  });
}

/** Whole Ogg pages of a connection; bytes that never make a page are not audio (NotOggError). */
function oggPages(): OggPageSplitter {
  return new OggPageSplitter({ maxBytesWithoutPage: MAX_BYTES_WITHOUT_A_PAGE });
}

/**
 * How a chain of processes ended, once all have: clean if all were; else the failure that explains
 * most (a named cause, such as no speaker or not Ogg, over an unknown one: when the player cannot
 * open the speaker, the decoder then fails only on its broken pipe), later processes first.
 */
async function chainOutcome(runs: readonly FfmpegRun[]): Promise<FfmpegOutcome> {
  const outcomes = await Promise.all(runs.map((run) => run.outcome));
  const failures = outcomes.filter((outcome): outcome is Extract<FfmpegOutcome, { ok: false }> => !outcome.ok).reverse();
  return failures.find((failure) => failure.failure.cause !== 'unknown') ?? failures[0] ?? { ok: true };
}

/** Writes each page into `edge`, which outlives this connection: its end is not passed on. */
function feeding(edge: LiveEdge): Writable {
  return new Writable({
    objectMode: true,
    write(page: OggPage, _encoding, callback) {
      if (edge.write(page)) callback();
      else edge.once('drain', () => callback());
    },
  });
}
