import type { Command } from 'commander';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { generatePipeName, PipeError, pipeUrl, resolveServer } from '../client/index.js';
import { createRelay, type Relay } from '../relay/index.js';
import { measuredDelay, SampleClock } from '../session/delay.js';
import type { CallEnd } from '../session/ends.js';
import { Listener } from '../session/listener.js';
import { METER_RATE, Talker } from '../session/talker.js';
import { captureSource } from './capture.js';
import { conclude, endOfDial } from './conclude.js';
import { asCliError } from './failures.js';
import { HangUpSignal } from './hang-up.js';
import { wholeNumber } from './parse.js';
import { playbackTarget } from './playback.js';
import { formatElapsed, Status } from './status.js';
import { generateCode, openCode } from '../wire.js';
import { LOW_LATENCY_HELP } from './talk.js';

interface EchoFlags {
  server?: string;
  input?: string;
  tone?: number;
  device?: string;
  output?: string;
  lowLatency?: boolean;
  ffmpeg?: string;
  quiet?: boolean;
  secret?: boolean;
}

export function registerEcho(program: Command): void {
  program
    .command('echo')
    .description('hear yourself through the whole real path: talk and listen through a relay (an embedded one on 127.0.0.1 unless --server)')
    .option('--server <url>', 'echo through this relay instead of an embedded one (checks the network path too)')
    .option('--input <file|->', 'send an audio file (or WAV on stdin) instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device')
    .option('--output <file|->', 'record what comes back as WAV instead of playing it')
    .option('--low-latency', LOW_LATENCY_HELP)
    .option('--secret', 'seal the echo end to end, as `talk --secret` does: the same path a sealed call takes')
    .option('--ffmpeg <path>', 'ffmpeg to use')
    .option('-q, --quiet', 'no status output')
    .action(async (flags: EchoFlags) => echo(flags));
}

/** After a hang-up, how long the listener may take to hear the stream end before it is stopped. */
const ECHO_LISTENER_LINGER_MS = 2_000;

/** The middle value (the upper one of an even count); undefined for none. */
function medianOf(values: readonly number[]): number | undefined {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * The check a person runs first after installing: no configuration, the whole real path. It times
 * the call too: sample N into the encoder versus sample N out of the decoder (session/delay.ts),
 * counting what the catch-up dropped, so the figure is what is heard (plus the device buffers).
 */
async function echo(flags: EchoFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const hangUp = new HangUpSignal();
  let relay: Relay | undefined;
  try {
    const ffmpeg = await locateFfmpeg({ explicitPath: flags.ffmpeg });
    const { source, stdinAudio } = await captureSource(flags, ffmpeg);
    const target = await playbackTarget({ output: flags.output }, ffmpeg);
    let server: URL;
    if (flags.server === undefined) {
      relay = createRelay();
      server = await relay.listen(0, '127.0.0.1');
    } else server = resolveServer(flags.server, process.env);
    const sealed = flags.secret === true ? await openCode(generateCode()) : undefined;
    const name = sealed?.pipeName ?? generatePipeName();
    const url = pipeUrl(server, name);
    const talker = new Talker({
      ffmpegPath: ffmpeg.path,
      source,
      stdinAudio,
      opus: { lowLatency: flags.lowLatency === true },
      url,
      name,
      signal: hangUp.signal,
      reconnect: false,
      meter: true,
      sealed,
    });
    // The listener hears the talker's stream end (our hang-up, cleanly); it is stopped itself only if
    // that does not come (hung up before the call began, or a talker that failed).
    const stopListening = new AbortController();
    hangUp.signal.addEventListener('abort', () => setTimeout(() => stopListening.abort(), ECHO_LISTENER_LINGER_MS).unref(), { once: true });
    const listener = new Listener({ ffmpegPath: ffmpeg.path, target, decoderStdout: flags.output === '-' ? 'inherit' : 'ignore', url, name, signal: stopListening.signal, reconnect: false, meter: true, sealed });
    const captured = new SampleClock(METER_RATE);
    const decoded = new SampleClock(METER_RATE);
    talker.on('captured', (samples) => captured.add(samples, Date.now()));
    listener.on('decoded', (samples) => decoded.add(samples, Date.now()));
    const delays: number[] = [];
    status.state(`starting an echo through ${relay === undefined ? server.origin : `a relay on ${server.origin}`}`);
    const listening = listener.run();
    listening.catch(() => undefined);
    let end: CallEnd;
    try {
      await talker.connect();
    } catch (error) {
      stopListening.abort();
      await listening.catch(() => undefined);
      return conclude(status, 'echo', endOfDial(error, hangUp), { name, elapsed: formatElapsed(0) });
    }
    const startedAt = Date.now();
    const ticker = setInterval(() => {
      const delay = measuredDelay(captured, decoded, (listener.skippedMs * METER_RATE) / 1000);
      // What is handed to the player but not yet played is heard that much later.
      if (delay !== null) delays.push(delay + (listener.playout?.inHandMs ?? 0));
      if (delays.length > 20) delays.shift();
      const median = medianOf(delays);
      status.update(`echo ${formatElapsed(Date.now() - startedAt)} · you hear yourself ${median === undefined ? '…' : `${Math.round(median)} ms`} late (+ device buffers) · ctrl-C ends`);
    }, 250);
    status.event('echo: speak and hear yourself through the relay');
    status.showLive('echo');
    try {
      const talking = talker.run();
      // A talker that ends badly must not leave the listener waiting for a clean end.
      void talking.then((talked) => talked.kind !== 'finished' && stopListening.abort(), () => stopListening.abort());
      const [talked, heard] = await Promise.all([talking, listening]);
      if (talked.kind === 'audio-failed') end = talked;
      else if (heard.kind === 'audio-failed' || heard.kind === 'not-audio' || heard.kind === 'unauthenticated') end = heard;
      else if (talked.kind === 'lost') end = { kind: 'cut', error: talked.error };
      else if (heard.kind === 'lost') end = { kind: 'cut', error: heard.error };
      else end = hangUp.requested ? { kind: 'hung-up' } : { kind: 'finished' };
      if (heard.kind === 'hung-up' && !hangUp.requested && end.kind === 'finished') end = { kind: 'cut', error: new PipeError('lost', 'the echo did not come back') };
    } finally {
      clearInterval(ticker);
    }
    conclude(status, 'echo', end, { name, elapsed: formatElapsed(Date.now() - startedAt), delayMs: medianOf(delays) });
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    hangUp.dispose();
    await relay?.close({ graceMs: 1_000 });
  }
}
