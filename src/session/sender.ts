import { EventEmitter, once } from 'node:events';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BackoffPolicy, decideRedial, DEFAULT_BACKOFF, Outage } from '../client/backoff.js';
import { newSession, openUpload, PipeError, type PipeErrorKind, type PipeRequest } from '../client/index.js';
import { HEARTBEAT_HEADER } from '../wire.js';

/**
 * Turns the units of a live source (Ogg pages) into the bytes of the current connection. Each
 * connection must be a stream a decoder can start on, so `restart` is called before the first unit
 * of every connection.
 */
export interface Restreamer<Unit> {
  restart(): void;
  /** The bytes to send for `unit`, or null to send nothing for it (e.g. a page that cannot start a stream). */
  bytesOf(unit: Unit): Buffer | null;
}

export interface SenderOptions {
  readonly url: URL;
  readonly name: string;
  readonly contentType: string;
  /** Aborting hangs up: a waiting dial or a pending redial ends at once. */
  readonly signal: AbortSignal;
  /** Redial the same name when the connection is lost. */
  readonly reconnect: boolean;
  readonly policy?: BackoffPolicy;
  /**
   * A connection whose queued bytes have not moved for this long is lost (a dead link never errors
   * on its own: TCP retransmits for many minutes).
   */
  readonly lostAfterMs?: number;
  /** Never queue more than this in user space (8 KiB ≈ 2 s of a call): beyond it, live units are dropped. */
  readonly maxQueuedBytes?: number;
}

export interface SenderEvents {
  /** Dialing; `attempt` 0 is the first dial. */
  dialing: [attempt: number];
  /** A receiver is there: the bytes flow. `gapMs` is how long the call was down (0 the first time). */
  connected: [gapMs: number];
  /** The connection was lost; a redial follows in `delayMs` (only with `reconnect`). */
  lost: [reason: string, delayMs: number];
}

export type SenderEnd =
  /** The source ended and the last bytes reached the relay. */
  | { readonly kind: 'finished'; readonly relayText: string }
  /** The receiver left (or the link dropped) and no redial was asked for or possible. */
  | { readonly kind: 'cut'; readonly reason: string; readonly relayText: string };

const RECEIVER_LEFT = /receiver left|receivers? (?:has |have )?(?:left|gone)/i;

/** One connection to the relay and how it ended. */
interface Connection {
  readonly request: PipeRequest;
  /** The relay's progress lines on the response. */
  relayText: string;
  /** Settles with a reason when the connection is lost before we ended it. */
  readonly lost: Promise<string>;
  /** When a write last reached the socket. */
  lastProgressAt: number;
  /** We ended the body: the response's end is the relay's confirmation, not a loss. */
  finishing: boolean;
}

/**
 * The sending side of a call, across reconnects: dials the pipe, streams a live source into it, and
 * when the connection is lost dials again with capped, jittered backoff while the source keeps
 * running (what is said during the gap is dropped: a call is live, not a recording).
 */
export class PipeSender<Unit> extends EventEmitter<SenderEvents> {
  readonly #options: SenderOptions;
  /** Sent on every dial of this call, so a redial replaces a connection the relay still holds. */
  readonly #session: string;
  readonly #policy: BackoffPolicy;
  #connection: Connection | null = null;
  /** Bytes put on the wire, headers of restarted streams included. */
  bytesSent = 0;
  /** Units dropped because no connection could take them (gaps, congestion). */
  unitsDropped = 0;

  constructor(options: SenderOptions) {
    super();
    this.#options = options;
    this.#session = newSession();
    this.#policy = options.policy ?? DEFAULT_BACKOFF;
  }

  get connected(): boolean {
    return this.#connection !== null;
  }

  /**
   * The first dial: resolves once a receiver is there. A failure here is not redialed except the
   * kinds in `retry` (e.g. 'busy' while the other side of a duplex call is still switching roles).
   */
  async dial(retry: readonly PipeErrorKind[] = []): Promise<void> {
    const outage = new Outage(Date.now());
    for (;;) {
      try {
        this.#connection = await this.#open(0);
        this.emit('connected', 0);
        return;
      } catch (error) {
        if (!(error instanceof PipeError) || !retry.includes(error.kind)) throw error;
        const decision = decideRedial(outage.record(error, Date.now()), Math.random(), this.#policy);
        if (!decision.redial) throw error;
        await sleep(decision.delayMs, undefined, { signal: this.#options.signal });
      }
    }
  }

  /**
   * Streams `source` until it ends (resolves 'finished') or the call is cut for good. Call after
   * `dial()`. The source is read as it comes, never paused: a live capture must not back up.
   */
  async stream(source: Readable, restreamer: Restreamer<Unit>): Promise<SenderEnd> {
    const maxQueuedBytes = this.#options.maxQueuedBytes ?? 8_192;
    let lastRelayText = '';
    const onUnit = (unit: Unit): void => {
      const connection = this.#connection;
      if (connection === null || connection.request.stream.writableLength > maxQueuedBytes) {
        this.unitsDropped += 1;
        return;
      }
      const bytes = restreamer.bytesOf(unit);
      if (bytes === null) return;
      this.bytesSent += bytes.length;
      // got's request stream has a high-water mark of 0 (every write says "wait"), so the queue
      // length, not write()'s answer, tells a congested link from a working one.
      connection.request.stream.write(bytes, () => (connection.lastProgressAt = Date.now()));
    };
    const sourceEnded = once(source, 'end').then(
      () => ({ kind: 'end' as const }),
      (error: unknown) => ({ kind: 'error' as const, error }),
    );
    restreamer.restart();
    source.on('data', onUnit);
    try {
      for (;;) {
        const connection = this.#connection;
        if (connection === null) throw new Error('PipeSender.stream() before dial()');
        const outcome = await Promise.race([sourceEnded, connection.lost.then((reason) => ({ kind: 'lost' as const, reason }))]);
        if (outcome.kind === 'error') throw outcome.error;
        if (outcome.kind === 'end') return await this.#finish(connection);
        lastRelayText = connection.relayText;
        // A dead link never closes by itself: its socket would keep the process alive after the call.
        connection.request.stream.destroy();
        this.#connection = null;
        if (this.#options.signal.aborted) return { kind: 'cut', reason: 'hung up', relayText: lastRelayText };
        const reason = RECEIVER_LEFT.test(connection.relayText) ? 'the listener left' : outcome.reason;
        if (!this.#options.reconnect) return { kind: 'cut', reason, relayText: lastRelayText };
        const redialed = await this.#redial(reason, sourceEnded);
        if (redialed === null) return { kind: 'cut', reason, relayText: lastRelayText };
        restreamer.restart();
      }
    } finally {
      source.off('data', onUnit);
      this.#connection?.request.stream.destroy();
      this.#connection = null;
    }
  }

  /** Redials until connected (returns the gap) or until the policy, the hang-up or the source's end stops it (null). */
  async #redial(reason: string, sourceEnded: Promise<unknown>): Promise<number | null> {
    const outage = new Outage(Date.now());
    let failure: PipeError | 'lost' = 'lost';
    let ended = false;
    void sourceEnded.then(() => (ended = true));
    for (let attempt = 1; ; attempt++) {
      const decision = decideRedial(outage.record(failure, Date.now()), Math.random(), this.#policy);
      if (!decision.redial) throw new PipeError(failure === 'lost' ? 'aborted' : failure.kind, `${reason}; ${decision.reason}`);
      this.emit('lost', reason, decision.delayMs);
      await Promise.race([sleep(decision.delayMs, undefined, { signal: this.#options.signal }), sourceEnded]);
      if (ended) return null;
      try {
        // The source may end while we wait for a receiver: then there is nothing left to send.
        const opened = this.#open(attempt);
        const connection = await Promise.race([opened, sourceEnded.then(() => null)]);
        if (connection === null) {
          void opened.then((late) => late.request.stream.destroy(), () => undefined);
          return null;
        }
        this.#connection = connection;
        const gapMs = Date.now() - outage.startedAt;
        this.emit('connected', gapMs);
        return gapMs;
      } catch (error) {
        if (this.#options.signal.aborted) throw error;
        if (!(error instanceof PipeError)) throw error;
        failure = error;
        reason = error.message;
      }
    }
  }

  async #open(attempt: number): Promise<Connection> {
    this.emit('dialing', attempt);
    const request = openUpload(this.#options.url, this.#options.name, { signal: this.#options.signal, contentType: this.#options.contentType, session: this.#session });
    let response;
    try {
      response = await request.connected;
    } catch (error) {
      request.stream.destroy();
      throw error;
    }
    const connection: Connection = { request, relayText: '', lost: Promise.resolve(''), lastProgressAt: Date.now(), finishing: false };
    // A relay that promises a line every N ms (ours, to a sender with a session id): their absence is
    // how a dead link shows, long before our writes stop being taken.
    const heartbeatMs = Number(response.headers[HEARTBEAT_HEADER] ?? 0);
    let heardAt = Date.now();
    request.stream.on('data', (chunk: Buffer) => {
      heardAt = Date.now();
      if (connection.relayText.length < 4_096) connection.relayText += chunk.toString();
    });
    const lostAfterMs = this.#options.lostAfterMs ?? 5_000;
    const silentAfterMs = Math.max(lostAfterMs, 2 * heartbeatMs);
    (connection as { lost: Promise<string> }).lost = new Promise<string>((resolve) => {
      const checker = setInterval(() => {
        if (request.stream.writableLength > 0 && Date.now() - connection.lastProgressAt > lostAfterMs) {
          resolve(`nothing got through for ${Math.round(lostAfterMs / 1000)} s`);
        } else if (heartbeatMs > 0 && !connection.finishing && Date.now() - heardAt > silentAfterMs) {
          resolve(`nothing heard from the relay for ${Math.round(silentAfterMs / 1000)} s`);
        }
      }, 500);
      checker.unref();
      const done = (reason: string): void => {
        clearInterval(checker);
        resolve(reason);
      };
      request.stream.once('error', (error: Error) => done(`the connection dropped (${error.message})`));
      request.stream.once('end', () => {
        if (!connection.finishing) done('the relay ended the call');
      });
      request.stream.once('close', () => clearInterval(checker));
    });
    return connection;
  }

  /** The source ended: end this connection's body and wait for the relay to confirm. */
  async #finish(connection: Connection): Promise<SenderEnd> {
    connection.finishing = true;
    const ended = once(connection.request.stream, 'end').then(
      () => 'ok',
      () => 'error',
    );
    connection.request.stream.end();
    const how = await Promise.race([ended, connection.lost.then(() => 'lost')]);
    this.#connection = null;
    if (how === 'ok') return { kind: 'finished', relayText: connection.relayText };
    return { kind: 'cut', reason: 'the connection dropped as the call ended', relayText: connection.relayText };
  }
}
