/** The pure playout decisions (playout.ts): the player's queue model and the speed. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_TEMPO, PlayoutQueue, TempoControl } from '../../src/audio/playout.js';

test('the queue: audio handed over plays from then, one second per second; a late hand-over is a gap', () => {
  const queue = new PlayoutQueue();
  assert.equal(queue.queuedMs(0), 0);
  queue.handed(100, 0);
  queue.handed(100, 10);
  assert.equal(queue.queuedMs(10), 190);
  assert.equal(queue.queuedMs(150), 50);
  assert.equal(queue.queuedMs(500), 0);
  assert.equal(queue.gapMs, 0);
  // Nothing from 200 to 500: the player waited 300 ms.
  queue.handed(20, 500);
  assert.equal(queue.gapMs, 300);
  assert.equal(queue.queuedMs(500), 20);
});

test('speed: normal at and just above the target, faster with the excess, never past the maximum', () => {
  const control = new TempoControl();
  assert.equal(control.tempo(0, 60), 1);
  assert.equal(control.tempo(60, 60), 1);
  assert.equal(control.tempo(100, 60), 1, 'within 40 ms over the target: no speed-up yet');
  const some = control.tempo(120, 60);
  assert.ok(some > 1 && some < DEFAULT_MAX_TEMPO, `tempo ${some}`);
  assert.ok(control.tempo(140, 60) > some, 'more excess, faster');
  assert.equal(control.tempo(2_000, 60), DEFAULT_MAX_TEMPO);
});

test('speed: once faster, it goes on until the queue is back at the target (no flapping at the threshold)', () => {
  const control = new TempoControl();
  assert.ok(control.tempo(200, 60) > 1);
  const near = control.tempo(70, 60);
  assert.ok(near >= 1.05, `10 ms over the target while catching up: ${near}`);
  assert.equal(control.tempo(60, 60), 1);
  assert.equal(control.tempo(90, 60), 1, 'stopped: it takes 40 ms over the target to start again');
});

test('the maximum speed is bounded', () => {
  assert.throws(() => new TempoControl({ maxTempo: 0.9 }), RangeError);
  assert.throws(() => new TempoControl({ maxTempo: 3 }), RangeError);
  assert.equal(new TempoControl({ maxTempo: 1 }).tempo(1_000, 0), 1);
});
