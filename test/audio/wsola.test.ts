/**
 * The time-stretch (wsola.ts): nothing changes and nothing is held at normal speed; faster, the
 * output is shorter by the tempo, keeps its pitch, and keeps every onset (a click is never cut out).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { HOP, Wsola } from '../../src/audio/wsola.js';
import { prng } from '../../bench/latency/signal.js';
import { goertzelPower } from '../helpers/goertzel.js';

const RATE = 48_000;

/** A harmonic tone (a voiced sound: 150 Hz and its overtones), `seconds` long. */
function voice(seconds: number, frequency = 150): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    out[i] = 0.3 * Math.sin(2 * Math.PI * frequency * t) + 0.15 * Math.sin(2 * Math.PI * 2 * frequency * t) + 0.08 * Math.sin(2 * Math.PI * 3 * frequency * t);
  }
  return out;
}

/** Faint noise with a 6 ms, 2 kHz click every `everyMs` (the latency bench's signal); the click onsets. */
function clicks(seconds: number, everyMs: number): { samples: Float32Array; onsets: number[] } {
  const random = prng(3);
  const samples = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < samples.length; i++) samples[i] = (random() * 2 - 1) * 0.0005;
  const onsets: number[] = [];
  for (let at = 0.1 * RATE; at + 288 < samples.length; at += (everyMs * RATE) / 1000) {
    onsets.push(at);
    for (let i = 0; i < 288; i++) samples[at + i] = 0.5 * Math.sin((2 * Math.PI * 2000 * i) / RATE + Math.PI / 2);
  }
  return { samples, onsets };
}

/** Runs `input` through in 10 ms blocks at `tempo`; returns everything put out. */
function stretch(wsola: Wsola, input: Float32Array, tempo: (block: number) => number): Float32Array {
  const parts: Float32Array[] = [];
  for (let at = 0, block = 0; at < input.length; at += 480, block++) parts.push(wsola.push(input.subarray(at, at + 480), tempo(block)));
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Onsets (a sample above 0.1 after 100 ms below it). */
function onsetsIn(samples: Float32Array): number[] {
  const found: number[] = [];
  let quietUntil = 0;
  for (let i = 0; i < samples.length; i++) {
    if (i >= quietUntil && Math.abs(samples[i] ?? 0) > 0.1) {
      found.push(i);
      quietUntil = i + RATE / 10;
    }
  }
  return found;
}

test('at normal speed the output is the input, sample for sample, with nothing held back', () => {
  const wsola = new Wsola();
  const input = voice(1);
  const out = stretch(wsola, input, () => 1);
  assert.equal(wsola.held, 0);
  assert.deepEqual(out, input);
});

test('at 1.25 the output is 1.25 times shorter, and the pitch is the same', () => {
  const wsola = new Wsola();
  const input = voice(4);
  const out = stretch(wsola, input, () => 1.25);
  const ratio = (input.length - wsola.held) / out.length;
  assert.ok(Math.abs(ratio - 1.25) < 0.02, `input/output ${ratio.toFixed(3)}`);
  assert.equal(out.length + wsola.skipped + wsola.held, input.length, 'every input sample is played, skipped or held');
  assert.ok(wsola.held <= 1_200, `held ${wsola.held} samples (25 ms at most)`);
  // Pitch: the fundamental keeps its power in the output; a resampled 1.25× would move it to 187.5 Hz.
  const middle = out.subarray(RATE, 2 * RATE);
  const at150 = goertzelPower(middle, RATE, 150);
  const at187 = goertzelPower(middle, RATE, 187.5);
  assert.ok(at150 > 0.05 && at150 > 20 * at187, `150 Hz ${at150.toFixed(4)}, 187.5 Hz ${at187.toFixed(5)}`);
});

test('the seams are smooth: no sample-to-sample jump larger than the tone itself makes', () => {
  const input = voice(2);
  let largest = 0;
  for (let i = 1; i < input.length; i++) largest = Math.max(largest, Math.abs((input[i] ?? 0) - (input[i - 1] ?? 0)));
  const out = stretch(new Wsola(), input, () => 1.25);
  for (let i = 1; i < out.length; i++) {
    const jump = Math.abs((out[i] ?? 0) - (out[i - 1] ?? 0));
    assert.ok(jump <= largest * 1.5, `jump ${jump.toFixed(4)} at ${i} (the tone's largest step is ${largest.toFixed(4)})`);
  }
});

test('faster, every click is still there: onsets are never skipped', () => {
  const { samples, onsets } = clicks(6, 400);
  const wsola = new Wsola();
  const out = stretch(wsola, samples, () => 1.25);
  assert.ok(wsola.skipped > 0.15 * samples.length, `skipped ${wsola.skipped} of ${samples.length}`);
  assert.equal(onsetsIn(out).length, onsets.length);
});

test('back to normal speed, what was held comes out at once, and the seam is continuous', () => {
  const wsola = new Wsola();
  const input = voice(1);
  const out = stretch(wsola, input, (block) => (block < 50 ? 1.25 : 1));
  assert.equal(wsola.held, 0);
  assert.equal(out.length + wsola.skipped, input.length);
  // The last half second went straight through.
  assert.deepEqual(out.subarray(out.length - 0.5 * RATE), input.subarray(input.length - 0.5 * RATE));
  assert.equal(HOP, 480);
});

test('pauses are shortened at 2x whatever the tempo; sound keeps the tempo asked', () => {
  // 0.5 s of voice, 1 s of near-silence, 0.5 s of voice.
  const loud = voice(0.5);
  const input = new Float32Array(2 * RATE);
  input.set(loud, 0);
  for (let i = 0; i < RATE; i++) input[RATE / 2 + i] = 0.0005 * Math.sin(i);
  input.set(loud, 1.5 * RATE);
  const wsola = new Wsola();
  const parts: number[] = [];
  for (let at = 0; at < input.length; at += 480) parts.push(wsola.push(input.subarray(at, at + 480), 1.1).length);
  const blocks = (from: number, to: number): number => parts.slice(from / 480, to / 480).reduce((sum, n) => sum + n, 0);
  const pause = blocks(0.6 * RATE, 1.4 * RATE);
  const sound = blocks(1.6 * RATE, 2 * RATE);
  assert.ok(Math.abs(0.8 * RATE / pause - 2) < 0.1, `pause played at ${(0.8 * RATE / pause).toFixed(2)}x`);
  assert.ok(Math.abs(0.4 * RATE / sound - 1.1) < 0.06, `voice played at ${(0.4 * RATE / sound).toFixed(2)}x`);
});
