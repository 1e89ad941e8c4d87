import { Option, type Command } from 'commander';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import type { CallEnd } from '../session/ends.js';
import { Talker } from '../session/talker.js';
import { captureSource } from './capture.js';
import { conclude, endOfDial } from './conclude.js';
import { asCliError } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { watchCallKeys } from './keys.js';
import { wholeNumber } from './parse.js';
import { holdText, placeName, sealableWhere, SECRET_HELP, shareLines, startsMuted, talkerOptions, WAIT_HELP, waitOf } from './plan.js';
import { MAX_WAIT_SECONDS } from '../wire.js';
import { formatElapsed, Status } from './status.js';
import { LevelTrail, rungLine, seconds, wireRate } from './status-text.js';

export interface TalkFlags {
  server?: string;
  input?: string;
  tone?: number;
  device?: string;
  bitrate: number;
  lowLatency?: boolean;
  ffmpeg?: string;
  quiet?: boolean;
  reconnect?: boolean;
  mute?: boolean;
  pushToTalk?: boolean;
  wait?: number;
  secret?: boolean;
}

/** `--low-latency` for talk, call and echo (measured: docs/decisions/2026-11-24-latency-frames-and-pages.md). */
export const LOW_LATENCY_HELP = '10 ms Ogg pages and Opus lowdelay: ~13 ms less delay for ~13 kbit/s more on the wire';

export function registerTalk(program: Command): void {
  program
    .command('talk')
    .argument('[name]', 'pipe name, or a sealed call\'s code (default: a new unguessable one)')
    .description('talk into a pipe: microphone (or --input/--tone) -> Opus in Ogg -> the relay')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--input <file|->', 'send an audio file, or WAV on stdin (-), in real time instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device (`hoodycall devices` lists them)')
    .addOption(new Option('--bitrate <kbps>', 'Opus bitrate').argParser(wholeNumber(6, 510)).default(32))
    .option('--low-latency', LOW_LATENCY_HELP)
    .option('--ffmpeg <path>', 'ffmpeg to use (default: $HOODYCALL_FFMPEG, ffmpeg-static, then PATH)')
    .option('--no-reconnect', 'end the call when the connection drops instead of dialing again')
    // Kept for scripts written when reconnecting had to be asked for.
    .addOption(new Option('--reconnect').hideHelp())
    .option('--wait <seconds>', WAIT_HELP, wholeNumber(1, MAX_WAIT_SECONDS))
    .option('--mute', 'start muted (press m to unmute)')
    .option('--push-to-talk', 'the microphone is open only while the space bar is held')
    .option('--secret', SECRET_HELP)
    .option('-q, --quiet', 'no status output')
    .addHelpText('after', '\nKeys on a terminal: m mutes/unmutes; with --push-to-talk, hold space to talk; ctrl-C hangs up.')
    .action(async (name: string | undefined, flags: TalkFlags) => talk(name, flags));
}

export async function talk(givenName: string | undefined, flags: TalkFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const hangUp = new HangUpSignal();
  let keys: ReturnType<typeof watchCallKeys> = null;
  try {
    const ffmpeg = await locateFfmpeg({ explicitPath: flags.ffmpeg });
    const at = await sealableWhere(givenName, flags, process.env);
    const shown = placeName(at);
    // The other side needs these lines whoever chose the name; --quiet with a name you chose needs none.
    if (at.generated || flags.quiet !== true) process.stdout.write(shareLines(at));
    const { source, stdinAudio } = await captureSource(flags, ffmpeg);
    const talker = new Talker({ ...talkerOptions(flags, { ffmpegPath: ffmpeg.path, source, stdinAudio }, at, hangUp.signal, status.live), sealed: at.secret?.call });
    talker.muted = startsMuted(flags);
    if (flags.input !== '-') keys = watchCallKeys(process.stdin, { pushToTalk: flags.pushToTalk === true, onChange: (muted) => (talker.muted = muted) });
    const levels = new LevelTrail();
    talker.on('level', (dbfs) => levels.add(dbfs));
    talker.on('lost', (reason, delayMs) => {
      status.event(`${reason}: reconnecting to ${shown} in ${seconds(delayMs)}…`);
      status.showLive(`reconnecting to ${shown}…`);
    });
    talker.on('rung', (_rung, opus, direction) => status.event(rungLine(opus, direction)));
    talker.on('connected', (gapMs) => {
      if (gapMs > 0) status.event(`back on air after a ${seconds(gapMs)} gap`);
    });

    status.state(`waiting for a listener on ${shown} (${at.url.origin} holds a call up to ${holdText(waitOf(flags))})`);
    let end: CallEnd;
    try {
      await talker.connect();
    } catch (error) {
      end = endOfDial(error, hangUp);
      return conclude(status, 'talk', end, { name: shown, elapsed: formatElapsed(0) });
    }
    status.event(`a listener joined ${shown}: on air`);
    status.showLive(`on air · ${shown}`);
    const ticker = setInterval(() => {
      if (!talker.connected) return;
      const ms = Date.now() - (talker.startedAt ?? Date.now());
      status.update([`on air ${formatElapsed(ms)}`, wireRate(talker.bytesSent, ms), ...levels.parts(), ...(talker.muted ? ['MUTED'] : []), shown].join(' · '));
    }, 250);
    try {
      const talked = await talker.run();
      end = talked.kind === 'listener-left' ? { kind: 'other-hung-up' } : talked.kind === 'lost' ? { kind: 'cut', error: talked.error } : talked;
    } finally {
      clearInterval(ticker);
    }
    // ctrl-C during the call: whatever the stream did last, the person hung up.
    if (hangUp.requested && end.kind !== 'audio-failed') end = { kind: end.kind === 'finished' ? 'finished' : 'hung-up' };
    conclude(status, 'talk', end, {
      name: shown,
      elapsed: formatElapsed(Date.now() - (talker.startedAt ?? Date.now())),
      kib: Math.round(talker.bytesSent / 1024),
    });
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    keys?.stop();
    hangUp.dispose();
  }
}
