import test from 'node:test';
import assert from 'node:assert/strict';
import { LevelMeter, pcmLevel, SILENCE_DBFS } from '../../src/audio/level.js';
import { floatToS16le } from '../helpers/audio.js';
import { sine } from '../helpers/goertzel.js';

const close = (actual: number, expected: number, tolerance = 0.1): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} vs ${expected}`);
};

test('pcmLevel: silence, full-scale square, sines at known levels', () => {
  assert.deepEqual(pcmLevel(Buffer.alloc(0)), { rmsDbfs: SILENCE_DBFS, peakDbfs: SILENCE_DBFS, samples: 0 });
  assert.deepEqual(pcmLevel(Buffer.alloc(100)), { rmsDbfs: SILENCE_DBFS, peakDbfs: SILENCE_DBFS, samples: 50 });
  const square = Buffer.alloc(8);
  square.writeInt16LE(-32768, 0);
  square.writeInt16LE(-32768, 2);
  square.writeInt16LE(-32768, 4);
  square.writeInt16LE(-32768, 6);
  close(pcmLevel(square).rmsDbfs, 0);
  const full = pcmLevel(floatToS16le(sine(1000, 48000, 0.1, 1)));
  close(full.rmsDbfs, -3.01);
  close(full.peakDbfs, 0, 0.01);
  const eighth = pcmLevel(floatToS16le(sine(440, 48000, 0.1, 0.125)));
  close(eighth.rmsDbfs, -21.07);
  close(eighth.peakDbfs, -18.06);
  assert.equal(pcmLevel(Buffer.from([0x00, 0x40, 0x7f])).samples, 1, 'a trailing odd byte is ignored');
});

test('LevelMeter: windows across odd chunk boundaries', () => {
  const pcm = floatToS16le(sine(1000, 8000, 0.1, 0.5)); // 800 samples
  const meter = new LevelMeter(160);
  const levels = [];
  for (let offset = 0; offset < pcm.length; offset += 77) levels.push(...meter.push(pcm.subarray(offset, offset + 77)));
  assert.equal(levels.length, 5);
  for (const level of levels) close(level.rmsDbfs, -9.03, 0.2);
  assert.deepEqual(new LevelMeter(4).push(Buffer.alloc(7)), []);
  assert.throws(() => new LevelMeter(0), RangeError);
});
