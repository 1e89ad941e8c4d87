import test from 'node:test';
import assert from 'node:assert/strict';
import { delayParts, levelBar, LevelTrail, seconds, wireRate } from '../../src/cli/status-text.js';

test('levelBar: silence to full scale on eight bars', () => {
  assert.equal(levelBar(-Infinity), '▁');
  assert.equal(levelBar(-60), '▁');
  assert.equal(levelBar(-30), '▅');
  assert.equal(levelBar(0), '█');
});

test('LevelTrail: nothing before the first level, then the last six as "mic ▁…"', () => {
  const trail = new LevelTrail();
  assert.deepEqual(trail.parts(), []);
  for (const dbfs of [-60, -50, -40, -30, -20, -10, 0]) trail.add(dbfs);
  assert.deepEqual(trail.parts(), [`mic ${[-50, -40, -30, -20, -10, 0].map(levelBar).join('')}`]);
});

test('wireRate and seconds', () => {
  assert.equal(wireRate(4_650, 1_000), '37.2 kbit/s');
  assert.equal(wireRate(4_650, 10), '37.2 kbit/s', 'under a second counts as one');
  assert.equal(seconds(1_234), '1.2 s');
  assert.equal(seconds(12_345), '12 s');
});

test('delayParts: the playout\'s audio in hand against its target (and the speed while catching up), else how far behind', () => {
  assert.deepEqual(delayParts({ behindMs: 12.4, playout: null }), ['12 ms behind']);
  assert.deepEqual(delayParts({ behindMs: 0, playout: { targetMs: 200, inHandMs: 180.2, tempo: 1 } }), ['in hand 180/200 ms']);
  assert.deepEqual(delayParts({ behindMs: 0, playout: { targetMs: 200, inHandMs: 640, tempo: 1.1 } }), ['in hand 640/200 ms', 'catching up ×1.10']);
});
