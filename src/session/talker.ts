import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SEND_LADDER, talkArgs, type CaptureSource, type OpusOptions } from '../audio/args.js';
import { LevelMeter } from '../audio/level.js';
import { type OggPage, OggPageSplitter } from '../audio/ogg.js';
import { OggRestreamer } from '../audio/ogg-restream.js';
import { type FfmpegOutcome, type FfmpegRun, runFfmpeg } from '../audio/process.js';
import type { BackoffPolicy, PipeErrorKind } from '../client/index.js';
import { OGG_OPUS, SEALED_MEDIA_TYPE, type SealedCall } from '../wire.js';
import { SealingRestreamer } from './sealing.js';
import { SendPolicy, SETTLE_MS } from './send-policy.js';
import { PipeSender, type SenderEnd } from './sender.js';
import { HeldEnd, type WaitingGate } from './streams.js';

/** Audio that arrives on our stdin (`--input -`): dropped by the gate until a listener is there. */
export interface StdinAudio {
  /** Written to ffmpeg's stdin first (e.g. a WAV header), then whatever the gate lets through. */
  readonly header?: Buffer;
  readonly gate: WaitingGate;
}

export interface TalkerOptions {
  readonly ffmpegPath: string;
  readonly source: CaptureSource;
  readonly stdinAudio?: StdinAudio | undefined;
  readonly opus: OpusOptions;
  readonly url: URL;
  readonly name: string;
  /**
   * Hanging up: before a listener came, the dial is cancelled; after, ffmpeg finishes its stream and
   * the upload ends cleanly, so the listener hears a hang-up, not a drop. (As execa's `cancelSignal`.)
   */
  readonly signal: AbortSignal;
  /** false: a hang-up after the start stops ffmpeg at once and the listener sees a cut (as execa's `gracefulCancel`). */
  readonly graceful?: boolean | undefined;
  readonly reconnect: boolean;
  readonly policy?: BackoffPolicy | undefined;
  /** How long the first dial waits for a listener, s (`?wait=`). */
  readonly waitSeconds?: number | undefined;
  /** Run a level meter on the captured audio (an extra low-rate output of the same ffmpeg). */
  readonly meter: boolean;
  /**
   * Step down the send ladder when the link cannot carry the stream, and back up (default: with
   * `reconnect` and a live source; a file would start over with a new encoder).
   */
  readonly adaptive?: boolean | undefined;
  /** A sealed call: every connection's pages go out as records only the code opens (`name` is the code's pipe). */
  readonly sealed?: SealedCall | undefined;
}

export interface TalkerEvents {
  dialing: [attempt: number];
  connected: [gapMs: number];
  lost: [reason: string, delayMs: number];
  /** The microphone's level, dBFS, about ten times a second (with `meter`). */
  level: [rmsDbfs: number];
  /** `samples` more of the captured audio went into the encoder (with `meter`, at METER_RATE). */
  captured: [samples: number];
  /** The send ladder moved: `rung` 0 is the stream asked for; `opus` is what is sent now. */
  rung: [rung: number, opus: OpusOptions, direction: 'down' | 'up'];
}

export type TalkEnd =
  | SenderEnd
  /** ffmpeg failed (no device, a crash): the call cannot go on. */
  | { readonly kind: 'audio-failed'; readonly outcome: FfmpegFailed };

export type FfmpegFailed = Extract<FfmpegOutcome, { ok: false }>;

/** The meter taps' sample rate: plenty for a level and for timing, 16 KB/s. */
export const METER_RATE = 8_000;

/**
 * The talking side of a call: dials the pipe, and once a listener is there starts one ffmpeg for
 * the whole call (mic → Opus in Ogg) whose pages go to the current connection. Reconnects reuse that
 * ffmpeg (the mic stays open) and start a fresh Ogg stream on the new connection.
 */
export class Talker extends EventEmitter<TalkerEvents> {
  readonly #options: TalkerOptions;
  /** Cancels the dial: a hang-up before the listener came. */
  readonly #dial = new AbortController();
  readonly #sender: PipeSender<OggPage>;
  readonly #restreamer = new OggRestreamer();
  #ffmpeg: FfmpegRun | undefined;
  /** Rung 0 is `options.opus`; the lower rungs put fewer bytes on the wire (audio/args.ts SEND_LADDER). */
  readonly #ladder: readonly Rung[];
  #rung = 0;
  /** The call's pages, across encoders (a step on the ladder starts a new one). */
  #pages: PassThrough | null = null;
  /** The listener came (`connect()` resolved); before, a hang-up cancels the dial. */
  #flowing = false;
  #hungUp = false;
  #startedAt: number | undefined;

  constructor(options: TalkerOptions) {
    super();
    this.#options = options;
    this.#sender = new PipeSender<OggPage>({
      url: options.url,
      name: options.name,
      contentType: options.sealed === undefined ? OGG_OPUS : SEALED_MEDIA_TYPE,
      signal: this.#dial.signal,
      reconnect: options.reconnect,
      policy: options.policy,
      waitSeconds: options.waitSeconds,
    });
    this.#ladder = ladderFrom(options.opus);
    const live = options.source.kind !== 'file';
    if (options.adaptive ?? (options.reconnect && live)) this.#adapt();
    if (options.signal.aborted) this.#hangUp();
    else options.signal.addEventListener('abort', () => this.#hangUp(), { once: true });
    this.#sender.on('dialing', (attempt) => this.emit('dialing', attempt));
    this.#sender.on('connected', (gapMs) => this.emit('connected', gapMs));
    this.#sender.on('lost', (reason, delayMs) => this.emit('lost', reason, delayMs));
  }

  get bytesSent(): number {
    return this.#sender.bytesSent;
  }

  get connected(): boolean {
    return this.#sender.connected;
  }

  /** When the audio began flowing (the first listener joined). */
  get startedAt(): number | undefined {
    return this.#startedAt;
  }

  get muted(): boolean {
    return this.#restreamer.muted;
  }

  set muted(value: boolean) {
    this.#restreamer.muted = value;
  }

  /** Waits for the first listener. Rejects with a PipeError (or the abort's error after a hang-up). */
  async connect(retry: readonly PipeErrorKind[] = []): Promise<void> {
    // Audio on stdin is already flowing: an ffmpeg started only when the listener comes would find
    // its start-up (~50 ms) queued in the pipe, and that queue stays as delay for the whole call.
    // Started now, it waits on the closed gate and encodes nothing until then.
    if (this.#options.stdinAudio !== undefined) this.#ffmpeg ??= this.#startFfmpeg();
    try {
      await this.#sender.dial(retry);
      this.#flowing = true;
    } catch (error) {
      this.#ffmpeg?.stop(0);
      throw error;
    }
  }

  /** Streams until the source ends, the call is over, or the signal hangs up. Call after `connect()`. */
  async run(): Promise<TalkEnd> {
    const run = (this.#ffmpeg ??= this.#startFfmpeg());
    this.#startedAt = Date.now();
    // Hung up between the listener's arrival and now: the stream still ends cleanly.
    if (this.#hungUp) run.stop();
    this.#options.stdinAudio?.gate.open();
    const pages = new PassThrough({ objectMode: true });
    this.#pages = pages;
    this.#feed(run, pages);
    // However the stream ended, ffmpeg's own end decides first: a crash explains a cut.
    const restreamer = this.#options.sealed === undefined ? this.#restreamer : new SealingRestreamer(this.#restreamer, this.#options.sealed);
    const result = await this.#sender.stream(pages, restreamer).then(
      (end) => ({ end }),
      (error: unknown) => ({ error }),
    );
    const last = this.#ffmpeg ?? run;
    last.stop(500);
    const outcome = await last.outcome;
    if (!outcome.ok) return { kind: 'audio-failed', outcome };
    if ('error' in result) throw result.error;
    return result.end;
  }

  /** Which rung of the send ladder is sent now (0: the stream asked for). */
  get rung(): number {
    return this.#rung;
  }

  /**
   * Feeds `run`'s pages into the call's page stream. Only the current encoder's end ends the call: one
   * replaced on a step of the ladder just stops. The end of its stdout is held until its exit status is
   * known: a crash must not look like a hang-up.
   */
  #feed(run: FfmpegRun, pages: PassThrough): void {
    const stdinAudio = this.#options.stdinAudio;
    if (stdinAudio !== undefined && run.stdin !== null) {
      if (stdinAudio.header !== undefined) run.stdin.write(stdinAudio.header);
      run.stdin.on('error', () => undefined);
      stdinAudio.gate.pipe(run.stdin);
    }
    if (run.meter !== null) this.#watchLevel(run.meter);
    if (run.stdout === null) throw new Error('ffmpeg has no stdout');
    const held = new HeldEnd(async () => {
      const outcome = await run.outcome;
      return outcome.ok ? undefined : new Error(outcome.message);
    });
    const splitter = new OggPageSplitter();
    splitter.on('data', (page: OggPage) => {
      if (this.#ffmpeg === run) pages.write(page);
    });
    pipeline(run.stdout, held, splitter).then(
      () => {
        if (this.#ffmpeg === run) pages.end();
      },
      (error: unknown) => {
        if (this.#ffmpeg === run) pages.destroy(error as Error);
      },
    );
  }

  /** Watches the sender's backlog reports and moves along the send ladder. */
  #adapt(): void {
    if (this.#ladder.length < 2) return;
    // Its clock starts with the stream: the first report of the call is judged, not taken as settling.
    let policy: SendPolicy | undefined;
    this.#sender.on('backlog', (_bytes, ms, carried) => {
      policy ??= new SendPolicy(this.#ladder.length, (this.#startedAt ?? Date.now()) - SETTLE_MS);
      const decision = policy.observe(ms, Date.now(), fittingRung(this.#ladder, this.#rung, carried));
      if (decision === null || this.#hungUp || this.#pages === null) return;
      this.#step(policy.rung, decision);
    });
  }

  /**
   * A new encoder at `rung`, its pages in place of the old one's (a new logical stream: listen plays
   * chained Ogg on). Stepping down also gives up the current connection: what is queued on it is the
   * delay a listener would hear, at the rung the link could not carry.
   */
  #step(rung: number, direction: 'down' | 'up'): void {
    const pages = this.#pages;
    const old = this.#ffmpeg;
    if (pages === null || old === undefined) return;
    const stdinAudio = this.#options.stdinAudio;
    if (stdinAudio !== undefined && old.stdin !== null) stdinAudio.gate.unpipe(old.stdin);
    this.#rung = rung;
    const next = this.#startFfmpeg();
    this.#ffmpeg = next;
    this.#feed(next, pages);
    old.stop(0);
    const opus = this.#ladder[rung] ?? this.#options.opus;
    this.emit('rung', rung, opus, direction);
    if (direction === 'down') this.#sender.abandonConnection(`the link cannot carry ${describeOpus(opus, this.#ladder[rung - 1])}`);
  }

  /** The signal's work: before a listener came, the dial is cancelled; after, ffmpeg finishes its stream (or stops at once). */
  #hangUp(): void {
    this.#hungUp = true;
    if (this.#flowing && this.#options.graceful !== false) {
      this.#ffmpeg?.stop();
      // Between two connections there is nobody to finish the stream for: stop redialing too. (While
      // connected, aborting would cut the upload before ffmpeg's last page.)
      if (!this.#sender.connected) this.#dial.abort();
      return;
    }
    this.#dial.abort();
    this.#ffmpeg?.stop(0);
  }

  #startFfmpeg(): FfmpegRun {
    const options = this.#options;
    const stdinAudio = options.stdinAudio;
    const run = runFfmpeg(
      options.ffmpegPath,
      talkArgs(options.source, this.#ladder[this.#rung] ?? options.opus, options.meter ? { fd: 3, sampleRate: METER_RATE } : undefined),
      'talk',
      { stdin: stdinAudio === undefined ? 'ignore' : 'pipe', stdout: 'pipe', meter: options.meter },
    );
    return run;
  }

  #watchLevel(tap: NodeJS.ReadableStream): void {
    const meter = new LevelMeter(METER_RATE / 10);
    tap.on('data', (chunk: Buffer) => {
      this.emit('captured', chunk.length / 2);
      for (const level of meter.push(chunk)) this.emit('level', level.rmsDbfs);
    });
    tap.on('error', () => undefined);
  }
}

/**
 * The rungs below what was asked for: SEND_LADDER's lower rungs that send fewer bits than rung 0
 * (a talker already at 12 kbit/s has nowhere lower to go).
 */
export function ladderFrom(asked: OpusOptions): Rung[] {
  const top = SEND_LADDER[0];
  const bitrate = asked.bitrateKbps ?? top?.bitrateKbps ?? 32;
  const lower = SEND_LADDER.slice(1).filter((rung) => rung.bitrateKbps < bitrate);
  // What was asked for costs about the default's headers plus its own bits (the headers are the most of it).
  const askedWire = (top?.wireKbps ?? 68.6) + bitrate - (top?.bitrateKbps ?? 32) + (asked.lowLatency === true ? 13 : 0);
  return [{ ...asked, wireKbps: askedWire }, ...lower.map((rung) => ({ bitrateKbps: rung.bitrateKbps, frameMs: rung.frameMs, pageMs: rung.pageMs, wireKbps: rung.wireKbps }))];
}

/** A rung of a talker's ladder: its encoder options and what it puts on the wire, kbit/s. */
export type Rung = OpusOptions & { readonly wireKbps: number };

/**
 * The highest rung the link seems to carry: the link took `carried` of what rung `current` wrote, so
 * it carries about that share of that rung's wire rate; a rung fits with 5 % to spare.
 */
export function fittingRung(ladder: readonly Rung[], current: number, carried: number): number {
  const capacity = carried * (ladder[current]?.wireKbps ?? 0);
  const index = ladder.findIndex((rung) => rung.wireKbps <= 0.95 * capacity);
  return index === -1 ? ladder.length - 1 : index;
}

function describeOpus(now: OpusOptions, before: OpusOptions | undefined): string {
  return before === undefined ? 'the stream' : `${before.bitrateKbps ?? 32} kbit/s in ${before.pageMs ?? 20} ms pages; now ${now.bitrateKbps ?? 32} kbit/s in ${now.pageMs ?? 20} ms pages`;
}
