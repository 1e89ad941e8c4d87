/**
 * The playout stage as a stream (stretch.ts): float32 bytes in, in any chunking, float64 bytes out;
 * off (no target) it is a plain converter; on, it plays faster only while the audio in hand is above
 * the target, on a clock the test sets.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { PlayoutStretch } from '../../src/audio/stretch.js';

const RATE = 48_000;

function tone(seconds: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < out.length; i++) out[i] = 0.3 * Math.sin((2 * Math.PI * 150 * i) / RATE);
  return out;
}

function bytesOf(samples: Float32Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Writes `chunks` at the given clock times and collects the float64 output as numbers. */
async function run(stretch: PlayoutStretch, chunks: readonly { bytes: Buffer; at: number }[], clock: { now: number }): Promise<Float64Array> {
  const out: Buffer[] = [];
  stretch.on('data', (chunk: Buffer) => out.push(chunk));
  for (const chunk of chunks) {
    clock.now = chunk.at;
    await new Promise<void>((resolve, reject) => stretch.write(chunk.bytes, (error) => (error ? reject(error) : resolve())));
  }
  const ended = new Promise((resolve) => stretch.once('end', resolve));
  stretch.end();
  await ended;
  const all = Buffer.concat(out);
  const aligned = new Float64Array(all.length / 8);
  Buffer.from(aligned.buffer).set(all);
  return aligned;
}

test('off: every sample comes out as it went in, whatever the chunking (odd byte splits too)', async () => {
  const clock = { now: 0 };
  const stretch = new PlayoutStretch({ targetMs: null, now: () => clock.now });
  const input = tone(0.5);
  const bytes = bytesOf(input);
  const chunks = [];
  for (let at = 0; at < bytes.length; at += 1_001) chunks.push({ bytes: bytes.subarray(at, at + 1_001), at: at / 192 });
  const out = await run(stretch, chunks, clock);
  assert.deepEqual(Array.from(out), Array.from(input));
  assert.equal(stretch.tempo, 1);
  assert.equal(stretch.skippedMs, 0);
});

test('on: a backlog handed over at once is played faster, down to the target, then at normal speed', async () => {
  const clock = { now: 0 };
  const stretch = new PlayoutStretch({ targetMs: () => 60, now: () => clock.now });
  const input = tone(4);
  const chunks = [];
  // 0.5 s of audio arrives at once (a burst after a stall), then 10 ms every 10 ms.
  chunks.push({ bytes: bytesOf(input.subarray(0, RATE / 2)), at: 0 });
  for (let at = RATE / 2, ms = 10; at < input.length; at += 480, ms += 10) chunks.push({ bytes: bytesOf(input.subarray(at, at + 480)), at: ms });
  const out = await run(stretch, chunks, clock);
  // The first half second is in hand: over the target, so the next blocks play faster.
  assert.ok(stretch.skippedMs > 300, `skipped ${stretch.skippedMs.toFixed(0)} ms`);
  assert.ok(out.length < input.length);
  // By the end the queue is near the target: the last blocks went out at normal speed.
  assert.equal(stretch.tempo, 1);
  const inHand = stretch.queue.queuedMs(clock.now);
  assert.ok(inHand <= 100 + 10, `in hand at the end ${inHand.toFixed(0)} ms`);
});

test('on, with a clean feed (10 ms every 10 ms): never faster, nothing held', async () => {
  const clock = { now: 0 };
  const stretch = new PlayoutStretch({ targetMs: () => 20, now: () => clock.now });
  const input = tone(1);
  const chunks = [];
  for (let at = 0, ms = 0; at < input.length; at += 480, ms += 10) chunks.push({ bytes: bytesOf(input.subarray(at, at + 480)), at: ms });
  const out = await run(stretch, chunks, clock);
  assert.equal(out.length, input.length);
  assert.equal(stretch.skippedMs, 0);
});

test('a header (the player\'s WAV header) goes out with the first audio, not before', async () => {
  const clock = { now: 0 };
  const header = Buffer.from('RIFF-header');
  const stretch = new PlayoutStretch({ targetMs: null, now: () => clock.now, header });
  const seen: Buffer[] = [];
  stretch.on('data', (chunk: Buffer) => seen.push(chunk));
  stretch.write(Buffer.alloc(3));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen.length, 0, 'three bytes are not a sample: nothing out yet');
  stretch.write(Buffer.alloc(5));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(Buffer.concat(seen).subarray(0, header.length).toString(), 'RIFF-header');
  assert.equal(Buffer.concat(seen).length, header.length + 2 * 8);
});

test('an unfinished player packet is completed with silence when nothing follows (mock timers)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const clock = { now: 0 };
  const stretch = new PlayoutStretch({ targetMs: null, now: () => clock.now, alignFrames: 160 });
  const seen: Buffer[] = [];
  stretch.on('data', (chunk: Buffer) => seen.push(chunk));
  const frames = (): number => Buffer.concat(seen).length / 8;
  // A stream's first Opus frame after its pre-skip: 168 samples.
  const first = tone(168 / RATE);
  stretch.write(bytesOf(first));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(frames(), 168);
  // More audio within the wait: no silence.
  t.mock.timers.tick(2);
  stretch.write(bytesOf(tone(480 / RATE)));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(frames(), 648);
  // Then nothing: after 4 ms the packet is completed (648 → 800, a multiple of 160) with silence.
  t.mock.timers.tick(4);
  assert.equal(frames(), 800);
  assert.equal(Buffer.concat(seen).readDoubleLE(799 * 8), 0);
  assert.ok(Math.abs(stretch.paddedMs - 152 / 48) < 1e-9);
  // Whole packets from then on: a 480-sample frame is 3 packets, nothing to complete.
  stretch.write(bytesOf(tone(480 / RATE)));
  await new Promise((resolve) => setImmediate(resolve));
  t.mock.timers.tick(10);
  assert.equal(frames(), 1280);
  assert.ok(Math.abs(stretch.paddedMs - 152 / 48) < 1e-9);
  stretch.destroy();
});
