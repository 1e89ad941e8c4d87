import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { Option, type Command } from 'commander';
import type { CaptureSource } from '../audio/args.js';
import { type FfmpegInfo, type FfmpegLocation, locateFfmpeg } from '../audio/ffmpeg.js';
import { parseWavHeader, type WavHeader } from '../audio/wav.js';
import { wavFeedOf } from '../audio/wav-feed.js';
import { generatePipeName, pipeUrl, PUBLIC_SERVER, resolveServer } from '../client/index.js';
import { WaitingGate } from '../session/streams.js';
import type { StdinAudio } from '../session/talker.js';
import { Talker } from '../session/talker.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asCliError, ffmpegFailure } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { watchCallKeys } from './keys.js';
import { wholeNumber } from './parse.js';
import { formatElapsed, Status } from './status.js';
import { LevelTrail, seconds, wireRate } from './status-text.js';

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
}

/** `--low-latency` for talk, call and echo (measured: bench/README.md, "Frames and pages"). */
export const LOW_LATENCY_HELP = '10 ms Ogg pages and Opus lowdelay: ~13 ms less delay for ~13 kbit/s more on the wire';

export function registerTalk(program: Command): void {
  program
    .command('talk')
    .argument('[name]', 'pipe name (default: a new unguessable one)')
    .description('talk into a pipe: microphone (or --input/--tone) -> Opus in Ogg -> the relay')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--input <file|->', 'send an audio file, or WAV on stdin (-), in real time instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device (`hoodycall devices` lists them)')
    .addOption(new Option('--bitrate <kbps>', 'Opus bitrate').argParser(wholeNumber(6, 510)).default(32))
    .option('--low-latency', LOW_LATENCY_HELP)
    .option('--ffmpeg <path>', 'ffmpeg to use (default: $HOODYCALL_FFMPEG, ffmpeg-static, then PATH)')
    .option('--reconnect', 'when the connection drops or the relay restarts, dial the same name again')
    .option('--mute', 'start muted (press m to unmute)')
    .option('--push-to-talk', 'the microphone is open only while the space bar is held')
    .option('-q, --quiet', 'no status output')
    .addHelpText('after', '\nKeys on a terminal: m mutes/unmutes; with --push-to-talk, hold space to talk; ctrl-C hangs up.')
    .action(async (name: string | undefined, flags: TalkFlags) => talk(name, flags));
}

/**
 * Reads a WAV header off stdin; returns it with the bytes read past it. Plain listeners, not
 * `for await`: leaving such a loop early destroys the stream, and the audio follows the header.
 */
function readWavHeader(input: Readable): Promise<{ header: WavHeader; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onEnd);
      input.pause();
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        const header = parseWavHeader(buffered);
        if (header === null) return;
        finish();
        resolve({ header, rest: buffered.subarray(header.dataOffset) });
      } catch (error) {
        finish();
        reject(new CliError(`--input -: ${(error as Error).message}`, ExitCode.usage));
      }
    };
    const onEnd = (): void => {
      finish();
      reject(new CliError('--input -: stdin ended before a WAV header; send WAV (e.g. ffmpeg ... -f wav -)', ExitCode.usage));
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onEnd);
  });
}

/** ` --server ORIGIN` for a command line the other side runs; nothing for the public pipe, their default too. */
export function serverFlag(server: URL): string {
  return server.href === new URL(PUBLIC_SERVER).href ? '' : ` --server ${server.origin}`;
}

function shareLines(server: URL, name: string, url: URL): string {
  return [
    `The other side runs one of:`,
    `  hoodycall listen ${name}${serverFlag(server)}`,
    `  curl -sN ${url.href} | mpv --no-video -`,
    // The relay's page (`/#NAME`: the name stays out of request lines and logs) plays it after one click.
    `  or opens ${url.href.slice(0, url.href.lastIndexOf('api/v1/pipe/'))}#${name} in a browser and presses Listen`,
    '',
  ].join('\n');
}

/** What `talk` (and `call`) capture from, with stdin audio prepared when that is the source. */
export async function captureSource(flags: Pick<TalkFlags, 'tone' | 'input' | 'device'>, ffmpeg: FfmpegLocation & FfmpegInfo): Promise<{ source: CaptureSource; stdinAudio?: StdinAudio }> {
  if (flags.tone !== undefined && flags.input !== undefined) throw new CliError('--tone and --input exclude each other', ExitCode.usage);
  if (flags.tone !== undefined) return { source: { kind: 'tone', frequency: flags.tone } };
  if (flags.input === '-') {
    const { header, rest } = await readWavHeader(process.stdin);
    const feed = wavFeedOf(header);
    const convert = feed.convert();
    const gate = new WaitingGate(feed.frameBytes);
    convert.write(rest);
    // Drains stdin from now on, dropping audio until a listener is there.
    pipeline(process.stdin, convert, gate).catch(() => undefined);
    gate.resume();
    return { source: { kind: 'wav-stdin', packetBytes: feed.packetBytes }, stdinAudio: { header: feed.header, gate } };
  }
  if (flags.input !== undefined) return { source: { kind: 'file', path: flags.input } };
  const { capture } = await detectBackends(ffmpeg);
  return { source: { kind: 'device', backend: capture, ...(flags.device === undefined ? {} : { device: flags.device }) } };
}

export async function talk(givenName: string | undefined, flags: TalkFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const hangUp = new HangUpSignal();
  let keys: ReturnType<typeof watchCallKeys> = null;
  try {
    const ffmpeg = await locateFfmpeg(flags.ffmpeg === undefined ? {} : { explicitPath: flags.ffmpeg });
    const server = resolveServer(flags.server, process.env);
    const name = givenName ?? generatePipeName();
    const url = pipeUrl(server, name);
    if (givenName === undefined) process.stdout.write(shareLines(server, name, url));
    const { source, stdinAudio } = await captureSource(flags, ffmpeg);

    const current = new Talker({
      ffmpegPath: ffmpeg.path,
      source,
      ...(stdinAudio === undefined ? {} : { stdinAudio }),
      opus: { bitrateKbps: flags.bitrate, lowLatency: flags.lowLatency === true },
      url,
      name,
      reconnect: flags.reconnect === true,
      meter: status.live && source.kind === 'device',
    });
    hangUp.whenAsked(() => current.hangUp());
    current.muted = flags.mute === true || flags.pushToTalk === true;
    if (flags.input !== '-') {
      keys = watchCallKeys(process.stdin, { pushToTalk: flags.pushToTalk === true, onChange: (muted) => (current.muted = muted) });
    }
    const levels = new LevelTrail();
    current.on('level', (dbfs) => levels.add(dbfs));
    current.on('lost', (reason, delayMs) => status.show(`${reason}: reconnecting to ${name} in ${seconds(delayMs)}…`));
    current.on('connected', (gapMs) => {
      if (gapMs > 0) status.show(`back on air after a ${seconds(gapMs)} gap`);
    });

    status.show(`waiting for a listener on ${name} (${url.origin} holds a call up to 5 min)`);
    await current.connect().catch((error: unknown) => {
      if (hangUp.requested) throw new CliError('interrupted before anyone joined', ExitCode.interrupted);
      throw error;
    });
    status.show(`a listener joined ${name}: on air`);
    const ticker = setInterval(() => {
      const startedAt = current.startedAt ?? Date.now();
      const parts = [
        `on air ${formatElapsed(Date.now() - startedAt)}`,
        wireRate(current.bytesSent, Date.now() - startedAt),
        ...levels.parts(),
        ...(current.muted ? ['MUTED'] : []),
        name,
      ];
      if (current.connected) status.update(parts.join(' · '));
    }, 250);
    let end;
    try {
      end = await current.run();
    } finally {
      clearInterval(ticker);
    }
    const elapsed = formatElapsed(Date.now() - (current.startedAt ?? Date.now()));
    if (end.kind === 'ffmpeg-failed') throw ffmpegFailure(end.outcome);
    if (end.kind === 'finished') return status.done(`call ended after ${elapsed}, ${Math.round(current.bytesSent / 1024)} KiB sent`);
    if (hangUp.requested) return status.done(`hung up after ${elapsed}`);
    if (end.reason === 'the listener left') return status.done(`the listener hung up after ${elapsed}`);
    throw new CliError(`the call was cut off after ${elapsed}: ${end.reason}`, ExitCode.streamAborted);
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    keys?.stop();
    hangUp.dispose();
  }
}
