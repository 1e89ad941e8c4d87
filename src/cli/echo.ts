import type { Command } from 'commander';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { generatePipeName, pipeUrl } from '../client/index.js';
import { createRelay } from '../relay/index.js';
import { measuredDelay, SampleClock } from '../session/delay.js';
import { Listener } from '../session/listener.js';
import { METER_RATE, Talker } from '../session/talker.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asCliError, ffmpegFailure } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { wholeNumber } from './parse.js';
import { playbackTarget } from './playback.js';
import { formatElapsed, Status } from './status.js';
import { captureSource, LOW_LATENCY_HELP } from './talk.js';

interface EchoFlags {
  input?: string;
  tone?: number;
  device?: string;
  output?: string;
  lowLatency?: boolean;
  ffmpeg?: string;
  quiet?: boolean;
}

export function registerEcho(program: Command): void {
  program
    .command('echo')
    .description('hear yourself through the whole real path: an embedded relay on 127.0.0.1, talk and listen')
    .option('--input <file|->', 'send an audio file (or WAV on stdin) instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device')
    .option('--output <file|->', 'record what comes back as WAV instead of playing it')
    .option('--low-latency', LOW_LATENCY_HELP)
    .option('--ffmpeg <path>', 'ffmpeg to use')
    .option('-q, --quiet', 'no status output')
    .action(async (flags: EchoFlags) => echo(flags));
}

/** The middle value (the upper one of an even count); undefined for none. */
function medianOf(values: readonly number[]): number | undefined {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * No server, no configuration: the check a person runs first after installing. It times the call
 * too: sample N into the encoder versus sample N out of the decoder (session/delay.ts).
 */
async function echo(flags: EchoFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const hangUp = new HangUpSignal();
  let talker: Talker | undefined;
  const relay = createRelay();
  let listener: Listener | undefined;
  try {
    const ffmpeg = await locateFfmpeg(flags.ffmpeg === undefined ? {} : { explicitPath: flags.ffmpeg });
    const { source, stdinAudio } = await captureSource(flags, ffmpeg);
    const target = await playbackTarget(flags.output === undefined ? {} : { output: flags.output }, ffmpeg);
    const server = await relay.listen(0, '127.0.0.1');
    const name = generatePipeName();
    const url = pipeUrl(server, name);
    const current = new Talker({
      ffmpegPath: ffmpeg.path,
      source,
      ...(stdinAudio === undefined ? {} : { stdinAudio }),
      opus: { lowLatency: flags.lowLatency === true },
      url,
      name,
      reconnect: false,
      meter: true,
    });
    talker = current;
    hangUp.whenAsked(() => current.hangUp());
    const back = new Listener({ ffmpegPath: ffmpeg.path, target, decoderStdout: flags.output === '-' ? 'inherit' : 'ignore', url, name, reconnect: false, meter: true });
    listener = back;
    const captured = new SampleClock(METER_RATE);
    const decoded = new SampleClock(METER_RATE);
    current.on('captured', (samples) => captured.add(samples, Date.now()));
    back.on('decoded', (samples) => decoded.add(samples, Date.now()));
    const delays: number[] = [];
    status.show(`starting an echo through a relay on ${server.origin}`);
    const listening = back.run();
    listening.catch(() => undefined);
    await current.connect();
    const startedAt = Date.now();
    const ticker = setInterval(() => {
      const delay = measuredDelay(captured, decoded);
      if (delay !== null) delays.push(delay);
      if (delays.length > 20) delays.shift();
      const median = medianOf(delays);
      status.update(`echo ${formatElapsed(Date.now() - startedAt)} · you hear yourself ${median === undefined ? '…' : `${Math.round(median)} ms`} late (+ device buffers) · ctrl-C ends`);
    }, 250);
    status.show('echo: speak and hear yourself through the relay');
    let talkEnd;
    try {
      talkEnd = await current.run();
    } finally {
      clearInterval(ticker);
    }
    const listenEnd = await listening;
    if (talkEnd.kind === 'ffmpeg-failed') throw ffmpegFailure(talkEnd.outcome);
    if (listenEnd.kind === 'ffmpeg-failed') throw ffmpegFailure(listenEnd.outcome);
    if (talkEnd.kind === 'cut') throw new CliError(`the echo was cut off: ${talkEnd.reason}`, ExitCode.streamAborted);
    const median = medianOf(delays);
    status.done(`echo ended after ${formatElapsed(Date.now() - startedAt)}${median === undefined ? '' : `; you heard yourself ${Math.round(median)} ms late (+ device buffers)`}`);
  } catch (error) {
    status.stop();
    talker?.abort();
    listener?.hangUp();
    throw asCliError(error);
  } finally {
    hangUp.dispose();
    await relay.close({ graceMs: 1_000 });
  }
}
