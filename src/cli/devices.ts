import type { Command } from 'commander';
import { backendFor, toPlatform, type CaptureBackend, type PlaybackBackend } from '../audio/args.js';
import { listDevices, pulseAvailable } from '../audio/devices.js';
import { locateFfmpeg, type FfmpegInfo, type FfmpegLocation } from '../audio/ffmpeg.js';
import { asCliError } from './failures.js';
import { findExternalPlayer } from '../audio/player.js';

export interface AudioBackends {
  readonly capture: CaptureBackend;
  readonly playback: PlaybackBackend | null;
  readonly pulse: boolean;
}

/** Which capture and playback backends this machine's ffmpeg would use (PulseAudio when its server answers). */
export async function detectBackends(ffmpeg: FfmpegLocation & FfmpegInfo): Promise<AudioBackends> {
  const platform = toPlatform(process.platform) ?? 'linux';
  const pulse = platform === 'linux' && ffmpeg.inputDevices.includes('pulse') ? await pulseAvailable(ffmpeg.path) : false;
  return { ...backendFor(platform, { pulseAvailable: pulse, inputDevices: ffmpeg.inputDevices, outputDevices: ffmpeg.outputDevices }), pulse };
}

export function registerDevices(program: Command): void {
  program
    .command('devices')
    .description('list the microphones and speakers that --device can pick')
    .option('--ffmpeg <path>', 'ffmpeg to use')
    .action(async (flags: { ffmpeg?: string }) => {
      try {
        const ffmpeg = await locateFfmpeg({ explicitPath: flags.ffmpeg });
        const backends = await detectBackends(ffmpeg);
        const sections: [string, CaptureBackend | PlaybackBackend | null, 'capture' | 'playback'][] = [
          ['microphones (talk --device)', backends.capture, 'capture'],
          ['speakers (listen --device)', backends.playback, 'playback'],
        ];
        for (const [title, backend, kind] of sections) {
          if (backend === null) {
            const player = await findExternalPlayer(ffmpeg.path);
            const how = player === null ? 'install ffplay or mpv, or use listen --output - | your player' : `listen plays through ${player.path}`;
            process.stdout.write(`${title}: none: this ffmpeg has no playback device here; ${how}\n`);
            continue;
          }
          const list = await listDevices(ffmpeg.path, backend, kind);
          process.stdout.write(`${title}, via ${backend}:\n`);
          if (list.error !== undefined) process.stdout.write(`  (cannot list: ${list.error})\n`);
          for (const device of list.devices) {
            process.stdout.write(`  ${device.isDefault ? '*' : ' '} ${device.name}${device.description ? `  ${device.description}` : ''}\n`);
          }
          if (list.error === undefined && list.devices.length === 0) process.stdout.write('  (none found)\n');
        }
      } catch (error) {
        throw asCliError(error);
      }
    });
}
