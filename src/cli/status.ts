import ora, { type Ora } from 'ora';

/**
 * What a person sees on stderr: a spinner on a terminal, plain lines otherwise (logs, pipes, tests),
 * nothing with --quiet. Escape codes only ever go to a TTY.
 */
export class Status {
  readonly #spinner: Ora | undefined;
  readonly #plain: boolean;

  constructor(quiet: boolean) {
    const tty = process.stderr.isTTY === true;
    this.#plain = !quiet && !tty;
    this.#spinner = quiet || !tty ? undefined : ora({ stream: process.stderr, discardStdin: false });
  }

  /** Whether a line is redrawn in place (a terminal): worth computing live figures for. */
  get live(): boolean {
    return this.#spinner !== undefined;
  }

  /** A state that lasts (waiting, connected): spins on a TTY, one line otherwise. */
  show(text: string): void {
    if (this.#spinner !== undefined) {
      this.#spinner.text = text;
      if (!this.#spinner.isSpinning) this.#spinner.start();
    } else if (this.#plain) process.stderr.write(`${text}\n`);
  }

  /** Updates a spinning line in place (elapsed time, rate); silent where it would flood a log. */
  update(text: string): void {
    if (this.#spinner?.isSpinning === true) this.#spinner.text = text;
  }

  /** A finished state: one line that stays. */
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
