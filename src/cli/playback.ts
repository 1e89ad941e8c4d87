import type { PlaybackTarget } from '../audio/args.js';
import type { FfmpegInfo, FfmpegLocation } from '../audio/ffmpeg.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Where `listen` and `call` put what they hear: `--output` as WAV, else the speaker (or `--device`). */
export async function playbackTarget(flags: { output?: string; device?: string }, ffmpeg: FfmpegLocation & FfmpegInfo): Promise<PlaybackTarget> {
  if (flags.output !== undefined) return { kind: 'wav', path: flags.output, overwrite: true };
  const { playback } = await detectBackends(ffmpeg);
  if (playback === null) throw new CliError('this ffmpeg cannot play audio here; use --output - | ffplay -nodisp -', ExitCode.noAudioDevice);
  if (playback === 'audiotoolbox') return { kind: 'audiotoolbox' };
  return { kind: playback, ...(flags.device === undefined ? {} : { device: flags.device }) };
}
