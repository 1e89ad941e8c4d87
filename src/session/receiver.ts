import { EventEmitter } from 'node:events';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Response } from 'got';
import { type BackoffPolicy, decideRedial, DEFAULT_BACKOFF, Outage } from '../client/backoff.js';
import { newSession, openDownload, PipeError, type PipeErrorKind } from '../client/index.js';

export interface ReceiverOptions {
  readonly url: URL;
  readonly name: string;
  /** Aborting hangs up: a waiting dial, a stream or a pending redial ends at once. */
  readonly signal: AbortSignal;
  /** Redial the same name when the stream is cut (not when the talker hangs up). */
  readonly reconnect: boolean;
  readonly policy?: BackoffPolicy;
  /**
   * A stream that brings no byte for this long is lost: a talker sends a page every 10–20 ms, and a
   * dead link never errors on its own. Longer than any stall the catch-up is meant to absorb.
   */
  readonly lostAfterMs?: number;
}

export interface ReceiverEvents {
  dialing: [attempt: number];
  /** The talker is there; `gapMs` is how long the call was down (0 the first time). */
  connected: [response: Response, gapMs: number];
  lost: [reason: string, delayMs: number];
}

/**
 * Reads one connection's body to its end: resolves when the talker ended the stream cleanly,
 * rejects when it was cut. Must end (or fail) when `stream` is destroyed.
 */
export type Consume = (stream: Readable, response: Response) => Promise<void>;

export type ReceiverEnd = { readonly kind: 'finished' } | { readonly kind: 'cut'; readonly reason: string };

/**
 * The listening side of a call, across reconnects: a clean end of the stream is the talker hanging
 * up; a cut (or silence past `lostAfterMs`) is a lost connection, redialed with capped, jittered
 * backoff when asked to.
 */
export class PipeReceiver extends EventEmitter<ReceiverEvents> {
  readonly #options: ReceiverOptions;
  /** Sent on every dial of this call, so a redial replaces a connection the relay still holds. */
  readonly #session: string;
  readonly #policy: BackoffPolicy;
  bytesReceived = 0;

  constructor(options: ReceiverOptions) {
    super();
    this.#options = options;
    this.#session = newSession();
    this.#policy = options.policy ?? DEFAULT_BACKOFF;
  }

  /**
   * Runs the call. The first dial's failures are final, except the kinds in `retry` (e.g. 'busy'
   * while the other side of a duplex call is still switching roles).
   */
  async run(consume: Consume, retry: readonly PipeErrorKind[] = []): Promise<ReceiverEnd> {
    let everConnected = false;
    let outage = new Outage(Date.now());
    let reason = '';
    for (let attempt = 0; ; attempt++) {
      this.emit('dialing', attempt);
      const download = openDownload(this.#options.url, this.#options.name, { signal: this.#options.signal, session: this.#session });
      let response: Response;
      try {
        response = await download.connected;
      } catch (error) {
        download.stream.destroy();
        if (this.#options.signal.aborted || !(error instanceof PipeError)) throw error;
        const redialable = everConnected ? this.#options.reconnect : retry.includes(error.kind);
        if (!redialable) throw error;
        reason = error.message;
        await this.#pause(outage.record(error, Date.now()), reason, error);
        continue;
      }
      this.emit('connected', response, everConnected ? Date.now() - outage.startedAt : 0);
      everConnected = true;
      try {
        await this.#consumeWatched(download.stream, response, consume);
        return { kind: 'finished' };
      } catch (error) {
        if (this.#options.signal.aborted) throw error;
        reason = `the stream was cut (${(error as Error).message})`;
        if (!this.#options.reconnect) return { kind: 'cut', reason };
        outage = new Outage(Date.now());
        await this.#pause(outage.record('lost', Date.now()), reason, null);
      }
    }
  }

  async #pause(state: ReturnType<Outage['record']>, reason: string, failure: PipeError | null): Promise<void> {
    const decision = decideRedial(state, Math.random(), this.#policy);
    if (!decision.redial) throw new PipeError(failure?.kind ?? 'aborted', `${reason}; ${decision.reason}`, failure?.status);
    this.emit('lost', reason, decision.delayMs);
    await sleep(decision.delayMs, undefined, { signal: this.#options.signal });
  }

  /** `consume`, with a watchdog: a stream silent for `lostAfterMs` is destroyed, which fails `consume`. */
  async #consumeWatched(stream: Readable, response: Response, consume: Consume): Promise<void> {
    const lostAfterMs = this.#options.lostAfterMs ?? 5_000;
    let lastByteAt = Date.now();
    // Counting in a pass-through, not a 'data' listener: that would start the flow before `consume` is ready.
    const counted = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        lastByteAt = Date.now();
        this.bytesReceived += chunk.length;
        callback(null, chunk);
      },
    });
    pipeline(stream, counted).catch(() => undefined);
    const watchdog = setInterval(() => {
      if (Date.now() - lastByteAt > lostAfterMs) stream.destroy(new Error(`nothing arrived for ${Math.round(lostAfterMs / 1000)} s`));
    }, 250);
    try {
      await consume(counted, response);
    } finally {
      clearInterval(watchdog);
      stream.destroy();
    }
  }
}
