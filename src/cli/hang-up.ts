import { ExitCode } from './exit-codes.js';

/**
 * ctrl-C and SIGTERM during a call: the first hangs up (the call ends cleanly, exit 0: `signal`
 * aborts), a second one quits at once without waiting for ffmpeg's trailer (our ffmpegs are killed on
 * exit, see audio/process.ts). ffmpeg runs in a process group of its own, so a terminal's ctrl-C or
 * `timeout`'s SIGTERM to the group reaches us alone: the hang-up is ours to carry out.
 */
/** Signals this close together are one hang-up, delivered twice. */
const SAME_SIGNAL_MS = 300;

export class HangUpSignal {
  readonly #controller = new AbortController();
  #firstAt = 0;
  readonly #onSignal = (): void => {
    if (!this.requested) {
      this.#firstAt = Date.now();
      this.#controller.abort();
      return;
    }
    // `timeout` (and a shell killing a job) signals the process and its group: the same SIGTERM
    // arrives twice at once. Only a second signal a person could have sent means "quit now".
    if (Date.now() - this.#firstAt >= SAME_SIGNAL_MS) process.exit(ExitCode.interrupted);
  };

  constructor() {
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
  }

  /** Aborts on the first ctrl-C or SIGTERM. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether a hang-up was asked for. */
  get requested(): boolean {
    return this.#controller.signal.aborted;
  }

  dispose(): void {
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }
}
