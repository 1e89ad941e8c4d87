import { EventEmitter, once } from 'node:events';
import type { Readable } from 'node:stream';
import { type BackoffPolicy, dialUpload, newSession, PipeError, type PipeErrorKind, redials, type Upload } from '../client/index.js';
import { LOST_AFTER_MS, silenceText, watchLink } from './watchdog.js';

/**
 * Turns the units of a live source (Ogg pages) into the bytes of the current connection. Each
 * connection must be a stream a decoder can start on, so `restart` is called before the first unit
 * of every connection.
 */
export interface Restreamer<Unit> {
  restart(): void;
  /**
   * The bytes to send for `unit`, or null to send nothing for it (e.g. a page that cannot start a
   * stream). A promise (bytes not ready yet) is sent when it settles, in the order of the calls.
   */
  bytesOf(unit: Unit): Uint8Array | null | Promise<Uint8Array | null>;
}

export interface SenderOptions {
  readonly url: URL;
  readonly name: string;
  readonly contentType: string;
  /** Aborting cancels a dial, or a redial's wait, at once. To end a call cleanly, end the source. */
  readonly signal: AbortSignal;
  /** Redial the same name when the connection is lost. */
  readonly reconnect: boolean;
  readonly policy?: BackoffPolicy | undefined;
  /** A connection silent (or stuck) this long is lost; default LOST_AFTER_MS. */
  readonly lostAfterMs?: number | undefined;
  /** Never queue more than this in user space (8 KiB ≈ 2 s of a call): beyond it, live units are dropped. */
  readonly maxQueuedBytes?: number | undefined;
  /** How long a dial waits for the listener, s (`?wait=`). */
  readonly waitSeconds?: number | undefined;
}

export interface SenderEvents {
  /** Dialing; `attempt` 0 is the first dial. */
  dialing: [attempt: number];
  /** A receiver is there: the bytes flow. `gapMs` is how long the call was down (0 the first time). */
  connected: [gapMs: number];
  /** The connection was lost; a redial follows in `delayMs` (only with `reconnect`). */
  lost: [reason: string, delayMs: number];
  /**
   * The relay reported how much of this connection's body it has taken (hoodycall's relay, every 2 s to
   * a sender with a session id): `bytes` written but not yet there, that as audio time, and the share
   * of what we wrote since the last report that the relay took in that time (1: the link keeps up).
   */
  backlog: [bytes: number, ms: number, carried: number];
}

/** How a sender's call ended, as data. */
export type SenderEnd =
  /** The source ended and the relay took the last bytes. */
  | { readonly kind: 'finished' }
  /** The relay said the receiver left: the listener hung up. */
  | { readonly kind: 'listener-left' }
  /** We hung up while no connection was up (during a redial). */
  | { readonly kind: 'hung-up' }
  /** The connection was lost and not redialed (or the redials gave up). */
  | { readonly kind: 'lost'; readonly error: PipeError };

/** The window over which the body's rate is measured, ms. */
const RATE_WINDOW_MS = 5_000;

/** How long a finished upload waits for the relay's confirmation (the end of its response). */
const FINISH_CONFIRM_MS = 10_000;

/** One connection to the relay. */
interface Connection {
  readonly upload: Upload;
  /** Settles with why, when the connection is lost before we ended it. */
  readonly lost: Promise<PipeError>;
  /** When a write last reached the socket. */
  lastProgressAt: number;
  /** We ended the body: the response's end is the relay's confirmation, not a loss. */
  finishing: boolean;
  /** Body bytes written on this connection. */
  bodyBytes: number;
  /** Gives the connection up on purpose (its queue is not worth sending): as if it were lost. */
  abandon(reason: string): void;
  /** Settles when the bytes asked for so far (promises from the restreamer) are written, in order. */
  written: Promise<void>;
}

/**
 * The sending side of a call, across reconnects: dials the pipe, streams a live source into it, and
 * when the connection is lost dials again with capped, jittered backoff while the source keeps
 * running (what is said during the gap is dropped: a call is live, not a recording).
 */
export class PipeSender<Unit> extends EventEmitter<SenderEvents> {
  readonly #options: SenderOptions;
  /** Sent on every dial of this call, so a redial replaces a connection the relay still holds. */
  readonly #session = newSession();
  #connection: Connection | null = null;
  /** Bytes put on the wire, headers of restarted streams included. */
  bytesSent = 0;
  /** Units dropped because no connection could take them (gaps, congestion). */
  unitsDropped = 0;
  /** (when, bytes written so far) over the last few seconds: the body's rate, to turn bytes into time. */
  readonly #written: { at: number; total: number }[] = [];

  constructor(options: SenderOptions) {
    super();
    this.#options = options;
  }

  get connected(): boolean {
    return this.#connection !== null;
  }

  /**
   * The first dial: resolves once a receiver is there. A failure here is not redialed except the
   * kinds in `retry` (e.g. 'busy' while the other side of a duplex call is still switching roles).
   */
  async dial(retry: readonly PipeErrorKind[] = []): Promise<void> {
    for await (const attempt of redials({ policy: this.#options.policy, signal: this.#options.signal })) {
      try {
        this.#connection = await this.#open(attempt.number);
        this.emit('connected', 0);
        return;
      } catch (error) {
        if (!(error instanceof PipeError) || !retry.includes(error.kind)) throw error;
        attempt.failed(error);
      }
    }
  }

  /**
   * Streams `source` until it ends (resolves 'finished') or the call is over. Call after `dial()`.
   * The source is read as it comes, never paused: a live capture must not back up.
   */
  async stream(source: Readable, restreamer: Restreamer<Unit>): Promise<SenderEnd> {
    const maxQueuedBytes = this.#options.maxQueuedBytes ?? 8_192;
    const onUnit = (unit: Unit): void => {
      const connection = this.#connection;
      if (connection === null || connection.upload.stream.writableLength > maxQueuedBytes) {
        this.unitsDropped += 1;
        return;
      }
      const bytes = restreamer.bytesOf(unit);
      if (bytes === null) return;
      if (bytes instanceof Promise) {
        // Chained: records go out in the order they were sealed, whatever order WebCrypto finishes in.
        connection.written = connection.written.then(() => bytes).then(
          (ready) => {
            if (ready !== null) this.#write(connection, ready);
          },
          (error: unknown) => connection.abandon(`the stream could not be sealed (${(error as Error).message})`),
        );
        return;
      }
      this.#write(connection, bytes);
    };
    const sourceDone = new AbortController();
    const sourceEnded = once(source, 'end').then(
      () => ({ kind: 'end' as const }),
      (error: unknown) => ({ kind: 'error' as const, error }),
    );
    void sourceEnded.then(() => sourceDone.abort());
    restreamer.restart();
    source.on('data', onUnit);
    try {
      for (;;) {
        const connection = this.#connection;
        if (connection === null) throw new Error('PipeSender.stream() before dial()');
        const outcome = await Promise.race([sourceEnded, connection.lost.then((error) => ({ kind: 'lost' as const, error }))]);
        if (outcome.kind === 'error') throw outcome.error;
        if (outcome.kind === 'end') return await this.#finish(connection);
        this.#drop(connection);
        // The relay said the receiver left: the listener hung up, whatever else we would do.
        if (connection.upload.status.receiversLeft) return { kind: 'listener-left' };
        if (this.#options.signal.aborted) return { kind: 'hung-up' };
        if (!this.#options.reconnect) return { kind: 'lost', error: outcome.error };
        const redialed = await this.#redial(outcome.error, sourceDone.signal);
        if (redialed !== null) return redialed;
        restreamer.restart();
      }
    } finally {
      source.off('data', onUnit);
      if (this.#connection !== null) this.#drop(this.#connection);
    }
  }

  /**
   * Drops the current connection and dials again at once (with `reconnect`): what is queued on the way
   * to the relay, in our socket and the kernel's, is given up. A talker stepping down its send ladder
   * does this, so the listener hears the lower rung live instead of the backlog at the old one.
   */
  abandonConnection(reason: string): void {
    this.#connection?.abandon(reason);
  }

  #write(connection: Connection, bytes: Uint8Array): void {
    // A connection given up while a sealed record was on its way takes nothing more.
    if (connection.upload.stream.destroyed) return;
    this.bytesSent += bytes.length;
    connection.bodyBytes += bytes.length;
    this.#noteWritten();
    // got's request stream has a high-water mark of 0 (every write says "wait"), so the queue
    // length, not write()'s answer, tells a congested link from a working one.
    connection.upload.stream.write(bytes, () => (connection.lastProgressAt = Date.now()));
  }

  #noteWritten(): void {
    const now = Date.now();
    this.#written.push({ at: now, total: this.bytesSent });
    while (this.#written.length > 2 && now - (this.#written[0]?.at ?? now) > RATE_WINDOW_MS) this.#written.shift();
  }

  /** Bytes written per ms lately; 0 before there is a window to measure. */
  #bytesPerMs(): number {
    const first = this.#written[0];
    const last = this.#written.at(-1);
    if (first === undefined || last === undefined || last.at - first.at < 1_000) return 0;
    return (last.total - first.total) / (last.at - first.at);
  }

  /** Redials until connected (null) or until the policy, the hang-up or the source's end says the call is over. */
  async #redial(loss: PipeError, sourceDone: AbortSignal): Promise<SenderEnd | null> {
    const stop = AbortSignal.any([this.#options.signal, sourceDone]);
    const startedAt = Date.now();
    try {
      for await (const attempt of redials({ policy: this.#options.policy, signal: stop, onWait: (reason, delayMs) => this.emit('lost', reason, delayMs) })) {
        // The loss itself is the first failure: the series waits its backoff before the first redial.
        if (attempt.number === 0) {
          attempt.failed(loss);
          continue;
        }
        try {
          // The connection outlives this wait, so it takes the hang-up signal, not `stop`; a source
          // that ends while it dials leaves it unused.
          const opening = this.#open(attempt.number);
          const opened = await Promise.race([opening, whenAborted(sourceDone).then(() => null)]);
          if (opened === null) {
            void opening.then((late) => this.#drop(late), () => undefined);
            break;
          }
          this.#connection = opened;
          this.emit('connected', Date.now() - startedAt);
          return null;
        } catch (error) {
          if (!(error instanceof PipeError)) throw error;
          attempt.failed(error);
        }
      }
    } catch (error) {
      if (this.#options.signal.aborted) return { kind: 'hung-up' };
      // The source ended while the call was down: nothing is left to send, and the listener missed its end.
      if (sourceDone.aborted) return { kind: 'lost', error: loss };
      if (error instanceof PipeError) return { kind: 'lost', error };
      throw error;
    }
    // The source ended while the call was down.
    if (this.#options.signal.aborted) return { kind: 'hung-up' };
    return { kind: 'lost', error: loss };
  }

  async #open(attempt: number): Promise<Connection> {
    this.emit('dialing', attempt);
    const upload = await dialUpload(this.#options.url, this.#options.name, {
      signal: this.#options.signal,
      contentType: this.#options.contentType,
      session: this.#session,
      waitSeconds: this.#options.waitSeconds,
    });
    const lostAfterMs = this.#options.lostAfterMs ?? LOST_AFTER_MS;
    // A relay that promises a line every N ms (ours, to a sender with a session id): their absence is
    // how a dead link shows, long before our writes stop being taken.
    const silentAfterMs = Math.max(lostAfterMs, 2 * upload.heartbeatMs);
    const connection: Connection = { upload, lastProgressAt: Date.now(), finishing: false, bodyBytes: 0, lost: Promise.resolve(new PipeError('lost', '')), abandon: () => undefined, written: Promise.resolve() };
    const { stream, status } = upload;
    let lastReport = { relayed: 0, written: 0 };
    status.on('line', (line) => {
      if (line.kind !== 'progress') return;
      const bytes = Math.max(0, connection.bodyBytes - line.bytes);
      const rate = this.#bytesPerMs();
      const wrote = connection.bodyBytes - lastReport.written;
      const carried = wrote <= 0 ? 1 : Math.min(1, Math.max(0, line.bytes - lastReport.relayed) / wrote);
      lastReport = { relayed: line.bytes, written: connection.bodyBytes };
      if (rate > 0) this.emit('backlog', bytes, bytes / rate, carried);
    });
    (connection as { lost: Promise<PipeError> }).lost = new Promise<PipeError>((resolve) => {
      connection.abandon = (reason) => resolve(new PipeError('lost', reason));
      const watchdog = watchLink(
        () => {
          if (stream.writableLength > 0 && Date.now() - connection.lastProgressAt > lostAfterMs) return `nothing got through for ${silenceText(lostAfterMs)}`;
          if (upload.heartbeatMs > 0 && !connection.finishing && Date.now() - status.heardAt > silentAfterMs) {
            return `nothing heard from the relay for ${silenceText(silentAfterMs)}`;
          }
          return null;
        },
        (reason) => resolve(new PipeError('lost', reason)),
      );
      const done = (reason: string): void => {
        watchdog.stop();
        resolve(new PipeError('lost', reason));
      };
      stream.once('error', (error: Error) => done(`the connection dropped (${error.message})`));
      stream.once('end', () => {
        if (connection.finishing) return;
        const failure = status.failure;
        done(failure !== null && 'reason' in failure ? `the relay ended the call (${failure.reason})` : 'the relay ended the call');
      });
      stream.once('close', () => watchdog.stop());
    });
    return connection;
  }

  /** A connection that is over: its socket must not keep the process alive after the call. */
  #drop(connection: Connection): void {
    if (this.#connection === connection) this.#connection = null;
    connection.upload.stream.destroy();
  }

  /** The source ended: end this connection's body and wait for the relay to confirm. */
  async #finish(connection: Connection): Promise<SenderEnd> {
    connection.finishing = true;
    // The last sealed records first: the body ends after them.
    await connection.written;
    const ended = once(connection.upload.stream, 'end').then(
      () => 'ok' as const,
      () => 'error' as const,
    );
    connection.upload.stream.end();
    // A relay that never confirms must not hold a finished call open: our last bytes are on their way.
    const unconfirmed = new Promise<'ok'>((resolve) => setTimeout(() => resolve('ok'), FINISH_CONFIRM_MS).unref());
    const how = await Promise.race([ended, connection.lost.then((error) => error), unconfirmed]);
    this.#drop(connection);
    if (how === 'ok') return { kind: 'finished' };
    if (connection.upload.status.receiversLeft) return { kind: 'listener-left' };
    return { kind: 'lost', error: how === 'error' ? new PipeError('lost', 'the connection dropped as the call ended') : how };
  }
}

/** Resolves when `signal` aborts (at once if it has). */
function whenAborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : once(signal, 'abort').then(() => undefined);
}
