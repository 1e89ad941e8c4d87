import type { Command } from 'commander';
import { DEFAULT_MAX_DELAY_MS } from '../audio/catch-up.js';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { pipeUrl, resolveServer } from '../client/index.js';
import { Listener } from '../session/listener.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asCliError, ffmpegFailure } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { delayBound } from './parse.js';
import { playbackTarget } from './playback.js';
import { formatElapsed, Status } from './status.js';
import { seconds, wireRate } from './status-text.js';

export interface ListenFlags {
  server?: string;
  output?: string;
  record?: string;
  device?: string;
  ffmpeg?: string;
  quiet?: boolean;
  /** ms; null: never drop. */
  maxDelay?: number | null;
  reconnect?: boolean;
}

export function registerListen(program: Command): void {
  program
    .command('listen')
    .argument('<name>', 'pipe name the talker uses')
    .description('listen to a pipe: the relay -> ffmpeg -> speaker (or --output)')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--output <file|->', 'write the audio as WAV (- = stdout) instead of playing it')
    .option('--record <file>', 'also keep the received stream as it came (Ogg, chained across reconnects)')
    .option('--device <name>', 'playback device (a PulseAudio sink or ALSA device; an mpv --audio-device where mpv plays)')
    .option('--ffmpeg <path>', 'ffmpeg to use (default: $HOODYCALL_FFMPEG, ffmpeg-static, then PATH)')
    .option('--max-delay <ms>', 'after a stall, drop the oldest audio so you hear at most this much late (0 or off: keep it all)', delayBound, DEFAULT_MAX_DELAY_MS)
    .option('--reconnect', 'when the stream is cut or the relay restarts, dial the same name again')
    .option('-q, --quiet', 'no status output')
    .action(async (name: string, flags: ListenFlags) => listen(name, flags));
}

export async function listen(name: string, flags: ListenFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const hangUp = new HangUpSignal();
  try {
    const ffmpeg = await locateFfmpeg(flags.ffmpeg === undefined ? {} : { explicitPath: flags.ffmpeg });
    const server = resolveServer(flags.server, process.env);
    const url = pipeUrl(server, name);
    const target = await playbackTarget(flags, ffmpeg);
    const current = new Listener({
      ffmpegPath: ffmpeg.path,
      target,
      decoderStdout: flags.output === '-' ? 'inherit' : 'ignore',
      url,
      name,
      reconnect: flags.reconnect === true,
      maxDelayMs: flags.maxDelay === undefined ? DEFAULT_MAX_DELAY_MS : flags.maxDelay,
      ...(flags.record === undefined ? {} : { record: flags.record }),
    });
    hangUp.whenAsked(() => current.hangUp());
    const line = (): string => {
      const ms = Date.now() - (current.startedAt ?? Date.now());
      return `listening ${formatElapsed(ms)} · ${wireRate(current.bytesReceived, ms)} · ${Math.round(current.behindMs)} ms behind · ${name}`;
    };
    let connectedOnce = false;
    current.on('connected', (gapMs) => {
      status.show(gapMs > 0 ? `back after a ${seconds(gapMs)} gap` : `connected to ${name}: listening`);
      connectedOnce = true;
    });
    current.on('lost', (reason, delayMs) => status.show(`${reason}: reconnecting to ${name} in ${seconds(delayMs)}…`));
    // One line per catch-up, not per dropped page.
    current.on('skip', (event) => status.show(`caught up: skipped ${seconds(event.skippedMs)} of late audio`));
    status.show(`waiting for the talker on ${name} (${url.origin})`);
    const ticker = setInterval(() => {
      if (current.startedAt !== undefined) status.update(line());
    }, 250);
    let end;
    try {
      end = await current.run();
    } finally {
      clearInterval(ticker);
    }
    const elapsed = formatElapsed(Date.now() - (current.startedAt ?? Date.now()));
    if (end.kind === 'hung-up') {
      if (!connectedOnce) throw new CliError('interrupted before the talker came', ExitCode.interrupted);
      return status.done(`left ${name} after ${elapsed}`);
    }
    if (end.kind === 'ffmpeg-failed') throw ffmpegFailure(end.outcome);
    if (end.kind === 'cut') throw new CliError(`the call was cut off after ${elapsed} (${end.reason})`, ExitCode.streamAborted);
    status.done(`call ended: the talker hung up after ${elapsed}`);
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    hangUp.dispose();
  }
}
