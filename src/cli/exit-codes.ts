/** Exit codes, one per way a run can end, so scripts can branch on them. Documented in README.md. */
export const ExitCode = {
  ok: 0,
  /** A bug: something failed that has no code of its own. */
  unexpected: 1,
  /** Bad command line: unknown option, bad value, missing argument. */
  usage: 2,
  /** No usable ffmpeg (none found, or built without libopus). */
  ffmpegMissing: 3,
  /** No microphone or speaker could be opened. */
  noAudioDevice: 4,
  /** The relay could not be reached (refused, DNS, timeout) or its certificate is not trusted. */
  serverUnreachable: 5,
  /** The pipe already has a talker (talk) or a listener (listen). */
  pipeBusy: 6,
  /** Nobody joined within the relay's hold. */
  nobodyCame: 7,
  /** The call was cut off: the connection broke or the other side vanished. */
  streamAborted: 8,
  /** ffmpeg failed or crashed during the call. */
  audioEngineFailed: 9,
  /** `serve` could not listen: address in use, no permission, unreadable certificate. */
  cannotServe: 10,
  /** The relay refused for another reason (a limit, a bad name, not a relay, a redirect). */
  relayRefused: 11,
  /** The pipe carries something that is not audio (an error page, another format, garbage). */
  notAudio: 12,
  /** A sealed call's stream could not be authenticated: another code, a plain stream, or bytes changed on the way. */
  unauthenticated: 13,
  /** ctrl-C before the call was connected. */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is one readable line for the user, with the exit code it stands for. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(message: string, exitCode: ExitCodeValue, options: { readonly cause?: unknown } = {}) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
