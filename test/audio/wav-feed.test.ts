/**
 * A WAV on stdin handed on to ffmpeg: the conversions as pure functions, and against the real ffmpeg
 * the reason for them (an integer-PCM WAV holds ffmpeg's first packet back for 64 KiB of input).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { QUIET_ARGS, wavStdinInputArgs } from '../../src/audio/args.js';
import { convertedSampleOf, streamingWavHeader, toFloat32, wavFeedOf } from '../../src/audio/wav-feed.js';
import { parseWavHeader, type WavHeader } from '../../src/audio/wav.js';
import { buildWav, floatToS16le, testFfmpeg } from '../helpers/audio.js';
import { dominantFrequency, sine } from '../helpers/goertzel.js';

function parsed(wav: Buffer): WavHeader {
  const header = parseWavHeader(wav);
  assert.ok(header !== null);
  return header;
}

function floats(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

test('convertedSampleOf: integer PCM and 64-bit float are converted, float32 and G.711 pass, the rest is refused', () => {
  const cases: Array<[number, number, string | null]> = [
    [1, 8, 'u8'], [1, 16, 's16le'], [1, 24, 's24le'], [1, 32, 's32le'],
    [3, 64, 'f64le'], [3, 32, null], [6, 8, null], [7, 8, null],
  ];
  for (const [formatTag, bitsPerSample, expected] of cases) {
    assert.equal(convertedSampleOf({ formatTag, bitsPerSample }), expected, `tag ${formatTag}/${bitsPerSample}`);
  }
  for (const [formatTag, bitsPerSample] of [[1, 12], [3, 16], [2, 4], [0x55, 0]] as const) {
    assert.throws(() => convertedSampleOf({ formatTag, bitsPerSample }), /^WavHeaderError: unsupported WAV sample format \(tag \d+, \d+ bits\)/);
  }
});

test('streamingWavHeader: 44 bytes that read back as the same layout with unknown sizes', () => {
  const header = streamingWavHeader({ formatTag: 3, bitsPerSample: 32, channels: 2, sampleRate: 44100 });
  assert.equal(header.length, 44);
  assert.deepEqual(parsed(header), {
    container: 'RIFF', formatTag: 3, extensible: false, channels: 2, sampleRate: 44100, bitsPerSample: 32,
    blockAlign: 8, dataOffset: 44, dataSize: null,
  });
});

test('toFloat32: full scale maps to [-1, 1) for each integer width; f64 is narrowed', () => {
  assert.deepEqual(floats(toFloat32(Buffer.from([0, 128, 255]), 'u8')), [-1, 0, 127 / 128]);
  const s16 = Buffer.alloc(6);
  [-32768, 0, 16384].forEach((v, i) => s16.writeInt16LE(v, i * 2));
  assert.deepEqual(floats(toFloat32(s16, 's16le')), [-1, 0, 0.5]);
  const s24 = Buffer.alloc(6);
  s24.writeIntLE(-0x800000, 0, 3);
  s24.writeIntLE(0x400000, 3, 3);
  assert.deepEqual(floats(toFloat32(s24, 's24le')), [-1, 0.5]);
  const s32 = Buffer.alloc(8);
  s32.writeInt32LE(-0x80000000, 0);
  s32.writeInt32LE(0x20000000, 4);
  assert.deepEqual(floats(toFloat32(s32, 's32le')), [-1, 0.25]);
  const f64 = Buffer.alloc(16);
  f64.writeDoubleLE(-0.75, 0);
  f64.writeDoubleLE(0.125, 8);
  assert.deepEqual(floats(toFloat32(f64, 'f64le')), [-0.75, 0.125]);
  assert.equal(toFloat32(Buffer.from([1, 2, 3]), 's16le').length, 4, 'a trailing partial sample is left out');
});

test('wavFeedOf: s16 becomes float32 with ~5 ms packets (never under 1024 bytes); float and A-law pass as they are', async () => {
  const mono = wavFeedOf(parsed(buildWav(Buffer.alloc(0), { sampleRate: 48000, channels: 1, bitsPerSample: 16 })));
  assert.deepEqual([mono.frameBytes, mono.packetBytes], [4, 1024]);
  assert.deepEqual(mono.header, streamingWavHeader({ formatTag: 3, bitsPerSample: 32, channels: 1, sampleRate: 48000 }));
  const stereo = wavFeedOf(parsed(buildWav(Buffer.alloc(0), { sampleRate: 48000, channels: 2, bitsPerSample: 16 })));
  assert.deepEqual([stereo.frameBytes, stereo.packetBytes], [8, 1920]);

  // Chunks that split samples come out the same as the whole.
  const pcm = floatToS16le(sine(440, 48000, 0.05));
  const whole = toFloat32(pcm, 's16le');
  const pieces = [pcm.subarray(0, 3), pcm.subarray(3, 4), pcm.subarray(4, 1001), pcm.subarray(1001)];
  assert.deepEqual(await buffer(Readable.from(pieces).pipe(mono.convert())), whole);

  const float = wavFeedOf(parsed(buildWav(Buffer.alloc(0), { sampleRate: 48000, channels: 1, bitsPerSample: 32, formatTag: 3 })));
  assert.equal(parsed(float.header).formatTag, 3);
  assert.deepEqual(await buffer(Readable.from([Buffer.from([1, 2, 3, 4, 5])]).pipe(float.convert())), Buffer.from([1, 2, 3, 4, 5]));
  const alaw = wavFeedOf(parsed(buildWav(Buffer.alloc(0), { sampleRate: 8000, channels: 1, bitsPerSample: 8, formatTag: 6 })));
  assert.deepEqual([parsed(alaw.header).formatTag, alaw.frameBytes, alaw.packetBytes], [6, 1, 1024]);
});

/** Writes `header` and 0.25 s of a 440 Hz tone, keeps stdin open, and returns what ffmpeg decoded within `waitMs`. */
async function decodedWhileOpen(header: Buffer, samples: Buffer, waitMs: number): Promise<Buffer> {
  const ffmpeg = spawn(await testFfmpeg(), [...QUIET_ARGS, ...wavStdinInputArgs(1024), '-flush_packets', '1', '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const out: Buffer[] = [];
  ffmpeg.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  ffmpeg.stdin.write(Buffer.concat([header, samples]));
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  ffmpeg.kill('SIGKILL');
  await once(ffmpeg, 'close');
  return Buffer.concat(out);
}

test('real ffmpeg: a float WAV is decoded as it comes; an s16 WAV is held back until 64 KiB (the S/PDIF probe)', async () => {
  const tone = sine(440, 48000, 0.25);
  const s16 = floatToS16le(tone);
  const feed = wavFeedOf(parsed(buildWav(Buffer.alloc(0), { sampleRate: 48000, channels: 1, bitsPerSample: 16 })));
  const fed = await decodedWhileOpen(feed.header, toFloat32(s16, 's16le'), 1500);
  // All but the last packet, at least: ffmpeg holds back nothing it has a whole packet of.
  assert.ok(fed.length >= s16.length - 2048, `decoded ${fed.length} of ${s16.length} bytes`);
  const samples = Array.from({ length: fed.length / 2 }, (_, i) => fed.readInt16LE(i * 2) / 32768);
  assert.equal(dominantFrequency(samples, 48000, [440, 1000]).frequency, 440);

  const integerHeader = buildWav(Buffer.alloc(0), { sampleRate: 48000, channels: 1, bitsPerSample: 16, dataSizeField: 0xffffffff, riffSizeField: 0xffffffff });
  const held = await decodedWhileOpen(integerHeader, s16, 1500);
  assert.equal(held.length, 0, 'the control: an s16 WAV of 24 KB gives nothing yet');
});
