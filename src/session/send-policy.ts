/**
 * When a talker steps its stream down the send ladder (fewer, longer pages and fewer bits) and back
 * up. Pure: fed the backlog on the way to the relay (what we wrote minus what the relay says it has
 * taken, as audio time) each time the relay reports, it answers 'down', 'up' or nothing.
 *
 * - Down, when the backlog passes DOWN_AT_MS: the link cannot carry this rung. The caller also drops
 *   what is queued (a new connection), so the backlog starts from nothing on the lower rung.
 * - Up, one rung, when the backlog stayed near nothing for a probe interval: the link may carry more
 *   again. A probe that fails soon (down again within FAILED_PROBE_MS) doubles the interval, up to
 *   MAX_PROBE_MS, so a link that cannot carry the upper rung is not choked every half minute; one that
 *   holds resets it.
 * - After a change, reports are not judged for SETTLE_MS: the first reports of a new connection (or
 *   encoder) still describe the old one.
 */

/** A backlog this long means the link cannot carry the stream: a listener hears it as delay that grows. */
export const DOWN_AT_MS = 600;
/** A backlog this short is a link with room to spare. */
export const CLEAR_BELOW_MS = 150;
export const FIRST_PROBE_MS = 30_000;
export const MAX_PROBE_MS = 5 * 60_000;
/** A step up followed by a step down within this long was a failed probe. */
export const FAILED_PROBE_MS = 20_000;
/** Reports within this long of a change are not judged. */
export const SETTLE_MS = 3_000;

export type SendDecision = 'down' | 'up' | null;

export class SendPolicy {
  /** The current rung: 0 is the best the talker sends, `lowest` the least. */
  rung = 0;
  readonly #lowest: number;
  #changedAt: number;
  /** Since when the backlog has been clear (null: it is not). */
  #clearSince: number | null = null;
  #probeMs = FIRST_PROBE_MS;
  #lastUpAt: number | null = null;

  /** `rungs`: how many rungs the ladder has (1: nothing to step). */
  constructor(rungs: number, now: number) {
    this.#lowest = Math.max(0, rungs - 1);
    this.#changedAt = now;
  }

  /**
   * The relay reported: `backlogMs` of our audio is still on its way. `fits`: the highest rung the link
   * seems to carry (from what it carried lately), so that a step down goes there at once rather than
   * one rung per report, each with the gap of a new connection.
   */
  observe(backlogMs: number, now: number, fits?: number): SendDecision {
    if (now - this.#changedAt < SETTLE_MS) return null;
    if (backlogMs >= DOWN_AT_MS) {
      this.#clearSince = null;
      if (this.rung >= this.#lowest) return null;
      if (this.#lastUpAt !== null && now - this.#lastUpAt < FAILED_PROBE_MS) this.#probeMs = Math.min(MAX_PROBE_MS, this.#probeMs * 2);
      this.#lastUpAt = null;
      return this.#change(Math.min(this.#lowest, Math.max(this.rung + 1, fits ?? 0)), now);
    }
    if (backlogMs > CLEAR_BELOW_MS) {
      this.#clearSince = null;
      return null;
    }
    // A probe that has held this long succeeded: the next one may come soon again.
    if (this.#lastUpAt !== null && now - this.#lastUpAt >= 2 * FAILED_PROBE_MS) {
      this.#lastUpAt = null;
      this.#probeMs = FIRST_PROBE_MS;
    }
    this.#clearSince ??= now;
    if (this.rung === 0 || now - this.#clearSince < this.#probeMs) return null;
    this.#lastUpAt = now;
    return this.#change(this.rung - 1, now);
  }

  #change(rung: number, now: number): SendDecision {
    const decision = rung > this.rung ? 'down' : 'up';
    this.rung = rung;
    this.#changedAt = now;
    this.#clearSince = null;
    return decision;
  }
}
