import { Option, type Command } from 'commander';
import { DEFAULT_MAX_DELAY_MS } from '../audio/catch-up.js';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { pipeUrl } from '../client/index.js';
import type { CallEnd } from '../session/ends.js';
import { Listener } from '../session/listener.js';
import { joinRoom, otherRole, pipeOf, type Role, runRoomCall, type SideSignals } from '../session/room.js';
import { Talker } from '../session/talker.js';
import { captureSource } from './capture.js';
import { conclude, endOfDial } from './conclude.js';
import { asCliError } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { watchCallKeys } from './keys.js';
import { delayBound, MAX_DELAY_HELP, wholeNumber } from './parse.js';
import { playbackTarget } from './playback.js';
import { callShareLines, holdText, listenerOptions, type PipeAt, placeName, sealableWhere, SECRET_HELP, startsMuted, talkerOptions, WAIT_HELP, waitOf } from './plan.js';
import { MAX_WAIT_SECONDS } from '../wire.js';
import { formatElapsed, Status } from './status.js';
import { delayParts, LevelTrail, rungLine, seconds, wireRate } from './status-text.js';
import { LOW_LATENCY_HELP } from './talk.js';

interface CallFlags {
  server?: string;
  input?: string;
  tone?: number;
  device?: string;
  output?: string;
  speaker?: string;
  bitrate: number;
  lowLatency?: boolean;
  maxDelay: number;
  reconnect: boolean;
  mute?: boolean;
  pushToTalk?: boolean;
  ffmpeg?: string;
  quiet?: boolean;
  wait?: number;
  secret?: boolean;
}

export function registerCall(program: Command): void {
  program
    .command('call')
    .argument('[room]', 'room name both people use, or a sealed call\'s code (default: a new unguessable one)')
    .description('a two-way call: both people run `hoodycall call ROOM`; each talks on one pipe of the room and listens on the other')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--input <file|->', 'send an audio file, or WAV on stdin (-), instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device')
    .option('--speaker <name>', 'playback device (a PulseAudio sink or ALSA device; an mpv --audio-device where mpv plays)')
    .option('--output <file|->', 'write what you hear as WAV (- = stdout) instead of playing it')
    .addOption(new Option('--bitrate <kbps>', 'Opus bitrate').argParser(wholeNumber(6, 510)).default(32))
    .option('--low-latency', LOW_LATENCY_HELP)
    .option('--max-delay <ms>', MAX_DELAY_HELP, delayBound, DEFAULT_MAX_DELAY_MS)
    .option('--no-reconnect', 'end the call when the connection drops instead of dialing again')
    .option('--wait <seconds>', WAIT_HELP, wholeNumber(1, MAX_WAIT_SECONDS))
    .option('--mute', 'start muted (press m to unmute)')
    .option('--push-to-talk', 'the microphone is open only while the space bar is held')
    .option('--secret', SECRET_HELP)
    .option('--ffmpeg <path>', 'ffmpeg to use')
    .option('-q, --quiet', 'no status output')
    .addHelpText('after', '\nRoles: the first to arrive talks on ROOM/a and listens on ROOM/b; the second finds ROOM/a taken and takes the mirror.\nKeys on a terminal: m mutes/unmutes; with --push-to-talk, hold space to talk; ctrl-C hangs up for both.')
    .action(async (room: string | undefined, flags: CallFlags) => call(room, flags));
}

export async function call(givenRoom: string | undefined, flags: CallFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const hangUp = new HangUpSignal();
  let keys: ReturnType<typeof watchCallKeys> = null;
  try {
    const ffmpeg = await locateFfmpeg({ explicitPath: flags.ffmpeg });
    const at = await sealableWhere(givenRoom, flags, process.env);
    const shown = placeName(at);
    if (at.generated) process.stdout.write(callShareLines(at));
    const { source, stdinAudio } = await captureSource(flags, ffmpeg);
    const target = await playbackTarget({ output: flags.output, device: flags.speaker }, ffmpeg);
    const pipeAt = (name: string): PipeAt => ({ url: pipeUrl(at.server, name), name });
    const sides = (role: Role, signals: SideSignals): { talker: Talker; listener: Listener } => ({
      talker: new Talker({ ...talkerOptions(flags, { ffmpegPath: ffmpeg.path, source, stdinAudio }, pipeAt(pipeOf(at.name, role)), signals.talk, status.live), sealed: at.secret?.call }),
      listener: new Listener({ ...listenerOptions(flags, { ffmpegPath: ffmpeg.path, target }, pipeAt(pipeOf(at.name, otherRole(role))), signals.listen), sealed: at.secret?.call }),
    });

    status.state(`waiting for the other side in ${shown} (${at.server.origin} holds a call up to ${holdText(waitOf(flags))})`);
    let joined;
    try {
      joined = await joinRoom({ room: at.name, signal: hangUp.signal, sides });
    } catch (error) {
      return conclude(status, 'call', endOfDial(error, hangUp), { name: shown, elapsed: formatElapsed(0) });
    }
    const { talker, listener } = joined;
    status.event(`in a call in ${shown} (you are ${joined.role})`);
    status.showLive(`in a call · ${shown}`);
    talker.muted = startsMuted(flags);
    if (flags.input !== '-') keys = watchCallKeys(process.stdin, { pushToTalk: flags.pushToTalk === true, onChange: (muted) => (talker.muted = muted) });
    const levels = new LevelTrail();
    talker.on('level', (dbfs) => levels.add(dbfs));
    const lostLine = (direction: string) => (reason: string, delayMs: number) => status.event(`${direction}: ${reason}; reconnecting in ${seconds(delayMs)}…`);
    const backLine = (direction: string) => (gapMs: number) => {
      if (gapMs > 0) status.event(`${direction} back after a ${seconds(gapMs)} gap`);
    };
    talker.on('rung', (_rung, opus, direction) => status.event(rungLine(opus, direction)));
    talker.on('lost', lostLine('sending'));
    talker.on('connected', backLine('sending'));
    listener.on('lost', lostLine('hearing'));
    listener.on('connected', backLine('hearing'));
    listener.on('skip', (event) => status.event(`caught up: skipped ${seconds(event.skippedMs)} of late audio`));

    const startedAt = Date.now();
    const ticker = setInterval(() => {
      const ms = Date.now() - startedAt;
      status.update(
        [
          `${shown} ${formatElapsed(ms)}`,
          `↑ ${wireRate(talker.bytesSent, ms)}`,
          `↓ ${wireRate(listener.bytesReceived, ms)}`,
          ...levels.parts(),
          ...delayParts(listener),
          ...(talker.muted ? ['MUTED'] : []),
        ].join(' · '),
      );
    }, 250);
    let end: CallEnd;
    try {
      end = await runRoomCall(joined, () => hangUp.requested);
    } finally {
      clearInterval(ticker);
    }
    conclude(status, 'call', end, { name: shown, elapsed: formatElapsed(Date.now() - startedAt) });
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    keys?.stop();
    hangUp.dispose();
  }
}
