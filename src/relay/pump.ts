/**
 * The byte path of one pipe: a sender's bytes (an HTTP body or a talker's WebSocket messages) to one or
 * more receivers' responses, with memory bounded by what it really costs.
 *
 * - A chunk is written to the receivers at once, as stream.pipe would, unless a turn of the event loop
 *   brought more than a few small ones (one socket read can hold thousands): the rest of those wait
 *   for the end of the turn and go out as one write per receiver.
 * - While a receiver is not taking bytes, they queue in a ChunkQueue (small chunks copied into blocks).
 *   What the pipe holds (its queue plus what Node buffers for its slowest receiver) is counted; at
 *   `pipeBudget`, or at PIPE_MIN_SHARE once the relay-wide budget is spent, the sender is held back:
 *   the relay stops reading its socket, so TCP holds its bytes, not the relay. At most one socket read
 *   more arrives after that (what the parser already has). Reading resumes below half the budget.
 * - Before the receivers come (a waiting sender), the same queue holds what the sender sends early,
 *   up to the same budget; `connect` flushes it to them first.
 * - The slowest receiver paces the pipe. A receiver that leaves is dropped; the last one leaving, the
 *   sender aborting, or `abort()` ends the pipe, and receivers are destroyed (an incomplete body, never
 *   a clean end) unless the sender's body ended cleanly.
 */
import type { ServerResponse } from 'node:http';
import { ChunkQueue, isKept } from './chunk-queue.js';

/** A sender's body, as the pump reads it. */
export interface ByteSource {
  /** Delivers chunks, then `end` once the body is complete, or `abort` if it breaks. Called once. */
  start(handlers: SourceHandlers): void;
  /** Stops reading from the network. What the parser already read may still arrive. */
  pause(): void;
  resume(): void;
  /**
   * Writes something harmless to the sender (an interim `100 Continue`, a WebSocket ping), so that a
   * connection whose peer is gone fails on a write: a paused socket never reads the peer's FIN. False
   * when this sender cannot be probed (HTTP/1.0 has no interim responses, or it is already answered).
   */
  probe(): boolean;
  /** No more chunks are wanted: what arrives from now on is read and dropped. */
  stop(): void;
}

export interface SourceHandlers {
  chunk(chunk: Buffer): void;
  end(): void;
  abort(error: Error): void;
}

/** How a pipe's pump ended. */
export type PumpEnd =
  /** The sender's body ended and every remaining receiver got all of it and a clean end. */
  | 'done'
  /** The sender's body broke or its connection went; the receivers were destroyed. */
  | 'sender-aborted'
  /** Every receiver left; the sender is the handler's to tell and close. */
  | 'receivers-left';

export interface PumpEvents {
  /** Bytes written to the receivers (each byte once, however many receivers). */
  delivered(bytes: number): void;
  /** A receiver left and others remain. */
  receiverLeft(remaining: number): void;
  /** Once, when the pump is over (not called after `abort()`). */
  ended(how: PumpEnd): void;
}

/** What every pump may hold even when the relay-wide budget is spent: a live call keeps moving. */
export const PIPE_MIN_SHARE = 16 * 1024;

/**
 * Chunks shorter than this cost the relay what a large one costs (parsing, a Buffer, an event: about a
 * microsecond), for almost no bytes: a sender of 1-byte chunks makes the relay do a million times the
 * work per byte of one writing 64 KiB chunks. A call sends one Ogg page (100-400 bytes) every 20 ms.
 */
export const SMALL_CHUNK = 512;
/**
 * Small chunks a pipe may pass per second (and in a burst) before its sender is held back until the
 * second is over: 40 times what a call sends, and a flood of 1-byte chunks from a whole address's
 * worth of pipes stays within a few percent of a core. Large chunks are not counted.
 */
export const SMALL_CHUNKS_PER_SECOND = 2_000;

/**
 * Small chunks a turn of the event loop writes through one by one before the rest of that turn's are
 * gathered into one write: a socket read of a bulk upload has a few (the ends of chunks cut by the
 * read), a flood of tiny chunks thousands.
 */
const DIRECT_SMALL_WRITES = 8;

/** The relay-wide count of bytes all pumps hold, against its budget. */
export class RelayBuffer {
  readonly limit: number;
  #held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  get spent(): boolean {
    return this.#held >= this.limit;
  }

  add(delta: number): void {
    this.#held += delta;
  }
}

export class Pump {
  readonly #source: ByteSource;
  readonly #budget: number;
  readonly #relay: RelayBuffer;
  readonly #queue = new ChunkQueue();
  readonly #sinks = new Set<ServerResponse>();
  /** Sinks waiting for 'drain'; the pipe writes again once none is. */
  readonly #blocked = new Set<ServerResponse>();
  #events: PumpEvents | undefined;
  #connected = false;
  #sourceEnded = false;
  #sourceError: Error | undefined;
  /** The receivers' responses have been ended; how many have not finished yet. */
  #ending = false;
  #finishing = 0;
  #flushScheduled = false;
  /** Small chunks written straight through in this turn; past DIRECT_SMALL_WRITES they wait for the flush. */
  #smallWritesThisTurn = 0;
  /** Why the sender is held back: its buffer is full, or it sent small chunks too fast. */
  #heldForBuffer = false;
  #heldForRate = false;
  #sourcePaused = false;
  #smallChunkTokens = SMALL_CHUNKS_PER_SECOND;
  #tokensAt = Date.now();
  #rateTimer: NodeJS.Timeout | undefined;
  #over = false;
  /** What this pump last counted into the relay-wide buffer. */
  #accounted = 0;

  constructor(source: ByteSource, budget: number, relay: RelayBuffer) {
    this.#source = source;
    this.#budget = budget;
    this.#relay = relay;
    source.start({
      chunk: (chunk) => {
        if (this.#over) return;
        if (chunk.length < SMALL_CHUNK) this.#spendSmallChunk();
        // Chunks go out at once, as stream.pipe would write them, while the receivers take them; only
        // when a turn brings more than a few small ones (a flood of tiny chunks) do the rest wait for
        // the end of the turn, to go out as one write.
        const kept = isKept(chunk);
        if (this.#connected && this.#blocked.size === 0 && this.#queue.isEmpty && (kept || this.#smallWritesThisTurn < DIRECT_SMALL_WRITES)) {
          if (!kept) this.#smallWritesThisTurn += 1;
          this.#write([chunk]);
          this.#account();
        } else this.#queue.push(chunk);
        this.#scheduleFlush();
      },
      end: () => {
        if (this.#over) return;
        this.#sourceEnded = true;
        this.#scheduleFlush();
      },
      abort: (error) => {
        if (this.#over) return;
        this.#sourceError = error;
        if (this.#connected) this.#finish('sender-aborted');
      },
    });
  }

  /** The sender is held back (its socket not read): from a waiting sender, its FIN goes unseen. */
  get paused(): boolean {
    return this.#sourcePaused;
  }

  /** Bytes this pipe holds now, as counted against the budgets. */
  get held(): number {
    return this.#accounted;
  }

  /** The sender's body is complete and waiting in the queue (or was delivered). */
  get sourceEnded(): boolean {
    return this.#sourceEnded;
  }

  /** See `ByteSource.probe`: only useful while the sender is held back (`paused`). */
  probe(): boolean {
    return !this.#over && this.#source.probe();
  }

  /** Starts delivering to the receivers, the early bytes first. */
  connect(sinks: readonly ServerResponse[], events: PumpEvents): void {
    if (this.#over || this.#connected) return;
    this.#connected = true;
    this.#events = events;
    for (const sink of sinks) {
      this.#sinks.add(sink);
      sink.once('close', () => this.#lost(sink));
    }
    if (this.#sourceError !== undefined) return this.#finish('sender-aborted');
    this.#scheduleFlush();
  }

  /** Ends the pump without a clean end: receivers are destroyed, the sender is no longer read. */
  abort(): void {
    if (this.#over) return;
    this.#stop();
    for (const sink of this.#sinks) if (!sink.writableFinished) sink.destroy();
  }

  /** Ends the pump of a sender that never connected (it left, was refused or replaced). */
  release(): void {
    if (!this.#over) this.#stop();
  }

  #stop(): void {
    this.#over = true;
    clearTimeout(this.#rateTimer);
    this.#queue.drain();
    this.#relay.add(-this.#accounted);
    this.#accounted = 0;
    this.#source.stop();
  }

  /**
   * Writes happen once per turn of the event loop, after its I/O: Node's parser hands each chunk of a
   * socket read over in a callback of its own, with process.nextTick run after each, so only
   * setImmediate gathers all the chunks of a read (of all reads of the turn) into one write.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flush);
  }

  /** Writes to every receiver; a receiver that cannot take more blocks the pipe until it drains. */
  #write(chunks: readonly Buffer[]): void {
    let bytes = 0;
    for (const chunk of chunks) {
      bytes += chunk.length;
      for (const sink of this.#sinks) sink.write(chunk);
    }
    for (const sink of this.#sinks) if (sink.writableNeedDrain) this.#waitForDrain(sink);
    this.#events?.delivered(bytes);
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    this.#smallWritesThisTurn = 0;
    if (this.#over) return;
    if (this.#connected && this.#blocked.size === 0 && !this.#queue.isEmpty) this.#write(this.#queue.drain());
    else this.#queue.compact();
    this.#account();
    if (this.#connected && this.#sourceEnded && this.#queue.isEmpty && !this.#ending) this.#endSinks();
  };

  #waitForDrain(sink: ServerResponse): void {
    if (this.#blocked.has(sink)) return;
    this.#blocked.add(sink);
    sink.once('drain', () => {
      this.#blocked.delete(sink);
      if (this.#blocked.size === 0) this.#scheduleFlush();
    });
  }

  /** Counts what the pipe holds, and holds the sender back or lets it go on. */
  #account(): void {
    let backlog = 0;
    for (const sink of this.#sinks) backlog = Math.max(backlog, sink.writableLength);
    const held = this.#queue.cost + backlog;
    this.#relay.add(held - this.#accounted);
    this.#accounted = held;
    const limit = this.#relay.spent ? Math.min(this.#budget, PIPE_MIN_SHARE) : this.#budget;
    if (!this.#heldForBuffer && held >= limit) this.#heldForBuffer = true;
    else if (this.#heldForBuffer && held < limit / 2) this.#heldForBuffer = false;
    this.#applyHold();
  }

  /** A token bucket of SMALL_CHUNKS_PER_SECOND: when it runs dry, the sender waits for it to refill. */
  #spendSmallChunk(): void {
    const now = Date.now();
    this.#smallChunkTokens = Math.min(SMALL_CHUNKS_PER_SECOND, this.#smallChunkTokens + ((now - this.#tokensAt) * SMALL_CHUNKS_PER_SECOND) / 1000);
    this.#tokensAt = now;
    this.#smallChunkTokens -= 1;
    if (this.#smallChunkTokens >= 0 || this.#heldForRate) return;
    this.#heldForRate = true;
    this.#applyHold();
    // A read already parsed may overdraw the bucket by thousands: wait until it is back above zero.
    const waitMs = Math.ceil((-this.#smallChunkTokens * 1000) / SMALL_CHUNKS_PER_SECOND) + 1;
    this.#rateTimer = setTimeout(() => {
      this.#heldForRate = false;
      this.#applyHold();
    }, waitMs);
    this.#rateTimer.unref();
  }

  #applyHold(): void {
    const hold = this.#heldForBuffer || this.#heldForRate;
    if (hold === this.#sourcePaused || this.#over) return;
    this.#sourcePaused = hold;
    if (hold) this.#source.pause();
    else this.#source.resume();
  }

  #endSinks(): void {
    this.#ending = true;
    this.#finishing = this.#sinks.size;
    for (const sink of [...this.#sinks]) {
      sink.end(() => {
        this.#finishing -= 1;
        if (this.#finishing === 0) this.#finish('done');
      });
    }
  }

  #lost(sink: ServerResponse): void {
    if (this.#over || sink.writableFinished || !this.#sinks.delete(sink)) return;
    this.#blocked.delete(sink);
    if (this.#sinks.size === 0) return this.#finish('receivers-left');
    this.#events?.receiverLeft(this.#sinks.size);
    if (this.#ending) {
      // Its end callback will not come; the others may all have finished already.
      this.#finishing -= 1;
      if (this.#finishing === 0) this.#finish('done');
    } else if (this.#blocked.size === 0) this.#scheduleFlush();
  }

  #finish(how: PumpEnd): void {
    if (this.#over) return;
    if (how === 'done' && this.#sinks.size === 0) how = 'receivers-left';
    const events = this.#events;
    this.#stop();
    if (how !== 'done') for (const sink of this.#sinks) if (!sink.writableFinished) sink.destroy();
    events?.ended(how);
  }
}
