/**
 * Where a sealed call's format meets the byte paths: the talker seals what its restreamer sends, one
 * record per send, with a fresh salt per connection; the listener opens each connection's records
 * before anything else sees them (catch-up, playout, --record), and nothing it cannot authenticate
 * goes on. Both use node:crypto, synchronously (node-sealer.ts); the page uses WebCrypto.
 */
import { Transform } from 'node:stream';
import { SealError, type SealedCall, type SealFailure } from '../wire.js';
import { NodeSealer, NodeUnsealer } from './node-sealer.js';
import { ContentError } from './receiver.js';
import type { Restreamer } from './sender.js';

/** Seals another restreamer's bytes: `restart()` (a new connection) starts a new salt and header. */
export class SealingRestreamer<Unit> implements Restreamer<Unit> {
  readonly #inner: Restreamer<Unit>;
  readonly #call: SealedCall;
  /** This connection's; made on its first bytes (the sender restarts before a connection's first unit). */
  #sealer: NodeSealer | null = null;

  constructor(inner: Restreamer<Unit>, call: SealedCall) {
    this.#inner = inner;
    this.#call = call;
  }

  restart(): void {
    this.#inner.restart();
    this.#sealer = null;
  }

  bytesOf(unit: Unit): Uint8Array | null | Promise<Uint8Array | null> {
    const bytes = this.#inner.bytesOf(unit);
    if (bytes === null) return null;
    const sealer = (this.#sealer ??= new NodeSealer(this.#call));
    // Sealed at once, in the order of the calls; a promise only when the inner restreamer gives one.
    if (bytes instanceof Promise) return bytes.then((plain) => (plain === null ? null : sealer.seal(plain)));
    return sealer.seal(bytes);
  }
}

/** A sealed stream that cannot be authenticated: it ends the call (a content failure, not a lost link). */
export class UnsealedError extends ContentError {
  override readonly name = 'UnsealedError';
  readonly failure: SealFailure;

  constructor(failure: SealFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
  }
}

/** One connection's sealed bytes in, its authenticated plaintext (whole Ogg pages) out. */
export function unsealing(call: SealedCall, name: string): Transform {
  const unsealer = new NodeUnsealer(call);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      let plaintexts: Buffer[];
      try {
        plaintexts = unsealer.push(chunk);
      } catch (error) {
        callback(error instanceof SealError ? new UnsealedError(error.failure, unsealedLine(error, name), { cause: error }) : (error as Error));
        return;
      }
      for (const plaintext of plaintexts) this.push(plaintext);
      callback();
    },
  });
}

/** The one line a listener says. */
function unsealedLine(error: SealError, name: string): string {
  switch (error.failure) {
    case 'not-sealed':
      return `${name} does not carry a sealed call: nothing was played (a plain talker on this pipe, or not a hoodycall stream)`;
    case 'wrong-code':
      return 'the talker sealed this call with another code: nothing was played (check the code)';
    case 'tampered':
      return `the sealed stream's ${error.message}; nothing after it was played`;
  }
}
