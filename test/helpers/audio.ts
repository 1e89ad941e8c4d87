/** Test helpers for the audio layer: run the real ffmpeg on buffers, split Ogg pages, write WAV headers. */
import { execa } from 'execa';
import { discoverFfmpeg } from '../../src/audio/ffmpeg.js';

let cached: Promise<string> | undefined;

/** The ffmpeg the tests drive: $HOODYCALL_FFMPEG, else PATH (as in CI, Debian's ffmpeg). */
export function testFfmpeg(): Promise<string> {
  cached ??= discoverFfmpeg({ ffmpegStatic: () => Promise.resolve(null) }).then((found) => found.path);
  return cached;
}

export interface FfmpegRun {
  readonly exitCode: number | undefined;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs ffmpeg with `args`, `input` on stdin (or nothing), and collects stdout as bytes. Never rejects. */
export async function runFfmpeg(args: readonly string[], input?: Uint8Array, timeoutMs = 20_000): Promise<FfmpegRun> {
  const ffmpeg = await testFfmpeg();
  const result = await execa(ffmpeg, [...args], {
    reject: false,
    encoding: 'buffer',
    timeout: timeoutMs,
    stripFinalNewline: false,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  return { exitCode: result.exitCode, stdout: Buffer.from(result.stdout), stderr: Buffer.from(result.stderr).toString('utf8') };
}

export interface OggPage {
  readonly offset: number;
  readonly headerType: number;
  readonly granule: bigint;
  readonly serial: number;
  readonly sequence: number;
  /** The page's payload (all its segments). */
  readonly body: Buffer;
}

/** Splits a complete Ogg stream into pages by walking page headers; throws on a malformed stream. */
export function oggPages(data: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (data.toString('latin1', offset, offset + 4) !== 'OggS') throw new Error(`no OggS capture pattern at byte ${offset}`);
    if (offset + 27 > data.length) throw new Error('truncated Ogg page header');
    const segments = data.readUInt8(offset + 26);
    const headerLength = 27 + segments;
    let bodyLength = 0;
    for (let i = 0; i < segments; i++) bodyLength += data.readUInt8(offset + 27 + i);
    const end = offset + headerLength + bodyLength;
    if (end > data.length) throw new Error('truncated Ogg page body');
    pages.push({
      offset,
      headerType: data.readUInt8(offset + 5),
      granule: data.readBigInt64LE(offset + 6),
      serial: data.readUInt32LE(offset + 14),
      sequence: data.readUInt32LE(offset + 18),
      body: data.subarray(offset + headerLength, end),
    });
    offset = end;
  }
  return pages;
}

/** Occurrences of `OggS` in `data` (what a quick page count sees). */
export function countOggS(data: Buffer): number {
  let count = 0;
  for (let at = data.indexOf('OggS'); at !== -1; at = data.indexOf('OggS', at + 4)) count++;
  return count;
}

export interface WavSpec {
  readonly formatTag?: number;
  readonly channels?: number;
  readonly sampleRate?: number;
  readonly bitsPerSample?: number;
  /** Chunks written between fmt and data, e.g. `LIST`. */
  readonly extraChunks?: ReadonlyArray<{ id: string; body: Buffer }>;
  /** Value written as the data chunk's size; defaults to the real length. */
  readonly dataSizeField?: number;
  readonly riffSizeField?: number;
}

function chunk(id: string, body: Buffer, sizeField = body.length): Buffer {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(sizeField, 4);
  return Buffer.concat([header, body, body.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

/** A WAV file image with a plain 16-byte fmt chunk. */
export function buildWav(data: Buffer, spec: WavSpec = {}): Buffer {
  const channels = spec.channels ?? 1;
  const sampleRate = spec.sampleRate ?? 48_000;
  const bits = spec.bitsPerSample ?? 16;
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(spec.formatTag ?? 1, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(sampleRate, 4);
  fmt.writeUInt32LE((sampleRate * channels * bits) / 8, 8);
  fmt.writeUInt16LE((channels * bits) / 8, 12);
  fmt.writeUInt16LE(bits, 14);
  const body = Buffer.concat([
    Buffer.from('WAVE', 'latin1'),
    chunk('fmt ', fmt),
    ...(spec.extraChunks ?? []).map((extra) => chunk(extra.id, extra.body)),
    chunk('data', data, spec.dataSizeField ?? data.length),
  ]);
  return chunk('RIFF', body, spec.riffSizeField ?? body.length);
}

/** s16le bytes of float samples in [-1, 1]. */
export function floatToS16le(samples: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const value = Math.max(-1, Math.min(1, samples[i] ?? 0));
    out.writeInt16LE(Math.round(value * 32767), i * 2);
  }
  return out;
}
