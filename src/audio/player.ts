/**
 * Playing where ffmpeg has no audio output device (ffmpeg on Windows has none; static builds often
 * lack pulse and alsa): a player that reads the stream itself, ffplay from the same ffmpeg install,
 * else ffplay or mpv on PATH. It reads the Ogg stream after the listener's live-edge keeper, with
 * the same no-probing, no-buffering input as the ffmpeg decoder.
 */
import path from 'node:path';
import { oggStdinInputArgs } from './args.js';
import { type Env, findOnPath, isExecutableFile } from './ffmpeg.js';

export type ExternalPlayer = 'ffplay' | 'mpv';

/** `listen` through an external player instead of ffmpeg's own output device. */
export interface PlayerTarget {
  readonly kind: 'player';
  readonly player: ExternalPlayer;
  readonly path: string;
  /** mpv only (`--audio-device`); ffplay plays to the system default. */
  readonly device?: string | undefined;
}

/** mpv's audio buffer, s: its default (0.2 s) would be most of a call's delay. */
const MPV_AUDIO_BUFFER_S = 0.02;

/** The player's command line (without its path); stdin is the Ogg stream. */
export function playerArgs(target: Pick<PlayerTarget, 'player' | 'device'>): string[] {
  if (target.player === 'ffplay') {
    if (target.device !== undefined) throw new RangeError('ffplay plays to the default output device; it cannot pick one');
    // The same input options as ffmpeg's decoder; -nodisp: no window, -autoexit: end with the stream.
    return ['-hide_banner', '-loglevel', 'error', '-nodisp', '-autoexit', ...oggStdinInputArgs()];
  }
  return [
    '--no-video', '--no-terminal', '--cache=no',
    '--demuxer-lavf-format=ogg', '--demuxer-lavf-probesize=32', '--demuxer-lavf-analyzeduration=0',
    `--audio-buffer=${MPV_AUDIO_BUFFER_S}`,
    ...(target.device === undefined ? [] : [`--audio-device=${target.device}`]),
    '-',
  ];
}

/** ffplay beside `ffmpegPath` (the same install), else ffplay, else mpv on PATH; null when none is there. */
export async function findExternalPlayer(ffmpegPath: string, env: Env = process.env, platform: NodeJS.Platform = process.platform): Promise<Omit<PlayerTarget, 'kind' | 'device'> | null> {
  const beside = path.join(path.dirname(ffmpegPath), platform === 'win32' ? 'ffplay.exe' : 'ffplay');
  if (path.isAbsolute(ffmpegPath) && (await isExecutableFile(beside, platform))) return { player: 'ffplay', path: beside };
  for (const player of ['ffplay', 'mpv'] as const) {
    const found = await findOnPath(player, env, platform);
    if (found !== null) return { player, path: found };
  }
  return null;
}
