import { setTimeout as sleep } from 'node:timers/promises';
import { type BackoffPolicy, decideRedial, DEFAULT_BACKOFF, Outage } from './backoff.js';
import { PipeError } from './errors.js';

/** One dial of a series; tell it how the dial failed, and the series decides whether there is another. */
export interface Attempt {
  /** 0 for the first dial, then 1, 2 … */
  readonly number: number;
  /** The dial failed (or its connection was lost: kind `lost`); another may follow. */
  failed(failure: PipeError): void;
}

export interface RedialOptions {
  readonly policy?: BackoffPolicy | undefined;
  /** Aborting ends the series at once, also while it waits. */
  readonly signal: AbortSignal;
  /** Told before each wait: why, and for how long. */
  readonly onWait?: ((reason: string, delayMs: number) => void) | undefined;
  /** The clock and the randomness, injectable for tests. */
  readonly now?: (() => number) | undefined;
  readonly random?: (() => number) | undefined;
}

/**
 * The one redial loop every dialer uses (talker and listener, first dial and reconnects): an async
 * iterator of attempts. The caller dials, and on a failure worth another try calls
 * `attempt.failed(why)`; the iterator then waits the policy's backoff (capped, jittered) and yields
 * the next attempt, or throws a PipeError that says it gave up. Leaving the loop (`break`, `return`)
 * ends the series. The first attempt comes at once.
 *
 * ```ts
 * for await (const attempt of redials({ signal })) {
 *   try { return await dial(); } catch (error) { if (!worthRetrying(error)) throw error; attempt.failed(error); }
 * }
 * ```
 */
export async function* redials(options: RedialOptions): AsyncGenerator<Attempt, void, undefined> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const policy = options.policy ?? DEFAULT_BACKOFF;
  const outage = new Outage(now());
  for (let number = 0; ; number++) {
    let failure: PipeError | undefined;
    yield {
      number,
      failed: (why) => {
        failure = why;
      },
    };
    if (failure === undefined) return;
    const decision = decideRedial(outage.record(failure, now()), random(), policy);
    if (!decision.redial) {
      throw new PipeError(failure.kind, `${failure.message}; ${decision.reason}`, { status: failure.status, cause: failure });
    }
    options.onWait?.(failure.message, decision.delayMs);
    await sleep(decision.delayMs, undefined, { signal: options.signal });
  }
}
