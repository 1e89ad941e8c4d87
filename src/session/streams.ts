import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes a stream on and holds back its end until `endsCleanly` settles: ffmpeg's stdout ends the
 * same way whether ffmpeg finished or crashed, and only a clean finish may end the upload cleanly.
 * A crash fails the stream instead, so the listener sees an aborted call, not a hang-up.
 */
export class HeldEnd extends Transform {
  readonly #endsCleanly: () => Promise<Error | undefined>;

  constructor(endsCleanly: () => Promise<Error | undefined>) {
    super();
    this.#endsCleanly = endsCleanly;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#endsCleanly().then((error) => callback(error ?? null), callback);
  }
}

/**
 * Audio on stdin keeps coming while the talker waits for a listener. Keeping it would send that
 * backlog first and the listener would hear everything late for the whole call; so it is read and
 * dropped until `open()`, then passed on from the next whole sample frame.
 */
export class WaitingGate extends Transform {
  #open = false;
  #aligned = false;
  #seen = 0;
  readonly #frameBytes: number;

  constructor(frameBytes: number) {
    super();
    this.#frameBytes = Math.max(1, frameBytes);
  }

  open(): void {
    this.#open = true;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const seenBefore = this.#seen;
    this.#seen += chunk.length;
    if (!this.#open) return callback();
    if (this.#aligned) return callback(null, chunk);
    // The first chunk after opening may start mid-frame: skip to the next frame boundary.
    const skip = (this.#frameBytes - (seenBefore % this.#frameBytes)) % this.#frameBytes;
    if (skip >= chunk.length && skip > 0) return callback();
    this.#aligned = true;
    callback(null, chunk.subarray(skip));
  }
}
