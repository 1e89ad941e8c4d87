import { Option, type Command } from 'commander';
import { DEFAULT_MAX_DELAY_MS } from '../audio/catch-up.js';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { generatePipeName, PipeError, pipeUrl, resolveServer } from '../client/index.js';
import { type ListenEnd, Listener } from '../session/listener.js';
import { type TalkEnd, Talker } from '../session/talker.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asCliError, ffmpegFailure } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { watchCallKeys } from './keys.js';
import { delayBound, wholeNumber } from './parse.js';
import { playbackTarget } from './playback.js';
import { formatElapsed, Status } from './status.js';
import { LevelTrail, seconds, wireRate } from './status-text.js';
import { captureSource, LOW_LATENCY_HELP, serverFlag } from './talk.js';

interface CallFlags {
  server?: string;
  input?: string;
  tone?: number;
  device?: string;
  output?: string;
  speaker?: string;
  bitrate: number;
  lowLatency?: boolean;
  maxDelay: number | null;
  reconnect: boolean;
  mute?: boolean;
  pushToTalk?: boolean;
  ffmpeg?: string;
  quiet?: boolean;
}

export function registerCall(program: Command): void {
  program
    .command('call')
    .argument('[room]', 'room name both people use (default: a new unguessable one)')
    .description('a two-way call: both people run `hoodycall call ROOM`; each talks on one pipe of the room and listens on the other')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--input <file|->', 'send an audio file, or WAV on stdin (-), instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device')
    .option('--speaker <name>', 'playback device (a PulseAudio sink or ALSA device; an mpv --audio-device where mpv plays)')
    .option('--output <file|->', 'write what you hear as WAV (- = stdout) instead of playing it')
    .addOption(new Option('--bitrate <kbps>', 'Opus bitrate').argParser(wholeNumber(6, 510)).default(32))
    .option('--low-latency', LOW_LATENCY_HELP)
    .option('--max-delay <ms>', 'after a stall, drop the oldest audio so you hear at most this much late (0 or off: keep it all)', delayBound, DEFAULT_MAX_DELAY_MS)
    .option('--no-reconnect', 'end the call when the connection drops instead of dialing again')
    .option('--mute', 'start muted (press m to unmute)')
    .option('--push-to-talk', 'the microphone is open only while the space bar is held')
    .option('--ffmpeg <path>', 'ffmpeg to use')
    .option('-q, --quiet', 'no status output')
    .addHelpText('after', '\nRoles: the first to arrive talks on ROOM/a and listens on ROOM/b; the second finds ROOM/a taken and takes the mirror.\nKeys on a terminal: m mutes/unmutes; with --push-to-talk, hold space to talk; ctrl-C hangs up for both.')
    .action(async (room: string | undefined, flags: CallFlags) => call(room, flags));
}

type Role = 'a' | 'b';
const other = (role: Role): Role => (role === 'a' ? 'b' : 'a');

/** Whether a failure is the room's first pipe being taken: the other person came first. */
function isBusy(error: unknown): boolean {
  return error instanceof PipeError && error.kind === 'busy';
}

export async function call(givenRoom: string | undefined, flags: CallFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  let talker: Talker | undefined;
  let listener: Listener | undefined;
  const hangUp = new HangUpSignal();
  let hungUp = false;
  // The other side hears our stream end first, so it knows this is a hang-up and not a drop.
  const endBoth = (): void => {
    if (hungUp) return;
    hungUp = true;
    talker?.hangUp();
    setTimeout(() => listener?.hangUp(), 300).unref();
  };
  hangUp.whenAsked(endBoth);
  let keys: ReturnType<typeof watchCallKeys> = null;
  try {
    const ffmpeg = await locateFfmpeg(flags.ffmpeg === undefined ? {} : { explicitPath: flags.ffmpeg });
    const server = resolveServer(flags.server, process.env);
    const room = givenRoom ?? generatePipeName();
    if (givenRoom === undefined) {
      process.stdout.write(`The other side runs:\n  hoodycall call ${room}${serverFlag(server)}\n\n`);
    }
    const { source, stdinAudio } = await captureSource(flags, ffmpeg);
    const target = await playbackTarget({ ...(flags.output === undefined ? {} : { output: flags.output }), ...(flags.speaker === undefined ? {} : { device: flags.speaker }) }, ffmpeg);

    const sides = (role: Role): { talker: Talker; listener: Listener } => ({
      talker: new Talker({
        ffmpegPath: ffmpeg.path,
        source,
        ...(stdinAudio === undefined ? {} : { stdinAudio }),
        opus: { bitrateKbps: flags.bitrate, lowLatency: flags.lowLatency === true },
        url: pipeUrl(server, `${room}/${role}`),
        name: `${room}/${role}`,
        reconnect: flags.reconnect,
        meter: status.live && source.kind === 'device',
      }),
      listener: new Listener({
        ffmpegPath: ffmpeg.path,
        target,
        decoderStdout: flags.output === '-' ? 'inherit' : 'ignore',
        url: pipeUrl(server, `${room}/${other(role)}`),
        name: `${room}/${other(role)}`,
        reconnect: flags.reconnect,
        maxDelayMs: flags.maxDelay,
      }),
    });

    status.show(`waiting for the other side in ${room} (${server.origin} holds a call up to 5 min)`);
    // Roles: try to be "a" (talk on ROOM/a, listen on ROOM/b). A 409 on ROOM/a means the other
    // person is "a" already: take "b". Both may have asked for ROOM/b as listeners in the same
    // instant, so a busy ROOM/b is redialed while the other side switches.
    let role: Role = 'a';
    let pair = sides('a');
    let listening = pair.listener.run(['busy']);
    // Awaited below; marked handled now so a refusal while the talker still dials is not "unhandled".
    listening.catch(() => undefined);
    try {
      talker = pair.talker;
      listener = pair.listener;
      await pair.talker.connect();
    } catch (error) {
      if (!isBusy(error) || hangUp.requested) throw error;
      pair.listener.hangUp();
      await listening;
      role = 'b';
      pair = sides('b');
      talker = pair.talker;
      listener = pair.listener;
      listening = pair.listener.run(['busy']);
      listening.catch(() => undefined);
      await pair.talker.connect(['busy']).catch((failure: unknown) => {
        // Both pipes of the room stay taken: two people are in it already.
        if (isBusy(failure)) throw new CliError(`the room ${room} is full: two people are in a call there`, ExitCode.pipeBusy);
        throw failure;
      });
    }
    const you = pair;
    if (hangUp.requested) you.talker.hangUp();
    status.show(`in a call in ${room} (you are ${role})`);
    you.talker.muted = flags.mute === true || flags.pushToTalk === true;
    if (flags.input !== '-') keys = watchCallKeys(process.stdin, { pushToTalk: flags.pushToTalk === true, onChange: (muted) => (you.talker.muted = muted) });
    const levels = new LevelTrail();
    you.talker.on('level', (dbfs) => levels.add(dbfs));
    const lostLine = (direction: string) => (reason: string, delayMs: number) => status.show(`${direction}: ${reason}; reconnecting in ${seconds(delayMs)}…`);
    const backLine = (direction: string) => (gapMs: number) => {
      if (gapMs > 0) status.show(`${direction} back after a ${seconds(gapMs)} gap`);
    };
    you.talker.on('lost', lostLine('sending'));
    you.talker.on('connected', backLine('sending'));
    you.listener.on('lost', lostLine('hearing'));
    you.listener.on('connected', backLine('hearing'));
    you.listener.on('skip', (event) => status.show(`caught up: skipped ${seconds(event.skippedMs)} of late audio`));

    const startedAt = Date.now();
    const ticker = setInterval(() => {
      const ms = Date.now() - startedAt;
      status.update(
        [
          `${room} ${formatElapsed(ms)}`,
          `↑ ${wireRate(you.talker.bytesSent, ms)}`,
          `↓ ${wireRate(you.listener.bytesReceived, ms)}`,
          ...levels.parts(),
          `${Math.round(you.listener.behindMs)} ms behind`,
          ...(you.talker.muted ? ['MUTED'] : []),
        ].join(' · '),
      );
    }, 250);

    // Either direction ending ends the call: the other person hung up (their stream ended), we did,
    // or something failed for good.
    const talking = you.talker.run();
    let ended: { side: 'talk'; end: TalkEnd } | { side: 'listen'; end: ListenEnd };
    try {
      ended = await Promise.race([talking.then((end) => ({ side: 'talk' as const, end })), listening.then((end) => ({ side: 'listen' as const, end }))]);
    } finally {
      endBoth();
    }
    const [talkEnd, listenEnd] = await Promise.all([talking, listening.catch((error: unknown) => ({ kind: 'error' as const, error }))]);
    clearInterval(ticker);
    const elapsed = formatElapsed(Date.now() - startedAt);
    if (talkEnd.kind === 'ffmpeg-failed') throw ffmpegFailure(talkEnd.outcome);
    if (listenEnd.kind === 'ffmpeg-failed') throw ffmpegFailure(listenEnd.outcome);
    if (ended.side === 'listen' && ended.end.kind === 'finished') return status.done(`the other side hung up after ${elapsed}`);
    if (ended.side === 'listen' && ended.end.kind === 'cut') throw new CliError(`the call was cut off after ${elapsed}: ${ended.end.reason}`, ExitCode.streamAborted);
    if (ended.side === 'talk' && ended.end.kind === 'cut' && ended.end.reason !== 'hung up' && ended.end.reason !== 'the listener left') {
      throw new CliError(`the call was cut off after ${elapsed}: ${ended.end.reason}`, ExitCode.streamAborted);
    }
    if (listenEnd.kind === 'error') throw listenEnd.error;
    status.done(`call ended after ${elapsed}`);
  } catch (error) {
    status.stop();
    talker?.abort();
    listener?.hangUp();
    if (hangUp.requested && talker?.startedAt === undefined) throw new CliError('interrupted before the other side came', ExitCode.interrupted);
    throw asCliError(error);
  } finally {
    keys?.stop();
    hangUp.dispose();
  }
}
