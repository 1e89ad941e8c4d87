import { Option, type Command } from 'commander';
import { DEFAULT_MAX_DELAY_MS } from '../audio/catch-up.js';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import type { CallEnd } from '../session/ends.js';
import { Listener, RecordError } from '../session/listener.js';
import { conclude, endOfDial } from './conclude.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asCliError } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { delayBound, MAX_DELAY_HELP, wholeNumber } from './parse.js';
import { playbackTarget } from './playback.js';
import { holdText, listenerOptions, placeName, sealableWhere, WAIT_HELP, waitOf } from './plan.js';
import { MAX_WAIT_SECONDS } from '../wire.js';
import { formatElapsed, Status } from './status.js';
import { delayParts, seconds, wireRate } from './status-text.js';

export interface ListenFlags {
  server?: string;
  output?: string;
  record?: string;
  device?: string;
  ffmpeg?: string;
  quiet?: boolean;
  /** ms; 0: never drop. */
  maxDelay?: number;
  reconnect?: boolean;
  wait?: number;
}

export function registerListen(program: Command): void {
  program
    .command('listen')
    .argument('<name>', 'pipe name the talker uses, or a sealed call\'s code (sealed-…)')
    .description('listen to a pipe: the relay -> ffmpeg -> speaker (or --output)')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--output <file|->', 'write the audio as WAV (- = stdout) instead of playing it')
    .option('--record <file>', 'also keep the received stream as it came (Ogg, chained across reconnects)')
    .option('--device <name>', 'playback device (a PulseAudio sink or ALSA device; an mpv --audio-device where mpv plays)')
    .option('--ffmpeg <path>', 'ffmpeg to use (default: $HOODYCALL_FFMPEG, ffmpeg-static, then PATH)')
    .option('--max-delay <ms>', MAX_DELAY_HELP, delayBound, DEFAULT_MAX_DELAY_MS)
    .option('--no-reconnect', 'end the call when the stream is cut instead of dialing again')
    // Kept for scripts written when reconnecting had to be asked for.
    .addOption(new Option('--reconnect').hideHelp())
    .option('--wait <seconds>', WAIT_HELP, wholeNumber(1, MAX_WAIT_SECONDS))
    .option('-q, --quiet', 'no status output')
    .action(async (name: string, flags: ListenFlags) => listen(name, flags));
}

export async function listen(name: string, flags: ListenFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const hangUp = new HangUpSignal();
  try {
    const ffmpeg = await locateFfmpeg({ explicitPath: flags.ffmpeg });
    const at = await sealableWhere(name, flags, process.env);
    const shown = placeName(at);
    const target = await playbackTarget(flags, ffmpeg);
    const listener = new Listener({ ...listenerOptions(flags, { ffmpegPath: ffmpeg.path, target }, at, hangUp.signal), record: flags.record, sealed: at.secret?.call });
    listener.on('connected', (gapMs) => {
      if (gapMs > 0) status.event(`back after a ${seconds(gapMs)} gap`);
      else status.event(`connected to ${shown}: listening`);
      status.showLive(`listening · ${shown}`);
    });
    listener.on('lost', (reason, delayMs) => {
      status.event(`${reason}: reconnecting to ${shown} in ${seconds(delayMs)}…`);
      status.showLive(`reconnecting to ${shown}…`);
    });
    // One line per catch-up, not per dropped page.
    listener.on('skip', (event) => status.event(`caught up: skipped ${seconds(event.skippedMs)} of late audio`));
    status.state(`waiting for the talker on ${shown} (${at.url.origin} holds a call up to ${holdText(waitOf(flags))})`);
    const ticker = setInterval(() => {
      if (listener.startedAt === undefined) return;
      const ms = Date.now() - listener.startedAt;
      status.update([`listening ${formatElapsed(ms)}`, wireRate(listener.bytesReceived, ms), ...delayParts(listener), shown].join(' · '));
    }, 250);
    let end: CallEnd;
    try {
      const heard = await listener.run();
      end = heard.kind === 'lost' ? { kind: 'cut', error: heard.error } : heard.kind === 'hung-up' && listener.startedAt === undefined ? { kind: 'interrupted' } : heard;
    } catch (error) {
      if (error instanceof RecordError) throw new CliError(error.message, ExitCode.usage, { cause: error });
      end = endOfDial(error, hangUp);
    } finally {
      clearInterval(ticker);
    }
    conclude(status, 'listen', end, { name: shown, elapsed: formatElapsed(Date.now() - (listener.startedAt ?? Date.now())) });
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    hangUp.dispose();
  }
}
