import { ExitCode } from './exit-codes.js';

/**
 * ctrl-C and SIGTERM during a call: the first hangs up (the call ends cleanly, exit 0), a second one
 * quits at once without waiting for ffmpeg's trailer (execa's cleanup still kills ffmpeg on exit).
 * Listeners are added with `on`, not `once`: execa's child cleanup re-raises a signal that no other
 * listener is left to handle.
 */
export class HangUpSignal {
  /** Whether a hang-up was asked for. */
  requested = false;
  #hangUp: () => void = () => undefined;
  readonly #onSignal = (): void => {
    if (this.requested) process.exit(ExitCode.interrupted);
    this.requested = true;
    this.#hangUp();
  };

  constructor() {
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
  }

  /** What hanging up does, once the call exists; a signal that came before is acted on now. */
  whenAsked(hangUp: () => void): void {
    this.#hangUp = hangUp;
    if (this.requested) hangUp();
  }

  dispose(): void {
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }
}
