/**
 * End to end through the real ffmpeg with our own argument lists: tone/WAV → talk encoder → Ogg Opus
 * → listen decoder → PCM, checked by frequency (Goertzel), duration and the Ogg page structure.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { execa } from 'execa';
import { listenArgs, talkArgs, QUIET_ARGS, type CaptureSource, type OpusOptions, type PlaybackTarget } from '../../src/audio/args.js';
import { parseWavHeader } from '../../src/audio/wav.js';
import { wavFeedOf } from '../../src/audio/wav-feed.js';
import { pcmLevel } from '../../src/audio/level.js';
import { countOggS, oggPages, runFfmpeg, testFfmpeg } from '../helpers/audio.js';
import { dominantFrequency, s16leToFloat } from '../helpers/goertzel.js';

const RATE = 48_000;
const CANDIDATES = [440, 1000];

async function encode(source: CaptureSource, opus: OpusOptions = {}, stdin?: Buffer): Promise<Buffer> {
  const run = await runFfmpeg(talkArgs(source, opus), stdin);
  assert.equal(run.exitCode, 0, run.stderr);
  assert.equal(run.stderr, '', 'a clean run prints nothing at -loglevel error');
  return run.stdout;
}

/** Decodes Ogg with the listen decoder; WAV on stdout (header read by parseWavHeader) or raw PCM. */
async function decode(ogg: Buffer, target: PlaybackTarget & { kind: 'wav' | 'pcm' } = { kind: 'wav', path: '-' }): Promise<Float64Array> {
  const run = await runFfmpeg(listenArgs(target), ogg);
  assert.equal(run.exitCode, 0, run.stderr);
  if (target.kind === 'pcm') return s16leToFloat(run.stdout);
  const header = parseWavHeader(run.stdout);
  assert.ok(header !== null);
  assert.equal(header.dataSize, null, 'WAV on a pipe has an unknown data size');
  assert.deepEqual([header.formatTag, header.sampleRate, header.channels, header.bitsPerSample], [1, RATE, 1, 16]);
  return s16leToFloat(run.stdout.subarray(header.dataOffset));
}

function assertTone(samples: Float64Array, frequency: number, seconds: number): void {
  const duration = samples.length / RATE;
  assert.ok(Math.abs(duration - seconds) <= seconds * 0.1, `decoded ${duration.toFixed(3)} s, expected ${seconds} s ± 10%`);
  // Skip the codec's start-up, look at the middle.
  const middle = samples.subarray(Math.floor(samples.length * 0.25), Math.floor(samples.length * 0.75));
  const { frequency: found, powers } = dominantFrequency(middle, RATE, CANDIDATES);
  assert.equal(found, frequency, `powers ${JSON.stringify([...powers])}`);
  const other = CANDIDATES.find((candidate) => candidate !== frequency) ?? 0;
  assert.ok((powers.get(frequency) ?? 0) > 100 * (powers.get(other) ?? 0), `powers ${JSON.stringify([...powers])}`);
}

function assertOggOpus(ogg: Buffer, seconds: number, minPagesPerSecond: number): void {
  assert.equal(ogg.toString('latin1', 0, 4), 'OggS');
  const pages = oggPages(ogg);
  const [head, tags] = pages;
  assert.ok(head !== undefined && tags !== undefined);
  assert.equal(head.body.toString('latin1', 0, 8), 'OpusHead');
  assert.equal(head.headerType & 0x02, 0x02, 'first page is beginning-of-stream');
  assert.equal(head.body.readUInt8(9), 1, 'mono');
  assert.equal(head.body.readUInt32LE(12), RATE, 'input sample rate in OpusHead');
  assert.equal(tags.body.toString('latin1', 0, 8), 'OpusTags');
  assert.equal((pages.at(-1)?.headerType ?? 0) & 0x04, 0x04, 'last page is end-of-stream');
  assert.ok(pages.every((page, i) => page.sequence === i && page.serial === head.serial));
  const audioPages = pages.length - 2;
  assert.ok(audioPages / seconds >= minPagesPerSecond, `${audioPages} audio pages for ${seconds} s`);
  assert.equal(countOggS(ogg), pages.length, 'no stray OggS in payloads here');
}

test('tone 440 Hz, 2 s: talk encoder → Ogg Opus, one page per 20 ms → listen decoder → WAV on stdout', async () => {
  const ogg = await encode({ kind: 'tone', frequency: 440, durationSeconds: 2, realtime: false });
  assertOggOpus(ogg, 2, 40);
  const pagesPerSecond = (oggPages(ogg).length - 2) / 2;
  assert.ok(pagesPerSecond >= 45 && pagesPerSecond <= 55, `${pagesPerSecond} pages/s`);
  assertTone(await decode(ogg), 440, 2);
});

test('low-latency variant: 10 ms frames and pages (≥ 80 pages/s), same audio', async () => {
  const ogg = await encode({ kind: 'tone', frequency: 1000, durationSeconds: 1, realtime: false }, { lowLatency: true, bitrateKbps: 48 });
  assertOggOpus(ogg, 1, 80);
  assertTone(await decode(ogg, { kind: 'pcm' }), 1000, 1);
});

test('--input FILE: a 44.1 kHz stereo WAV file is resampled, downmixed and survives the round trip', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hc-codec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'in.wav');
  const made = await runFfmpeg([...QUIET_ARGS, '-nostdin', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=44100:duration=1.5', '-ac', '2', '-c:a', 'pcm_s16le', file]);
  assert.equal(made.exitCode, 0, made.stderr);
  const ogg = await encode({ kind: 'file', path: file, realtime: false });
  assertOggOpus(ogg, 1.5, 40);
  assertTone(await decode(ogg), 1000, 1.5);
});

test('a WAV on stdin: header read in-process, s16 handed on as a float WAV in 5 ms packets, no probing', async () => {
  const wav = await runFfmpeg([...QUIET_ARGS, '-nostdin', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000:duration=1.2', '-ac', '2', '-c:a', 'pcm_s16le', '-f', 'wav', '-']);
  assert.equal(wav.exitCode, 0, wav.stderr);
  const header = parseWavHeader(wav.stdout);
  assert.ok(header !== null);
  assert.equal(header.dataSize, null);
  const feed = wavFeedOf(header);
  const converted = await buffer(Readable.from([wav.stdout.subarray(header.dataOffset)]).pipe(feed.convert()));
  const ogg = await encode({ kind: 'wav-stdin', packetBytes: feed.packetBytes }, {}, Buffer.concat([feed.header, converted]));
  assertOggOpus(ogg, 1.2, 40);
  assertTone(await decode(ogg, { kind: 'pcm' }), 440, 1.2);
});

test('meter tap: the talker also writes 8 kHz PCM on fd 3; lavfi sine (amplitude 1/8) reads -21 dBFS RMS', async () => {
  const ffmpeg = await testFfmpeg();
  const result = await execa(ffmpeg, talkArgs({ kind: 'tone', frequency: 440, durationSeconds: 1, realtime: false }, {}, { fd: 3 }), {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'], encoding: 'buffer', reject: false, timeout: 10_000,
  });
  assert.equal(result.exitCode, 0, Buffer.from(result.stderr).toString());
  assertOggOpus(Buffer.from(result.stdout), 1, 40);
  const meter = result.stdio[3];
  assert.ok(meter instanceof Uint8Array);
  assert.equal(meter.length, 8000 * 2);
  const level = pcmLevel(meter);
  assert.ok(Math.abs(level.rmsDbfs - -21.07) < 0.5, `${level.rmsDbfs} dBFS`);
});

test('live: the realtime talker emits pages as it goes, and the listen decoder streams PCM as they arrive', async (t) => {
  const ffmpeg = await testFfmpeg();
  const seconds = 1.2;
  const talker = execa(ffmpeg, talkArgs({ kind: 'tone', frequency: 440, durationSeconds: seconds }), { buffer: false, stdin: 'ignore', stderr: 'pipe', reject: false, timeout: 10_000 });
  const listener = execa(ffmpeg, listenArgs({ kind: 'pcm' }), { buffer: false, stdin: 'pipe', stderr: 'pipe', reject: false, timeout: 10_000 });
  const started = performance.now();
  const oggTimes: number[] = [];
  const pcmTimes: number[] = [];
  let pcmBytes = 0;
  talker.stdout.on('data', (chunk: Buffer) => {
    oggTimes.push(performance.now() - started);
    listener.stdin.write(chunk);
  });
  talker.stdout.on('end', () => listener.stdin.end());
  listener.stdout.on('data', (chunk: Buffer) => {
    pcmTimes.push(performance.now() - started);
    pcmBytes += chunk.length;
  });
  const [talked, listened] = await Promise.all([talker, listener]);
  assert.equal(talked.exitCode, 0);
  assert.equal(listened.exitCode, 0);
  const firstOgg = oggTimes[0] ?? Number.NaN;
  const firstPcm = pcmTimes[0] ?? Number.NaN;
  const spread = (times: number[]): number => (times.at(-1) ?? 0) - (times[0] ?? 0);
  t.diagnostic(`ogg reads ${oggTimes.length}, first at ${firstOgg.toFixed(0)} ms, spread ${spread(oggTimes).toFixed(0)} ms; ` +
    `pcm reads ${pcmTimes.length}, first at ${firstPcm.toFixed(0)} ms (${(firstPcm - firstOgg).toFixed(0)} ms after the first Ogg), spread ${spread(pcmTimes).toFixed(0)} ms`);
  // Paced input, one page per frame: many small reads spread over the whole tone, not one burst at the end.
  assert.ok(oggTimes.length >= 20, `${oggTimes.length} Ogg reads`);
  assert.ok(spread(oggTimes) >= seconds * 1000 * 0.7, `Ogg spread ${spread(oggTimes)} ms`);
  assert.ok(pcmTimes.length >= 20, `${pcmTimes.length} PCM reads`);
  assert.ok(spread(pcmTimes) >= seconds * 1000 * 0.7, `PCM spread ${spread(pcmTimes)} ms`);
  assert.ok(firstPcm - firstOgg < 600, `decoder start-up ${firstPcm - firstOgg} ms`);
  assert.ok(Math.abs(pcmBytes / 2 / RATE - seconds) <= seconds * 0.1, `${pcmBytes} PCM bytes`);
});
