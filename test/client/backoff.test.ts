import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { backoffDelay, decideRedial, DEFAULT_BACKOFF, Outage } from '../../src/client/backoff.js';
import { PipeError } from '../../src/client/index.js';

const lost = new PipeError('lost', 'the connection dropped');

test('delays double from 250 ms to a 5 s cap; jitter stays within ±20 %', () => {
  const middle = [1, 2, 3, 4, 5, 6, 7, 10].map((attempt) => backoffDelay(attempt, 0.5));
  assert.deepEqual(middle, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
      const base = Math.min(5_000, 250 * 2 ** (attempt - 1));
      const delay = backoffDelay(attempt, random);
      return delay >= Math.floor(base * 0.8) && delay <= Math.ceil(base * 1.2);
    }),
  );
});

test('a lost connection is redialed until five minutes of outage, then given up with the reason', () => {
  const outage = new Outage(0);
  const early = decideRedial(outage.record(lost, 1_000), 0.5);
  assert.deepEqual(early, { redial: true, delayMs: 250 });
  const late = decideRedial(outage.record(lost, DEFAULT_BACKOFF.giveUpAfterMs), 0.5);
  assert.equal(late.redial, false);
  assert.match(late.redial ? '' : late.reason, /gave up after 300 s/);
});

test('408 and 409 are not retried forever: busy five times in a row, one hold passing again', () => {
  const busy = new Outage(0);
  const busyError = new PipeError('busy', 'busy', { status: 409 });
  const decisions = Array.from({ length: 6 }, (_, i) => decideRedial(busy.record(busyError, i * 100), 0.5).redial);
  assert.deepEqual(decisions, [true, true, true, true, true, false]);
  const hold = new Outage(0);
  const timeout = new PipeError('nobody-came', 'nobody came', { status: 408 });
  assert.equal(decideRedial(hold.record(timeout, 0), 0.5).redial, true);
  assert.equal(decideRedial(hold.record(timeout, 0), 0.5).redial, false);
  // A refusal or an untrusted certificate will not change by dialing again.
  assert.equal(decideRedial(new Outage(0).record(new PipeError('refused', 'no', { status: 400 }), 0), 0.5).redial, false);
});

test('a different failure in between restarts the in-a-row count', () => {
  const outage = new Outage(0);
  const busyError = new PipeError('busy', 'busy', { status: 409 });
  for (let i = 0; i < 5; i++) outage.record(busyError, 0);
  outage.record(lost, 0);
  assert.equal(decideRedial(outage.record(busyError, 0), 0.5).redial, true);
});
