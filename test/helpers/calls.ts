/** Shared pieces of the end-to-end call tests: temp dirs, and what a WAV the CLI wrote contains. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { parseWavHeader } from '../../src/audio/wav.js';
import { dominantFrequency, s16leToFloat } from './goertzel.js';

export async function tempDir(t: TestContext, prefix = 'hoodycall-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const TONES = [300, 440, 1000, 1500] as const;

/** The samples of a mono 48 kHz WAV the CLI wrote. */
export function wavSamples(wav: Buffer): Float64Array {
  const header = parseWavHeader(wav);
  assert.ok(header !== null, 'the output is a WAV');
  assert.equal(header.sampleRate, 48_000);
  return s16leToFloat(wav.subarray(header.dataOffset), header.channels);
}

/** The dominant test tone in `samples` (between `fromS` and `toS` seconds, default all). */
export function toneOf(samples: Float64Array, fromS = 0, toS = samples.length / 48_000): number {
  return dominantFrequency(samples.subarray(Math.round(fromS * 48_000), Math.round(toS * 48_000)), 48_000, TONES).frequency;
}
