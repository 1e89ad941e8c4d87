/**
 * How an established call notices a dead link: nothing errors on its own (TCP retransmits for many
 * minutes, and the kernel keeps taking our writes), so each side watches for silence instead:
 * - the listener, for bytes of the stream (a talker sends a page every 10–20 ms);
 * - the talker, for the relay's heartbeat lines (hoodycall's relay writes one every 2 s to a sender
 *   with a session id), and for writes that stay queued.
 */

/** Silence that means a lost connection: longer than any stall the catch-up is meant to ride out. */
export const LOST_AFTER_MS = 5_000;

/** How often the watchdog looks; a quarter second is well inside LOST_AFTER_MS. */
const CHECK_EVERY_MS = 250;

/**
 * Calls `onLost(reason)` once when `check()` names a reason, checking every CHECK_EVERY_MS; `stop()`
 * ends it. The timer does not keep the process alive.
 */
export function watchLink(check: () => string | null, onLost: (reason: string) => void): { stop(): void } {
  const timer = setInterval(() => {
    const reason = check();
    if (reason === null) return;
    clearInterval(timer);
    onLost(reason);
  }, CHECK_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** "5 s" for the reasons above. */
export function silenceText(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
