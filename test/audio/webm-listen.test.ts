/**
 * `listen` reads WebM too (a browser talker without WebCodecs sends MediaRecorder's WebM/Opus): the
 * pure argument builders, then the real ffmpeg decoding a WebM stream from stdin with them.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { containerOf, listenArgs, oggStdinInputArgs, webmStdinInputArgs } from '../../src/audio/args.js';
import { parseWavHeader } from '../../src/audio/wav.js';
import { runFfmpeg } from '../helpers/audio.js';
import { dominantFrequency, s16leToFloat } from '../helpers/goertzel.js';

test('containerOf: WebM types pick webm; Ogg, Opus, no type or anything else stays ogg', () => {
  assert.equal(containerOf('audio/webm'), 'webm');
  assert.equal(containerOf('audio/webm; codecs=opus'), 'webm');
  assert.equal(containerOf('Video/WebM'), 'webm');
  assert.equal(containerOf('audio/ogg'), 'ogg');
  assert.equal(containerOf('application/octet-stream'), 'ogg');
  assert.equal(containerOf(undefined), 'ogg');
});

test('webmStdinInputArgs: the same no-probing flags as Ogg, with the matroska demuxer', () => {
  assert.deepEqual(webmStdinInputArgs(), oggStdinInputArgs().map((arg) => (arg === 'ogg' ? 'matroska' : arg)));
  const target = { kind: 'wav', path: '-' } as const;
  assert.deepEqual(listenArgs(target, 'webm'), listenArgs(target).map((arg) => (arg === 'ogg' ? 'matroska' : arg)));
  assert.deepEqual(listenArgs(target, 'ogg'), listenArgs(target));
});

test('listenArgs(…, "webm") decodes a live WebM/Opus stream on stdin (as MediaRecorder writes it)', async () => {
  const webm = await runFfmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-ac', '1', '-ar', '48000',
    '-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', '-live', '1', '-cluster_time_limit', '20', '-']);
  assert.equal(webm.exitCode, 0, webm.stderr);
  const decoded = await runFfmpeg(listenArgs({ kind: 'wav', path: '-' }, 'webm'), webm.stdout);
  assert.equal(decoded.exitCode, 0, decoded.stderr);
  const header = parseWavHeader(decoded.stdout);
  assert.ok(header !== null);
  const samples = s16leToFloat(decoded.stdout.subarray(header.dataOffset), header.channels);
  assert.ok(Math.abs(samples.length / 48_000 - 2) < 0.1, `${samples.length / 48_000} s`);
  assert.equal(dominantFrequency(samples, 48_000, [300, 440, 1000]).frequency, 440);
});
