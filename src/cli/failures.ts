import { FfmpegError } from '../audio/ffmpeg.js';
import { BadNameError, BadServerError, PipeError } from '../client/index.js';
import { EXIT_OF_PIPE_ERROR } from './ends.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Turns what the layers below throw into one line and an exit code. Unknown errors pass through. */
export function asCliError(error: unknown): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof PipeError) return new CliError(error.message, EXIT_OF_PIPE_ERROR[error.kind], { cause: error });
  if (error instanceof FfmpegError) return new CliError(error.message, ExitCode.ffmpegMissing, { cause: error });
  if (error instanceof BadNameError || error instanceof BadServerError) return new CliError(error.message, ExitCode.usage, { cause: error });
  return error;
}
