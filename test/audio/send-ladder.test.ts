/**
 * Frame and page durations for talk's encoder, and the send ladder (args.ts): each rung's arguments
 * make the real ffmpeg write pages of that many ms of that many frames, at a falling byte rate.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { opusOggOutputArgs, SEND_LADDER, toneInputArgs } from '../../src/audio/args.js';
import { opusPacketSamples, pagePackets } from '../../src/audio/ogg.js';
import { runFfmpeg } from '../helpers/audio.js';
import { pagesOf } from '../helpers/ogg.js';

test('frame and page durations: flags, and what ffmpeg is never given', () => {
  const args = opusOggOutputArgs({ frameMs: 20, pageMs: 60 });
  assert.equal(args[args.indexOf('-frame_duration') + 1], '20');
  assert.equal(args[args.indexOf('-page_duration') + 1], '60000');
  const lowLatency = opusOggOutputArgs({ frameMs: 20, lowLatency: true });
  assert.equal(lowLatency[lowLatency.indexOf('-page_duration') + 1], '20000', 'low latency: one frame a page');
  assert.throws(() => opusOggOutputArgs({ frameMs: 20, pageMs: 30 }), /whole number of 20 ms frames/);
  assert.throws(() => opusOggOutputArgs({ frameMs: 20, pageMs: 10 }), /whole number of 20 ms frames/);
  assert.throws(() => opusOggOutputArgs({ frameMs: 15 as 10 }), /frame duration must be one of/);
});

test('the send ladder: each rung is cheaper on the wire than the one above it', () => {
  assert.deepEqual(SEND_LADDER[0] && opusOggOutputArgs(SEND_LADDER[0]), opusOggOutputArgs(), 'rung 0 is the default');
  for (let i = 1; i < SEND_LADDER.length; i++) assert.ok((SEND_LADDER[i]?.wireKbps ?? 0) < (SEND_LADDER[i - 1]?.wireKbps ?? 0));
});

for (const rung of SEND_LADDER) {
  test(`rung ${rung.bitrateKbps}k, ${rung.frameMs} ms frames, ${rung.pageMs} ms pages: ffmpeg writes exactly that`, async () => {
    const result = await runFfmpeg(['-hide_banner', '-loglevel', 'error', ...toneInputArgs(440, { durationSeconds: 2, realtime: false }), ...opusOggOutputArgs(rung)]);
    assert.equal(result.exitCode, 0, result.stderr);
    const pages = pagesOf(result.stdout);
    const audio = pages.slice(2, -1);
    assert.ok(audio.length >= 10);
    let previous = audio[0]?.granule ?? 0n;
    for (const page of audio.slice(1)) {
      assert.equal(Number(page.granule - previous), rung.pageMs * 48, 'granule step = page duration');
      previous = page.granule;
      for (const packet of pagePackets(page).pieces) assert.equal(opusPacketSamples(packet), rung.frameMs * 48, 'packet = one frame');
    }
  });
}
