/** Exit codes, one per way a run can end, so scripts can branch on them. Documented in README.md. */
export const ExitCode = {
  ok: 0,
  /** A bug: something failed that has no code of its own. */
  unexpected: 1,
  /** Bad command line: unknown option, bad value, missing argument. */
  usage: 2,
  /** `serve` could not listen: address in use, no permission, unreadable certificate. */
  cannotServe: 10,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is one readable line for the user, with the exit code it stands for. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(message: string, exitCode: ExitCodeValue) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
