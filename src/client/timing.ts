/**
 * Every timer of the client, with the reason for its value. A call can last hours, so none of these
 * runs while bytes move: the session layer watches an established call (session/watchdog.ts).
 */

/** DNS, TCP connect and TLS handshake, each: a blackholed or firewalled server fails in seconds, not minutes. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The hold both sides ask for with `?wait=`: the product's promise that either side may arrive
 * first and is held five minutes, on any relay.
 */
export const DEFAULT_WAIT_SECONDS = 300;

/**
 * How much longer than `?wait=` the client itself waits for an answer (a 408 from a relay that
 * honours `wait`, or the go-ahead) before it gives up with "nobody came": relays sweep their holds on
 * a timer (hoodycall every second) and a proxy may sit in between, so 5 % of the wait, at least 1 s
 * and at most 15 s. On a relay that ignores `wait` (piping-server holds forever), this is what keeps
 * the hold at five minutes.
 */
export function answerMarginMs(waitSeconds: number): number {
  return Math.min(15_000, Math.max(1_000, waitSeconds * 50));
}

/**
 * A waiting dial that has heard nothing for this long sends one cheap probe (OPTIONS on the pipe's
 * URL, which every dialect answers at once) to tell a relay that is waiting for the other side from
 * one that took the connection and answers nothing at all.
 */
export const SILENT_PROBE_AFTER_MS = 3_000;
/** The probe's own bound: a relay that cannot answer OPTIONS in this long is not going to carry a call. */
export const PROBE_TIMEOUT_MS = 10_000;


/**
 * An early-200 relay (piping-server, the hosted pipe) says "waiting" in the first line of its
 * answer; hoodycall's relay answers only when the receivers are there and says "connected". A 200
 * whose first line has not come within this long is taken as the go-ahead (a relay that holds its
 * answer but writes no status text).
 */
export const FIRST_LINE_GRACE_MS = 1_000;

/** The timers a dial uses, all overridable at once (tests, callers with other needs). */
export interface DialTiming {
  readonly silentProbeAfterMs: number;
  readonly probeTimeoutMs: number;
  readonly firstLineGraceMs: number;
}

export const DIAL_TIMING: DialTiming = {
  silentProbeAfterMs: SILENT_PROBE_AFTER_MS,
  probeTimeoutMs: PROBE_TIMEOUT_MS,
  firstLineGraceMs: FIRST_LINE_GRACE_MS,
};
