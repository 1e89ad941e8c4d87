import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { Option, type Command } from 'commander';
import { talkArgs, type CaptureSource } from '../audio/args.js';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { runFfmpeg } from '../audio/process.js';
import { parseWavHeader, pcmInputOf, type WavHeader } from '../audio/wav.js';
import { generatePipeName, openUpload, pipeUrl, resolveServer } from '../client/index.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode } from './exit-codes.js';
import { asCliError, ffmpegFailure } from './failures.js';
import { wholeNumber } from './parse.js';
import { formatElapsed, Status } from './status.js';
import { CallMeter, WaitingGate } from './streams.js';

export interface TalkFlags {
  server?: string;
  input?: string;
  tone?: number;
  device?: string;
  bitrate: number;
  lowLatency?: boolean;
  ffmpeg?: string;
  quiet?: boolean;
}

export function registerTalk(program: Command): void {
  program
    .command('talk')
    .argument('[name]', 'pipe name (default: a new unguessable one)')
    .description('talk into a pipe: microphone (or --input/--tone) -> Opus in Ogg -> the relay')
    .option('--server <url>', 'relay URL (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--input <file|->', 'send an audio file, or WAV on stdin (-), in real time instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device (see `ffmpeg -sources pulse`)')
    .addOption(new Option('--bitrate <kbps>', 'Opus bitrate').argParser(wholeNumber(6, 510)).default(32))
    .option('--low-latency', '10 ms frames and pages: ~20 ms less delay for ~10 kbit/s more on the wire')
    .option('--ffmpeg <path>', 'ffmpeg to use (default: $HOODYCALL_FFMPEG, ffmpeg-static, then PATH)')
    .option('-q, --quiet', 'no status output')
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

function shareLines(server: URL, name: string, url: URL): string {
  const serverFlag = server.href === 'https://pipe.containers.hoody.com/' ? '' : ` --server ${server.origin}`;
  return [
    `The other side runs one of:`,
    `  hoodycall listen ${name}${serverFlag}`,
    `  curl -sN ${url.href} | mpv --no-video -`,
    `  or opens ${url.href} in a browser`,
    '',
  ].join('\n');
}

export async function talk(givenName: string | undefined, flags: TalkFlags): Promise<void> {
  const status = new Status(flags.quiet === true);
  const abort = new AbortController();
  let connected = false;
  let ffmpegStop: (() => void) | undefined;
  let signalled = false;
  const onSignal = (): void => {
    // The second ctrl-C does not wait for ffmpeg's trailer; execa's cleanup kills ffmpeg on exit.
    if (signalled) process.exit(ExitCode.interrupted);
    signalled = true;
    if (!connected || ffmpegStop === undefined) abort.abort();
    else ffmpegStop();
  };
  // `on`, not `once`: execa's child cleanup re-raises a signal that no other listener is left to handle.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (flags.tone !== undefined && flags.input !== undefined) throw new CliError('--tone and --input exclude each other', ExitCode.usage);
    const ffmpeg = await locateFfmpeg(flags.ffmpeg === undefined ? {} : { explicitPath: flags.ffmpeg });
    const server = resolveServer(flags.server, process.env);
    const name = givenName ?? generatePipeName();
    const url = pipeUrl(server, name);
    if (givenName === undefined) process.stdout.write(shareLines(server, name, url));

    let source: CaptureSource;
    let stdinAudio: { gate: WaitingGate; header: WavHeader } | undefined;
    if (flags.tone !== undefined) source = { kind: 'tone', frequency: flags.tone };
    else if (flags.input === '-') {
      const { header, rest } = await readWavHeader(process.stdin);
      const gate = new WaitingGate(header.blockAlign);
      gate.write(rest);
      // Drains stdin from now on, dropping audio until a listener is there.
      pipeline(process.stdin, gate).catch(() => undefined);
      gate.resume();
      stdinAudio = { gate, header };
      source = { kind: 'pcm', ...pcmInputOf(header) };
    } else if (flags.input !== undefined) source = { kind: 'file', path: flags.input };
    else {
      const { capture } = await detectBackends(ffmpeg);
      source = { kind: 'device', backend: capture, ...(flags.device === undefined ? {} : { device: flags.device }) };
    }

    const upload = openUpload(url, name, { signal: abort.signal, contentType: 'audio/ogg' });
    status.show(`waiting for a listener on ${name} (${url.origin} holds a call up to 5 min)`);
    await upload.connected.catch((error: unknown) => {
      if (abort.signal.aborted) throw new CliError('interrupted before anyone joined', ExitCode.interrupted);
      throw error;
    });
    connected = true;

    const run = runFfmpeg(ffmpeg.path, talkArgs(source, { bitrateKbps: flags.bitrate, lowLatency: flags.lowLatency === true }), 'talk', {
      stdin: stdinAudio === undefined ? 'ignore' : 'pipe',
      stdout: 'pipe',
    });
    ffmpegStop = () => run.stop();
    if (stdinAudio !== undefined && run.stdin !== null) {
      stdinAudio.gate.pause();
      stdinAudio.gate.open();
      pipeline(stdinAudio.gate, run.stdin).catch(() => undefined);
    }
    const startedAt = Date.now();
    const meter = new CallMeter(async () => {
      const outcome = await run.outcome;
      return outcome.ok ? undefined : ffmpegFailure(outcome);
    });
    const ticker = setInterval(() => {
      const seconds = (Date.now() - startedAt) / 1000;
      status.update(`on air ${formatElapsed(Date.now() - startedAt)} · ${((meter.bytes * 8) / 1000 / Math.max(seconds, 1)).toFixed(1)} kbit/s · ${name}`);
    }, 1000);
    status.show(`a listener joined ${name}: on air`);

    // The relay's progress lines come back on the response while we upload.
    let relayText = '';
    upload.stream.on('data', (chunk: Buffer) => {
      relayText += chunk.toString();
    });
    // Settles either way: when the upload fails, the pipeline's error is the one reported.
    const relayDone = once(upload.stream, 'end').then(
      () => relayText,
      () => relayText,
    );
    try {
      if (run.stdout === null) throw new Error('ffmpeg has no stdout');
      await pipeline(run.stdout, meter, upload.stream);
      await relayDone;
    } catch (error) {
      run.stop(500);
      const outcome = await run.outcome;
      if (error instanceof CliError) throw error;
      if (!outcome.ok) throw ffmpegFailure(outcome);
      if (/the receiver left/.test(relayText)) {
        status.done(`the listener hung up after ${formatElapsed(Date.now() - startedAt)}`);
        return;
      }
      throw new CliError(`the call was cut off after ${formatElapsed(Date.now() - startedAt)}: ${(error as Error).message}`, ExitCode.streamAborted);
    } finally {
      clearInterval(ticker);
    }
    status.done(`call ended after ${formatElapsed(Date.now() - startedAt)}, ${Math.round(meter.bytes / 1024)} KiB sent`);
  } catch (error) {
    status.stop();
    throw asCliError(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
