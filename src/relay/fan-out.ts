import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';

/**
 * Writes one sender's bytes to several receivers (`?n=K`) with backpressure: the next chunk is taken only
 * when every receiver has drained, so the slowest receiver paces the pipe and memory stays bounded.
 * A receiver that leaves is dropped; when the last one leaves the stream fails, which ends the sender.
 * Destroying the fan-out (the sender aborted) destroys every receiver, so none sees a clean end.
 */
export class FanOut extends Writable {
  readonly #targets = new Set<ServerResponse>();
  readonly #onTargetLost: (remaining: number) => void;

  constructor(targets: readonly ServerResponse[], onTargetLost: (remaining: number) => void) {
    super({ highWaterMark: 0 });
    this.#onTargetLost = onTargetLost;
    for (const target of targets) {
      this.#targets.add(target);
      target.once('close', () => {
        if (target.writableFinished || !this.#targets.delete(target)) return;
        this.#onTargetLost(this.#targets.size);
        if (this.#targets.size === 0) this.destroy(new Error('every receiver left'));
      });
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let waiting = 1;
    const settle = (): void => {
      waiting -= 1;
      if (waiting === 0) callback();
    };
    for (const target of this.#targets) {
      if (!target.write(chunk)) {
        waiting += 1;
        onceDrainedOrClosed(target, settle);
      }
    }
    settle();
  }

  override _final(callback: (error?: Error | null) => void): void {
    let waiting = 1;
    const settle = (): void => {
      waiting -= 1;
      if (waiting === 0) callback();
    };
    for (const target of this.#targets) {
      waiting += 1;
      target.end(settle);
    }
    settle();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const target of this.#targets) {
      if (!target.writableFinished) target.destroy();
    }
    this.#targets.clear();
    callback(error);
  }
}

function onceDrainedOrClosed(target: ServerResponse, done: () => void): void {
  const finish = (): void => {
    target.off('drain', finish);
    target.off('close', finish);
    done();
  };
  target.once('drain', finish);
  target.once('close', finish);
}
