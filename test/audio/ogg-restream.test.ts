import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OggRestreamer } from '../../src/audio/ogg-restream.js';
import { isOpusHead, isOpusTags, pagePackets } from '../../src/audio/ogg.js';
import { runFfmpeg } from '../helpers/audio.js';
import { dominantFrequency, s16leToFloat } from '../helpers/goertzel.js';
import { opusOgg, pagesOf } from '../helpers/ogg.js';

async function decode(ogg: Buffer): Promise<Float64Array> {
  const result = await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'ogg', '-i', '-', '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], ogg);
  assert.equal(result.exitCode, 0, result.stderr);
  return s16leToFloat(result.stdout);
}

function serials(ogg: Buffer): number[] {
  return [...new Set(pagesOf(ogg).map((page) => page.serial))];
}

test('the first connection gets a whole stream: headers under a new serial, every audio page, decodable', async () => {
  const source = pagesOf(await opusOgg({ seconds: 1, frequency: 440 }));
  const restreamer = new OggRestreamer(() => 1234);
  restreamer.restart();
  const sent = Buffer.concat(source.map((page) => restreamer.bytesOf(page)).filter((bytes): bytes is Buffer => bytes !== null));
  const pages = pagesOf(sent);
  assert.equal(pages.length, source.length);
  assert.deepEqual(serials(sent), [1234]);
  assert.deepEqual(pages.map((page) => page.sequence), pages.map((_, index) => index));
  const [head, tags] = pages;
  assert.ok(head !== undefined && tags !== undefined);
  assert.ok(head.bos && isOpusHead(pagePackets(head).pieces[0] ?? Buffer.alloc(0)));
  assert.ok(isOpusTags(pagePackets(tags).pieces[0] ?? Buffer.alloc(0)));
  assert.equal(pages.at(-1)?.eos, true);
  const samples = await decode(sent);
  assert.ok(Math.abs(samples.length / 48_000 - 1) < 0.03, `${samples.length / 48_000} s`);
  assert.ok(Math.abs(dominantFrequency(samples, 48_000, [300, 440, 600]).frequency - 440) < 1);
});

test('a reconnect mid-stream starts a fresh logical stream (headers again, another serial) that ffmpeg plays on as chained Ogg', async () => {
  const source = pagesOf(await opusOgg({ seconds: 2, frequency: 440 }));
  let next = 100;
  const restreamer = new OggRestreamer(() => next++);
  restreamer.restart();
  const first: Buffer[] = [];
  const second: Buffer[] = [];
  source.forEach((page, index) => {
    // Pages 40–59 fall in the gap: no connection took them.
    if (index === 40) restreamer.restart();
    if (index >= 40 && index < 60) return;
    const bytes = restreamer.bytesOf(page);
    if (bytes !== null) (index < 40 ? first : second).push(bytes);
  });
  const firstStream = Buffer.concat(first);
  const secondStream = Buffer.concat(second);
  assert.deepEqual(serials(firstStream), [100]);
  assert.deepEqual(serials(secondStream), [101]);
  const secondPages = pagesOf(secondStream);
  assert.equal(secondPages[0]?.bos, true);
  assert.equal(secondPages[0]?.sequence, 0);
  // The second stream alone starts a decoder (a new listener), and both in a row play on (a reconnecting one).
  const alone = await decode(secondStream);
  const expectedSecond = (source.length - 2 - 60 + 2) * 0.02;
  assert.ok(Math.abs(alone.length / 48_000 - expectedSecond) < 0.1, `${alone.length / 48_000} s vs ${expectedSecond}`);
  const chained = await decode(Buffer.concat([firstStream, secondStream]));
  assert.ok(chained.length / 48_000 > expectedSecond + 0.7, `chained: ${chained.length / 48_000} s`);
  assert.ok(Math.abs(dominantFrequency(chained.subarray(-24_000), 48_000, [300, 440, 600]).frequency - 440) < 1);
});

test('muted, every audio packet becomes silence of the same length; unmuted, the voice comes back', async () => {
  const source = pagesOf(await opusOgg({ seconds: 2, frequency: 440 }));
  const restreamer = new OggRestreamer(() => 7);
  restreamer.restart();
  const out: Buffer[] = [];
  source.forEach((page, index) => {
    restreamer.muted = index < 52;
    const bytes = restreamer.bytesOf(page);
    if (bytes !== null) out.push(bytes);
  });
  const sent = Buffer.concat(out);
  const pages = pagesOf(sent);
  assert.deepEqual(
    pages.map((page) => page.granule),
    source.map((page) => page.granule),
  );
  const samples = await decode(sent);
  assert.ok(Math.abs(samples.length / 48_000 - 2) < 0.05);
  const peak = (from: number, to: number): number => samples.subarray(from, to).reduce((max, value) => Math.max(max, Math.abs(value)), 0);
  assert.equal(peak(0, 48_000 * 0.95), 0, 'muted part is digital silence');
  assert.ok(peak(48_000 * 1.2, 48_000 * 1.9) > 0.05, 'the tone is back');
});
