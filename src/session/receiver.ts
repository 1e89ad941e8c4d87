import { EventEmitter } from 'node:events';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RequestError, type Response } from 'got';
import { type BackoffPolicy, dialDownload, type Download, newSession, PipeError, type PipeErrorKind, redials } from '../client/index.js';
import { LOST_AFTER_MS, silenceText, watchLink } from './watchdog.js';

export interface ReceiverOptions {
  readonly url: URL;
  readonly name: string;
  /** Aborting hangs up: a waiting dial, a stream or a pending redial ends at once. */
  readonly signal: AbortSignal;
  /** Redial the same name when the stream is cut (not when the talker hangs up). */
  readonly reconnect: boolean;
  readonly policy?: BackoffPolicy | undefined;
  /** A stream that brings no byte for this long is lost; default LOST_AFTER_MS. */
  readonly lostAfterMs?: number | undefined;
  /** How long a dial waits for the talker, s (`?wait=`). */
  readonly waitSeconds?: number | undefined;
}

export interface ReceiverEvents {
  dialing: [attempt: number];
  /** The talker is there; `gapMs` is how long the call was down (0 the first time). */
  connected: [response: Response, gapMs: number];
  lost: [reason: string, delayMs: number];
}

/**
 * Reads one connection's body to its end: resolves when the talker ended the stream cleanly,
 * rejects when it was cut. Must end (or fail) when `stream` is destroyed. A rejection that is not the
 * connection's (the content is not audio, the decoder died) ends the call: it is rethrown.
 */
export type Consume = (stream: Readable, response: Response) => Promise<void>;

/**
 * A failure of what the pipe carries, not of the connection (not audio, garbage): it ends the call,
 * however the connection looks after it (pipeline() destroys the got stream with it, and got reports
 * that as an error of its own).
 */
export class ContentError extends Error {
  override readonly name: string = 'ContentError';
}

/** How a receiver's call ended, as data. */
export type ReceiverEnd =
  /** The talker ended the stream cleanly: they hung up. */
  | { readonly kind: 'finished' }
  /** We hung up (the signal). */
  | { readonly kind: 'hung-up' }
  /** The stream was cut and not redialed (or the redials gave up). */
  | { readonly kind: 'lost'; readonly error: PipeError };

/**
 * The listening side of a call, across reconnects: a clean end of the stream is the talker hanging
 * up; a cut (or silence past `lostAfterMs`) is a lost connection, redialed with capped, jittered
 * backoff when asked to.
 */
export class PipeReceiver extends EventEmitter<ReceiverEvents> {
  readonly #options: ReceiverOptions;
  /** Sent on every dial of this call, so a redial replaces a connection the relay still holds. */
  readonly #session = newSession();
  bytesReceived = 0;
  /** Why the last connection was lost. */
  #lastLoss = new PipeError('lost', 'the stream was cut');

  constructor(options: ReceiverOptions) {
    super();
    this.#options = options;
  }

  /**
   * Runs the call. A first dial's failure is thrown (a PipeError), except the kinds in `retry`
   * (e.g. 'busy' while the other side of a duplex call is still switching roles), which are redialed.
   */
  async run(consume: Consume, retry: readonly PipeErrorKind[] = []): Promise<ReceiverEnd> {
    let loss: PipeError | null = null;
    for (;;) {
      const lostAt = Date.now();
      let download: Download;
      try {
        download = await this.#connect(loss, loss === null ? retry : null);
      } catch (error) {
        if (this.#options.signal.aborted) return { kind: 'hung-up' };
        if (loss !== null && error instanceof PipeError) return { kind: 'lost', error };
        throw error;
      }
      this.emit('connected', download.response, loss === null ? 0 : Date.now() - lostAt);
      const ended = await this.#consumeWatched(download, consume);
      if (ended !== null) return ended;
      if (this.#options.signal.aborted) return { kind: 'hung-up' };
      loss = this.#lastLoss;
      if (!this.#options.reconnect) return { kind: 'lost', error: loss };
    }
  }

  /**
   * One series of dials: the first dial of the call (`loss` null: failures in `retry` are redialed),
   * or the redials after a loss (every failure but what the policy ends).
   */
  async #connect(loss: PipeError | null, retry: readonly PipeErrorKind[] | null): Promise<Download> {
    const onWait = loss === null ? undefined : (reason: string, delayMs: number) => this.emit('lost', reason, delayMs);
    for await (const attempt of redials({ policy: this.#options.policy, signal: this.#options.signal, onWait })) {
      if (loss !== null && attempt.number === 0) {
        // The loss itself is the first failure: the series waits its backoff before the first redial.
        attempt.failed(loss);
        continue;
      }
      this.emit('dialing', attempt.number);
      try {
        return await dialDownload(this.#options.url, this.#options.name, { signal: this.#options.signal, session: this.#session, waitSeconds: this.#options.waitSeconds });
      } catch (error) {
        const redialable = error instanceof PipeError && (retry === null || retry.includes(error.kind));
        if (!redialable || this.#options.signal.aborted) throw error;
        attempt.failed(error);
      }
    }
    throw new Error('the redial series ended without a connection');
  }

  /**
   * `consume`, with a watchdog: a stream silent for `lostAfterMs` is destroyed, which fails `consume`.
   * Returns the call's end, or null when the connection was lost (`#lastLoss` says why).
   */
  async #consumeWatched({ stream, response }: Download, consume: Consume): Promise<ReceiverEnd | null> {
    const lostAfterMs = this.#options.lostAfterMs ?? LOST_AFTER_MS;
    let lastByteAt = Date.now();
    let loss: string | null = null;
    // Counting in a pass-through, not a 'data' listener: that would start the flow before `consume` is ready.
    const counted = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        lastByteAt = Date.now();
        this.bytesReceived += chunk.length;
        callback(null, chunk);
      },
    });
    // Only got's own errors are the connection's; pipeline() also destroys the stream with a failure
    // of a stage after it (not audio, a dead decoder), which must end the call instead.
    stream.once('error', (error: Error) => {
      if (error instanceof RequestError) loss ??= `the stream was cut (${error.message})`;
    });
    pipeline(stream, counted).catch(() => undefined);
    const watchdog = watchLink(
      () => (Date.now() - lastByteAt > lostAfterMs ? `nothing arrived for ${silenceText(lostAfterMs)}` : null),
      (reason) => {
        loss = reason;
        stream.destroy(new Error(reason));
      },
    );
    try {
      await consume(counted, response);
      return { kind: 'finished' };
    } catch (error) {
      if (this.#options.signal.aborted) return { kind: 'hung-up' };
      // Only a failure of the connection is a loss; anything else (not audio, a dead decoder) ends the call.
      if (loss === null || error instanceof ContentError) throw error;
      this.#lastLoss = new PipeError('lost', loss, { cause: error });
      return null;
    } finally {
      watchdog.stop();
      stream.destroy();
    }
  }
}
