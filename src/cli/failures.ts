import { FfmpegError } from '../audio/ffmpeg.js';
import type { FfmpegOutcome } from '../audio/process.js';
import { BadNameError, BadServerError, PipeError, type PipeErrorKind } from '../client/index.js';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';

const PIPE_EXIT: Record<PipeErrorKind, ExitCodeValue> = {
  unreachable: ExitCode.serverUnreachable,
  'untrusted-certificate': ExitCode.serverUnreachable,
  busy: ExitCode.pipeBusy,
  'nobody-came': ExitCode.nobodyCame,
  'relay-limit': ExitCode.relayRefused,
  refused: ExitCode.relayRefused,
  aborted: ExitCode.streamAborted,
};

/** Turns what the layers below throw into one line and an exit code. Unknown errors pass through. */
export function asCliError(error: unknown): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof PipeError) return new CliError(error.message, PIPE_EXIT[error.kind]);
  if (error instanceof FfmpegError) return new CliError(error.message, ExitCode.ffmpegMissing);
  if (error instanceof BadNameError || error instanceof BadServerError) return new CliError(error.message, ExitCode.usage);
  return error;
}

/** ffmpeg's failure as the user's problem: a missing device is theirs to fix, anything else is ours. */
export function ffmpegFailure(outcome: Extract<FfmpegOutcome, { ok: false }>): CliError {
  const device = outcome.failure.cause === 'no-input-device' || outcome.failure.cause === 'no-output-device' || outcome.failure.cause === 'backend-unavailable';
  return new CliError(outcome.message, device ? ExitCode.noAudioDevice : ExitCode.audioEngineFailed);
}
