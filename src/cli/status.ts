import ora, { type Ora } from 'ora';

/**
 * What a person sees on stderr: a spinner on a terminal, plain lines otherwise (logs, pipes, tests),
 * nothing with --quiet. Escape codes only ever go to a TTY.
 *
 * Two kinds of text: a *state* lasts (waiting, on air) and is the line that spins and is redrawn with
 * live figures; an *event* happens (a listener joined, the link dropped, back after a gap) and gets a
 * line of its own that stays on screen, so no state change is ever drawn over before it is seen.
 */
export class Status {
  readonly #spinner: Ora | undefined;
  readonly #plain: boolean;
  #state = '';

  constructor(quiet: boolean) {
    const tty = process.stderr.isTTY === true;
    this.#plain = !quiet && !tty;
    this.#spinner = quiet || !tty ? undefined : ora({ stream: process.stderr, discardStdin: false });
  }

  /** Whether a line is redrawn in place (a terminal): worth computing live figures for. */
  get live(): boolean {
    return this.#spinner !== undefined;
  }

  /** A state that lasts: spins on a TTY; one line otherwise, when it changes. */
  state(text: string): void {
    if (text === this.#state) return;
    this.#state = text;
    if (this.#spinner !== undefined) {
      this.#spinner.text = text;
      if (!this.#spinner.isSpinning) this.#spinner.start();
    } else if (this.#plain) process.stderr.write(`${text}\n`);
  }

  /** A state only a terminal shows (the live line's first text, before figures come): nothing in a log. */
  showLive(text: string): void {
    if (this.#spinner === undefined) return;
    this.state(text);
  }

  /** Something that happened: a line that stays, above the spinning state. */
  event(text: string): void {
    if (this.#spinner !== undefined) {
      const spinning = this.#spinner.isSpinning;
      this.#spinner.stopAndPersist({ symbol: '•', text });
      if (spinning) this.#spinner.start(this.#state);
    } else if (this.#plain) process.stderr.write(`${text}\n`);
  }

  /** Redraws the spinning line with live figures; silent where it would flood a log. */
  update(text: string): void {
    if (this.#spinner?.isSpinning === true) this.#spinner.text = text;
  }

  /** A finished call: one line that stays. */
  done(text: string): void {
    if (this.#spinner !== undefined) this.#spinner.succeed(text);
    else if (this.#plain) process.stderr.write(`${text}\n`);
  }

  /** Clears the spinner before an error line is printed. */
  stop(): void {
    this.#spinner?.stop();
  }
}

export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}
