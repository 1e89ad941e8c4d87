import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  MAX_WAV_HEADER_BYTES,
  parseWavHeader,
  WavHeaderError,
  type WavHeader,
} from '../../src/audio/wav.js';
import { buildWav, runFfmpeg } from '../helpers/audio.js';

const PCM = Buffer.from([1, 0, 2, 0, 3, 0, 4, 0]);

function header(buffer: Buffer): WavHeader {
  const parsed = parseWavHeader(buffer);
  assert.ok(parsed !== null, 'expected a complete header');
  return parsed;
}

test('plain 44-byte PCM header', () => {
  const wav = buildWav(PCM, { sampleRate: 44100, channels: 2, bitsPerSample: 16 });
  assert.deepEqual(header(wav), {
    container: 'RIFF',
    formatTag: 1,
    extensible: false,
    channels: 2,
    sampleRate: 44100,
    bitsPerSample: 16,
    blockAlign: 4,
    dataOffset: 44,
    dataSize: 8,
  });
  assert.deepEqual(wav.subarray(44), PCM);
});

test('walks LIST and odd-sized chunks (with their pad byte) to data', () => {
  const wav = buildWav(PCM, {
    extraChunks: [
      { id: 'LIST', body: Buffer.from('INFOISFT\x05\x00\x00\x00Lavf\x00\x00', 'latin1') },
      { id: 'odd ', body: Buffer.from([1, 2, 3]) },
    ],
  });
  const parsed = header(wav);
  assert.equal(parsed.dataOffset, wav.length - PCM.length);
  assert.equal(parsed.dataSize, PCM.length);
});

test('streamed sizes: 0xFFFFFFFF (and 0) mean "unknown, until EOF"', () => {
  for (const field of [0xffffffff, 0]) {
    const parsed = header(buildWav(PCM, { dataSizeField: field, riffSizeField: field }));
    assert.equal(parsed.dataSize, null, `size field ${field}`);
    assert.equal(parsed.dataOffset, 44);
  }
});

test('incremental: null until the data chunk header is complete, then the same answer', () => {
  const wav = buildWav(PCM, { extraChunks: [{ id: 'LIST', body: Buffer.alloc(26) }] });
  const full = header(wav);
  for (let length = 0; length < full.dataOffset; length++) {
    assert.equal(parseWavHeader(wav.subarray(0, length)), null, `prefix of ${length} bytes`);
  }
  assert.deepEqual(parseWavHeader(wav.subarray(0, full.dataOffset)), full);
});

test('WAVE_FORMAT_EXTENSIBLE resolves to its sub-format', () => {
  const fmt = Buffer.alloc(40);
  fmt.writeUInt16LE(0xfffe, 0);
  fmt.writeUInt16LE(2, 2);
  fmt.writeUInt32LE(48000, 4);
  fmt.writeUInt32LE(48000 * 8, 8);
  fmt.writeUInt16LE(8, 12);
  fmt.writeUInt16LE(32, 14);
  fmt.writeUInt16LE(22, 16);
  fmt.writeUInt16LE(32, 18);
  fmt.writeUInt32LE(3, 20);
  fmt.writeUInt16LE(3, 24); // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
  const wav = Buffer.concat([
    Buffer.from('RIFF\xff\xff\xff\xffWAVEfmt \x28\x00\x00\x00', 'latin1'),
    fmt,
    Buffer.from('data\xff\xff\xff\xff', 'latin1'),
  ]);
  const parsed = header(wav);
  assert.equal(parsed.formatTag, 3);
  assert.equal(parsed.extensible, true);
  assert.equal(parsed.dataOffset, 12 + 8 + 40 + 8);
  assert.equal(parsed.bitsPerSample, 32);
  assert.equal(parsed.channels, 2);
});

test('RF64: the data size comes from ds64', () => {
  const ds64 = Buffer.alloc(28);
  ds64.writeUInt32LE(1000, 0); // riff size low
  ds64.writeUInt32LE(8, 8); // data size low
  ds64.writeUInt32LE(0, 12);
  const fmt = buildWav(Buffer.alloc(0)).subarray(12, 12 + 24);
  const wav = Buffer.concat([
    Buffer.from('RF64\xff\xff\xff\xffWAVE', 'latin1'),
    Buffer.from('ds64\x1c\x00\x00\x00', 'latin1'),
    ds64,
    fmt,
    Buffer.from('data\xff\xff\xff\xff', 'latin1'),
    PCM,
  ]);
  const parsed = header(wav);
  assert.equal(parsed.container, 'RF64');
  assert.equal(parsed.dataSize, 8);
  assert.equal(parsed.dataOffset, wav.length - PCM.length);
});

test('not a usable WAV: one-line WavHeaderError', () => {
  const fmtOnly = buildWav(PCM).subarray(0, 36);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['Ogg', Buffer.from('OggS\x00\x02', 'latin1'), /no RIFF header/],
    ['short garbage', Buffer.from('xy', 'latin1'), /no RIFF header/],
    ['RIFX', Buffer.from('RIFX\x00\x00\x00\x24WAVE', 'latin1'), /RIFX/],
    ['AVI', Buffer.from('RIFF\x00\x00\x00\x00AVI ', 'latin1'), /not WAVE/],
    ['data before fmt', Buffer.from('RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00', 'latin1'), /data chunk before its fmt/],
    ['fmt too short', Buffer.concat([Buffer.from('RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00', 'latin1'), Buffer.alloc(4)]), /fmt chunk too short/],
    ['unknown-size chunk before data', Buffer.concat([fmtOnly, Buffer.from('LIST\xff\xff\xff\xff', 'latin1')]), /'LIST' before data has an unknown size/],
    ['huge chunk before data', Buffer.concat([fmtOnly, Buffer.from('junk\x00\x00\x00\x10', 'latin1')]), /'junk' of 268435456 bytes before data is too big/],
    ['0 channels', buildWav(PCM, { channels: 0 }), /0 channels/],
  ];
  for (const [name, bytes, message] of cases) {
    assert.throws(
      () => parseWavHeader(bytes),
      (error: unknown) => error instanceof WavHeaderError && message.test(error.message) && !error.message.includes('\n'),
      name,
    );
  }
  // A prefix of a real magic is not an error yet.
  assert.equal(parseWavHeader(Buffer.from('RI', 'latin1')), null);
  assert.equal(parseWavHeader(Buffer.from('RF6', 'latin1')), null);
  assert.ok(MAX_WAV_HEADER_BYTES >= 64 * 1024);
});

test('a WAV written by ffmpeg to a pipe (sizes 0xFFFFFFFF, LIST chunk) and to a file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hc-wav-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tone.wav');
  const tone = ['-hide_banner', '-nostats', '-loglevel', 'error', '-nostdin', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=0.5'];

  const piped = await runFfmpeg([...tone, '-ac', '2', '-c:a', 'pcm_s16le', '-f', 'wav', '-']);
  assert.equal(piped.exitCode, 0, piped.stderr);
  const fromPipe = header(piped.stdout);
  assert.equal(piped.stdout.readUInt32LE(4), 0xffffffff, 'ffmpeg leaves the RIFF size unknown on a pipe');
  assert.equal(fromPipe.dataSize, null);
  assert.equal(fromPipe.container, 'RIFF');
  assert.equal(fromPipe.sampleRate, 44100);
  assert.equal(fromPipe.channels, 2);
  assert.equal(fromPipe.bitsPerSample, 16);
  assert.ok(fromPipe.dataOffset > 44, 'ffmpeg writes a LIST chunk before data');
  assert.equal(piped.stdout.length - fromPipe.dataOffset, 0.5 * 44100 * 4);

  const written = await runFfmpeg([...tone, '-ac', '1', '-c:a', 'pcm_f32le', '-f', 'wav', file]);
  assert.equal(written.exitCode, 0, written.stderr);
  const bytes = await readFile(file);
  const fromFile = header(bytes);
  assert.equal(fromFile.dataSize, 0.5 * 44100 * 4);
  assert.equal(fromFile.dataOffset + (fromFile.dataSize ?? 0), bytes.length);
  assert.equal(fromFile.formatTag, 3);
});
