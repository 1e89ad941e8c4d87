import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { CaptureSource } from '../audio/args.js';
import type { FfmpegInfo, FfmpegLocation } from '../audio/ffmpeg.js';
import { parseWavHeader, type WavHeader } from '../audio/wav.js';
import { wavFeedOf } from '../audio/wav-feed.js';
import { WaitingGate } from '../session/streams.js';
import type { StdinAudio } from '../session/talker.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode } from './exit-codes.js';

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

/** What `talk` (and `call`) capture from, with stdin audio prepared when that is the source. */
export async function captureSource(flags: { readonly tone?: number | undefined; readonly input?: string | undefined; readonly device?: string | undefined }, ffmpeg: FfmpegLocation & FfmpegInfo): Promise<{ source: CaptureSource; stdinAudio?: StdinAudio }> {
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
  return { source: { kind: 'device', backend: capture, device: flags.device } };
}

