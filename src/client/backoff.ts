import type { PipeError, PipeErrorKind } from './errors.js';

/**
 * When and whether to dial again after a call's connection was lost. Pure: the caller owns the clock
 * and the randomness, so the schedule is tested exactly.
 *
 * The numbers are chosen for a voice call: the first retry comes fast (a relay restart or a blip
 * is over in well under a second), the cap stays short (a person waits on the other end, and the
 * other side keeps dialing too), and jitter keeps two clients that lost the same relay from hitting
 * it in lockstep.
 */
export interface BackoffPolicy {
  readonly firstDelayMs: number;
  readonly factor: number;
  readonly maxDelayMs: number;
  /** ± this fraction of each delay, drawn uniformly. */
  readonly jitter: number;
  /** Stop dialing when the call has been down this long. */
  readonly giveUpAfterMs: number;
  /**
   * How many answers of each kind in a row end the redialing: a pipe that stays busy is someone
   * else's, and a hold that passes means the other side is not coming back.
   */
  readonly maxInARow: Readonly<Partial<Record<PipeErrorKind, number>>>;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  firstDelayMs: 250,
  factor: 2,
  maxDelayMs: 5_000,
  jitter: 0.2,
  giveUpAfterMs: 5 * 60_000,
  // busy: in a duplex call the other side may still be switching roles (our own dead connection is
  // replaced by the relay, see SESSION_HEADER); 408: one hold (5 min) already passed while redialing.
  // What will not change by dialing again ends at once.
  maxInARow: { busy: 5, 'nobody-came': 1, 'untrusted-certificate': 0, refused: 0, 'not-a-pipe': 0, redirected: 0 },
};

/** The delay before attempt `attempt` (1 = the first redial); `random` is uniform in [0, 1). */
export function backoffDelay(attempt: number, random: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const base = Math.min(policy.maxDelayMs, policy.firstDelayMs * policy.factor ** Math.max(0, attempt - 1));
  const spread = base * policy.jitter * (2 * random - 1);
  return Math.max(0, Math.round(base + spread));
}

export type RedialDecision = { readonly redial: true; readonly delayMs: number } | { readonly redial: false; readonly reason: string };

export interface RedialState {
  /** Redials so far in this outage (1 for the first). */
  readonly attempt: number;
  /** How long the call has been down, ms. */
  readonly downForMs: number;
  /** The kind of the last failures and how many of that kind came in a row. */
  readonly lastKind: PipeErrorKind;
  readonly sameKindInARow: number;
}

/** Whether to dial again after `failure`, and when. */
export function decideRedial(state: RedialState, random: number, policy: BackoffPolicy = DEFAULT_BACKOFF): RedialDecision {
  const limit = policy.maxInARow[state.lastKind];
  if (limit !== undefined && state.sameKindInARow > limit) {
    return { redial: false, reason: `gave up after ${state.sameKindInARow} ${state.sameKindInARow === 1 ? 'try' : 'tries'}` };
  }
  if (state.downForMs >= policy.giveUpAfterMs) {
    return { redial: false, reason: `gave up after ${Math.round(state.downForMs / 1000)} s without a connection` };
  }
  return { redial: true, delayMs: backoffDelay(state.attempt, random, policy) };
}

/** Tracks one outage: the counters `decideRedial` reads. */
export class Outage {
  readonly startedAt: number;
  #attempt = 0;
  #lastKind: PipeErrorKind | undefined;
  #inARow = 0;

  constructor(now: number) {
    this.startedAt = now;
  }

  /** Records a failure (its kind: `lost` for a connection that dropped) and returns the state. */
  record(failure: PipeError, now: number): RedialState {
    const kind = failure.kind;
    this.#inARow = kind === this.#lastKind ? this.#inARow + 1 : 1;
    this.#lastKind = kind;
    this.#attempt += 1;
    return { attempt: this.#attempt, downForMs: now - this.startedAt, lastKind: kind, sameKindInARow: this.#inARow };
  }
}
