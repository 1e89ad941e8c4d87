/**
 * `listen` reads WebM too (a browser talker without WebCodecs sends MediaRecorder's WebM/Opus): it is
 * remuxed to Ogg for the one decoder. The pure argument builders, then the real ffmpeg doing both.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { listenArgs, oggStdinInputArgs, QUIET_ARGS, webmStdinInputArgs, webmToOggArgs } from '../../src/audio/args.js';
import { parseWavHeader } from '../../src/audio/wav.js';
import { runFfmpeg } from '../helpers/audio.js';
import { dominantFrequency, s16leToFloat } from '../helpers/goertzel.js';

test('webmStdinInputArgs: the same no-probing flags as Ogg, with the matroska demuxer', () => {
  assert.deepEqual(webmStdinInputArgs(), oggStdinInputArgs().map((arg) => (arg === 'ogg' ? 'matroska' : arg)));
  assert.deepEqual(webmToOggArgs(), [...QUIET_ARGS, ...webmStdinInputArgs(), '-map', '0:a:0', '-c:a', 'copy', '-page_duration', '20000', '-flush_packets', '1', '-f', 'ogg', '-']);
});

test('webmToOggArgs remuxes a live WebM/Opus stream (as MediaRecorder writes it) to Ogg pages the decoder plays', async () => {
  const webm = await runFfmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-ac', '1', '-ar', '48000',
    '-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', '-live', '1', '-cluster_time_limit', '20', '-']);
  assert.equal(webm.exitCode, 0, webm.stderr);
  const ogg = await runFfmpeg(webmToOggArgs(), webm.stdout);
  assert.equal(ogg.exitCode, 0, ogg.stderr);
  assert.equal(ogg.stdout.toString('latin1', 0, 4), 'OggS');
  assert.ok(ogg.stdout.includes('OpusHead'), 'the Ogg stream starts with its OpusHead');
  const decoded = await runFfmpeg(listenArgs({ kind: 'wav', path: '-' }), ogg.stdout);
  assert.equal(decoded.exitCode, 0, decoded.stderr);
  const header = parseWavHeader(decoded.stdout);
  assert.ok(header !== null);
  const samples = s16leToFloat(decoded.stdout.subarray(header.dataOffset), header.channels);
  assert.ok(Math.abs(samples.length / 48_000 - 2) < 0.1, `${samples.length / 48_000} s`);
  assert.equal(dominantFrequency(samples, 48_000, [300, 440, 1000]).frequency, 440);
});
