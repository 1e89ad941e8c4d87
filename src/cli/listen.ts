import { createWriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { containerOf, listenArgs, type PlaybackTarget } from '../audio/args.js';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { runFfmpeg } from '../audio/process.js';
import { openDownload, pipeUrl, resolveServer } from '../client/index.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asCliError, ffmpegFailure } from './failures.js';
import { formatElapsed, Status } from './status.js';

export interface ListenFlags {
  server?: string;
  output?: string;
  record?: string;
  device?: string;
  ffmpeg?: string;
  quiet?: boolean;
}

export function registerListen(program: Command): void {
  program
    .command('listen')
    .argument('<name>', 'pipe name the talker uses')
    .description('listen to a pipe: the relay -> ffmpeg -> speaker (or --output)')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--output <file|->', 'write the audio as WAV (- = stdout) instead of playing it')
    .option('--record <file>', 'also keep the received Ogg stream as it came')
    .option('--device <name>', 'playback device (a PulseAudio sink or ALSA device)')
    .option('--ffmpeg <path>', 'ffmpeg to use (default: $HOODYCALL_FFMPEG, ffmpeg-static, then PATH)')
    .option('-q, --quiet', 'no status output')
    .action(async (name: string, flags: ListenFlags) => listen(name, flags));
}

/** Only audio: an HTML error page or a JSON answer fed to the decoder would fail obscurely. */
function isAudio(contentType: string | undefined): boolean {
  const essence = (contentType ?? 'application/octet-stream').split(';')[0]?.trim().toLowerCase() ?? '';
  return essence.startsWith('audio/') || essence === 'application/ogg' || essence === 'application/octet-stream';
}

export async function listen(name: string, flags: ListenFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const abort = new AbortController();
  let hangingUp = false;
  const onSignal = (): void => {
    if (hangingUp) process.exit(ExitCode.interrupted);
    hangingUp = true;
    abort.abort();
  };
  // `on`, not `once`: execa's child cleanup re-raises a signal that no other listener is left to handle.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const ffmpeg = await locateFfmpeg(flags.ffmpeg === undefined ? {} : { explicitPath: flags.ffmpeg });
    const server = resolveServer(flags.server, process.env);
    const url = pipeUrl(server, name);
    let target: PlaybackTarget;
    if (flags.output !== undefined) target = { kind: 'wav', path: flags.output, overwrite: true };
    else {
      const { playback } = await detectBackends(ffmpeg);
      if (playback === null) throw new CliError('this ffmpeg cannot play audio here; use --output - | ffplay -nodisp -', ExitCode.noAudioDevice);
      const device = flags.device === undefined ? {} : { device: flags.device };
      target = playback === 'audiotoolbox' ? { kind: 'audiotoolbox' } : { kind: playback, ...device };
    }

    const download = openDownload(url, name, { signal: abort.signal });
    status.show(`waiting for the talker on ${name} (${url.origin})`);
    const response = await download.connected.catch((error: unknown) => {
      if (abort.signal.aborted) throw new CliError('interrupted before the talker came', ExitCode.interrupted);
      throw error;
    });
    const contentType = response.headers['content-type'];
    if (!isAudio(contentType)) {
      download.stream.destroy();
      throw new CliError(`${name} carries ${contentType ?? 'no type'}, not audio`, ExitCode.relayRefused);
    }

    // A browser talker without WebCodecs sends WebM (audio/webm): ffmpeg is told which demuxer.
    const run = runFfmpeg(ffmpeg.path, listenArgs(target, containerOf(contentType)), 'listen', { stdin: 'pipe', stdout: flags.output === '-' ? 'inherit' : 'ignore' });
    const startedAt = Date.now();
    status.show(`connected to ${name}: listening`);
    const ticker = setInterval(() => status.update(`listening ${formatElapsed(Date.now() - startedAt)} · ${name}`), 1000);
    let record: PassThrough | undefined;
    if (flags.record !== undefined) {
      record = new PassThrough();
      const file = createWriteStream(flags.record);
      record.on('data', (chunk: Buffer) => file.write(chunk));
      record.on('end', () => file.end());
    }
    let cut: Error | undefined;
    try {
      if (run.stdin === null) throw new Error('ffmpeg has no stdin');
      if (record === undefined) await pipeline(download.stream, run.stdin);
      else await pipeline(download.stream, record, run.stdin);
    } catch (error) {
      if (!hangingUp) cut = error as Error;
      run.stdin?.destroy();
    } finally {
      clearInterval(ticker);
    }
    // The decoder finishes what it has; a broken decoder is ours to report even after a clean stream.
    const outcome = await run.outcome;
    const elapsed = formatElapsed(Date.now() - startedAt);
    if (hangingUp) return status.done(`left ${name} after ${elapsed}`);
    if (cut !== undefined) throw new CliError(`the call was cut off after ${elapsed} (${cut.message})`, ExitCode.streamAborted);
    if (!outcome.ok) throw ffmpegFailure(outcome);
    status.done(`call ended: the talker hung up after ${elapsed}`);
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
