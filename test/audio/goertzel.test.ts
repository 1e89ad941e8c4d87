import test from 'node:test';
import assert from 'node:assert/strict';
import { dominantFrequency, goertzelPower, s16leToFloat, sine } from '../helpers/goertzel.js';
import { floatToS16le } from '../helpers/audio.js';

const RATE = 48_000;

test('goertzel: a full-scale sine has power ≈ amplitude² at its frequency, ≈ 0 elsewhere', () => {
  const tone = sine(440, RATE, 0.5, 1);
  assert.ok(Math.abs(goertzelPower(tone, RATE, 440) - 1) < 0.01);
  assert.ok(goertzelPower(tone, RATE, 1000) < 1e-4);
  const half = sine(1000, RATE, 0.5, 0.5);
  assert.ok(Math.abs(goertzelPower(half, RATE, 1000) - 0.25) < 0.01);
  assert.equal(goertzelPower([], RATE, 440), 0);
});

test('dominantFrequency tells 440 Hz from 1000 Hz, also in a mix and in silence-padded audio', () => {
  const candidates = [440, 1000];
  assert.equal(dominantFrequency(sine(440, RATE, 0.25), RATE, candidates).frequency, 440);
  assert.equal(dominantFrequency(sine(1000, RATE, 0.25), RATE, candidates).frequency, 1000);
  const mix = sine(440, RATE, 0.25, 0.2).map((value, i) => value + 0.6 * Math.sin((2 * Math.PI * 1000 * i) / RATE));
  const result = dominantFrequency(mix, RATE, candidates);
  assert.equal(result.frequency, 1000);
  assert.ok((result.powers.get(1000) ?? 0) > 5 * (result.powers.get(440) ?? 0));
  const padded = new Float64Array(RATE);
  padded.set(sine(440, RATE, 0.2), RATE / 2);
  assert.equal(dominantFrequency(padded, RATE, candidates).frequency, 440);
});

test('s16le round trip, and interleaved channel selection', () => {
  const tone = sine(440, RATE, 0.01, 0.5);
  const back = s16leToFloat(floatToS16le(tone));
  assert.equal(back.length, tone.length);
  for (let i = 0; i < tone.length; i++) assert.ok(Math.abs((back[i] ?? 0) - (tone[i] ?? 0)) < 1e-4);
  const stereo = floatToS16le([0.5, -0.5, 0.25, -0.25]);
  assert.deepEqual([...s16leToFloat(stereo, 2, 1)].map((v) => Math.round(v * 100) / 100), [-0.5, -0.25]);
});
