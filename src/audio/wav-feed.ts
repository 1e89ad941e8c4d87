/**
 * How a WAV that arrives on our stdin is handed on to ffmpeg: as a float WAV, read in small packets.
 *
 * Measured on ffmpeg 5.1 with 10 ms writes in real time (docs/decisions/2026-11-24-latency-wav-on-stdin.md):
 * - the raw demuxers (`-f s16le`) cut 1024-sample packets, so the encoder waits up to 21 ms at
 *   48 kHz for its input (newer ffmpeg aims at a tenth of a second per packet);
 * - the wav demuxer takes its packet size from `-max_size`, but for an integer-PCM WAV it first
 *   reads 64 KiB to look for S/PDIF data (0.68 s of 48 kHz mono s16, delay the call then keeps);
 * - a float WAV skips that probe. So integer PCM is converted to 32-bit float here (a few hundred
 *   kB/s at most), and A-law, µ-law and float pass as they are.
 */
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import {
  WAVE_FORMAT_ALAW,
  WAVE_FORMAT_IEEE_FLOAT,
  WAVE_FORMAT_MULAW,
  WAVE_FORMAT_PCM,
  WavHeaderError,
  type WavHeader,
} from './wav.js';

/** Sample encodings converted to 32-bit float before ffmpeg sees them. */
export type ConvertedSample = 'u8' | 's16le' | 's24le' | 's32le' | 'f64le';

/** About 5 ms of audio per demuxer packet; ffmpeg's `-max_size` accepts no less than 1024 bytes. */
const PACKET_MS = 5;
const MIN_PACKET_BYTES = 1024;
const UNKNOWN_SIZE = 0xffffffff;

export interface WavFeed {
  /** The WAV header ffmpeg reads first (sizes unknown: the stream has no end we know of). */
  readonly header: Buffer;
  /** Bytes per sample frame of what ffmpeg reads (all channels). */
  readonly frameBytes: number;
  /** ffmpeg's `-max_size` for this stream. */
  readonly packetBytes: number;
  /** Bytes of the caller's sample data in, bytes for ffmpeg out. */
  readonly convert: () => Transform;
}

interface SampleLayout {
  readonly formatTag: number;
  readonly bitsPerSample: number;
  readonly channels: number;
  readonly sampleRate: number;
}

/** A canonical 44-byte WAV header with streaming (unknown) sizes. */
export function streamingWavHeader(layout: SampleLayout): Buffer {
  const blockAlign = (layout.channels * layout.bitsPerSample) / 8;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(UNKNOWN_SIZE, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(layout.formatTag, 20);
  header.writeUInt16LE(layout.channels, 22);
  header.writeUInt32LE(layout.sampleRate, 24);
  header.writeUInt32LE(layout.sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(layout.bitsPerSample, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(UNKNOWN_SIZE, 40);
  return header;
}

/** The integer (or 64-bit float) sample encoding of a WAV that gets converted; null when it passes as is. */
export function convertedSampleOf(header: Pick<WavHeader, 'formatTag' | 'bitsPerSample'>): ConvertedSample | null {
  const { formatTag, bitsPerSample } = header;
  if (formatTag === WAVE_FORMAT_PCM) {
    const byBits: Record<number, ConvertedSample> = { 8: 'u8', 16: 's16le', 24: 's24le', 32: 's32le' };
    const sample = byBits[bitsPerSample];
    if (sample !== undefined) return sample;
  }
  if (formatTag === WAVE_FORMAT_IEEE_FLOAT && bitsPerSample === 64) return 'f64le';
  if (formatTag === WAVE_FORMAT_IEEE_FLOAT && bitsPerSample === 32) return null;
  if ((formatTag === WAVE_FORMAT_ALAW || formatTag === WAVE_FORMAT_MULAW) && bitsPerSample === 8) return null;
  throw new WavHeaderError(`unsupported WAV sample format (tag ${formatTag}, ${bitsPerSample} bits); convert it to PCM or pass it with --input`);
}

/** How to hand this WAV's samples to ffmpeg; throws WavHeaderError for a sample format ffmpeg is not given. */
export function wavFeedOf(header: WavHeader): WavFeed {
  const converted = convertedSampleOf(header);
  const layout: SampleLayout = converted === null
    ? header
    : { formatTag: WAVE_FORMAT_IEEE_FLOAT, bitsPerSample: 32, channels: header.channels, sampleRate: header.sampleRate };
  const frameBytes = (layout.channels * layout.bitsPerSample) / 8;
  const packetFrames = Math.max(1, Math.round((layout.sampleRate * PACKET_MS) / 1000));
  return {
    header: streamingWavHeader(layout),
    frameBytes,
    packetBytes: Math.max(MIN_PACKET_BYTES, packetFrames * frameBytes),
    convert: () => (converted === null ? new PassThrough() : new ToFloat32(converted)),
  };
}

const SAMPLE_BYTES: Record<ConvertedSample, number> = { u8: 1, s16le: 2, s24le: 3, s32le: 4, f64le: 8 };

const READERS: Record<ConvertedSample, (bytes: Buffer, at: number) => number> = {
  u8: (bytes, at) => (bytes.readUInt8(at) - 128) / 128,
  s16le: (bytes, at) => bytes.readInt16LE(at) / 0x8000,
  s24le: (bytes, at) => bytes.readIntLE(at, 3) / 0x800000,
  s32le: (bytes, at) => bytes.readInt32LE(at) / 0x80000000,
  f64le: (bytes, at) => bytes.readDoubleLE(at),
};

/** Whole samples of `sample` encoding to little-endian 32-bit float; a trailing partial sample is ignored. */
export function toFloat32(bytes: Buffer, sample: ConvertedSample): Buffer {
  const width = SAMPLE_BYTES[sample];
  const read = READERS[sample];
  const count = Math.floor(bytes.length / width);
  const out = Buffer.allocUnsafe(count * 4);
  for (let i = 0; i < count; i++) out.writeFloatLE(read(bytes, i * width), i * 4);
  return out;
}

/** `toFloat32` over a stream whose chunks may split a sample. */
class ToFloat32 extends Transform {
  readonly #sample: ConvertedSample;
  #partial: Buffer = Buffer.alloc(0);

  constructor(sample: ConvertedSample) {
    super();
    this.#sample = sample;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = this.#partial.length === 0 ? chunk : Buffer.concat([this.#partial, chunk]);
    const whole = bytes.length - (bytes.length % SAMPLE_BYTES[this.#sample]);
    this.#partial = Buffer.from(bytes.subarray(whole));
    if (whole === 0) return callback();
    callback(null, toFloat32(bytes.subarray(0, whole), this.#sample));
  }
}
