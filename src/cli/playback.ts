import type { PlaybackTarget } from '../audio/args.js';
import type { FfmpegInfo, FfmpegLocation } from '../audio/ffmpeg.js';
import { findExternalPlayer, type PlayerTarget } from '../audio/player.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode } from './exit-codes.js';

/**
 * Where `listen` and `call` put what they hear: `--output` as WAV, else the speaker (or `--device`)
 * through ffmpeg's own output device, else through ffplay or mpv.
 */
export async function playbackTarget(flags: { readonly output?: string | undefined; readonly device?: string | undefined }, ffmpeg: FfmpegLocation & FfmpegInfo): Promise<PlaybackTarget | PlayerTarget> {
  if (flags.output !== undefined) return { kind: 'wav', path: flags.output, overwrite: true };
  const { playback } = await detectBackends(ffmpeg);
  if (playback === 'audiotoolbox') return { kind: 'audiotoolbox' };
  if (playback !== null) return { kind: playback, device: flags.device };
  const player = await findExternalPlayer(ffmpeg.path);
  if (player === null) {
    throw new CliError('this ffmpeg cannot play audio here and neither ffplay nor mpv was found; install one of them, or use --output - | your player', ExitCode.noAudioDevice);
  }
  if (flags.device !== undefined && player.player === 'ffplay') {
    throw new CliError(`--device: this ffmpeg cannot play audio here, and ffplay (${player.path}) plays to the system's default output only`, ExitCode.usage);
  }
  return { kind: 'player', ...player, device: flags.device };
}
