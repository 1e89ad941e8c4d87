/**
 * The playout target from arrival times (NetEQ's approach, jitter-target.ts), on simulated links:
 * pages of 20 ms sent in real time, each arriving after a base delay, a jitter, and — when a stall
 * covers its sending time — only at the stall's end. Times are ms, passed in.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { JitterTarget } from '../../src/audio/jitter-target.js';
import { prng } from '../../bench/latency/signal.js';

interface Link {
  readonly baseMs: number;
  readonly jitterMs: number;
  /** Stalls: a start every `everyMs`, `lengthMs` long. */
  readonly everyMs?: number;
  readonly lengthMs?: number;
}

/** Feeds `seconds` of pages through `link` into `target`, from send time `fromMs`. */
function feed(target: JitterTarget, link: Link, seconds: number, fromMs = 0, seed = 1): void {
  const random = prng(seed);
  let last = -Infinity;
  for (let sent = fromMs; sent < fromMs + seconds * 1000; sent += 20) {
    let arrival = sent + link.baseMs + (random() * 2 - 1) * link.jitterMs;
    if (link.everyMs !== undefined && link.lengthMs !== undefined) {
      const into = sent % link.everyMs;
      if (into >= link.everyMs - link.lengthMs) arrival = Math.max(arrival, sent - into + link.everyMs + link.baseMs);
    }
    // TCP: never before the page before it.
    arrival = Math.max(arrival, last);
    last = arrival;
    target.arrival(arrival, sent + 20);
  }
}

test('a clean link: the target is one bucket (20 ms), whatever its constant latency', () => {
  for (const baseMs of [0, 300]) {
    const target = new JitterTarget();
    feed(target, { baseMs, jitterMs: 2 }, 30);
    assert.equal(target.targetMs, 20, `base ${baseMs} ms`);
  }
});

test('jitter of ±25 ms gives a target that covers it, and no more', () => {
  const target = new JitterTarget();
  feed(target, { baseMs: 70, jitterMs: 25 }, 30);
  assert.ok(target.targetMs >= 40 && target.targetMs <= 60, `target ${target.targetMs}`);
});

test('rare stalls (600 ms every 5 s) are caught up after, not buffered for: the target stays at the jitter', () => {
  const target = new JitterTarget();
  feed(target, { baseMs: 70, jitterMs: 25, everyMs: 5_000, lengthMs: 600 }, 60);
  assert.ok(target.targetMs <= 80, `target ${target.targetMs}`);
  // NetEQ's own quantile (0.95) would hold a cushion for them: the difference the quantile makes.
  const neteq = new JitterTarget({ quantile: 0.95 });
  feed(neteq, { baseMs: 70, jitterMs: 25, everyMs: 5_000, lengthMs: 600 }, 60);
  assert.ok(neteq.targetMs >= 500, `NetEQ's quantile: ${neteq.targetMs}`);
});

test('frequent stalls (600 ms every 2 s) keep a cushion of about a stall', () => {
  const target = new JitterTarget();
  feed(target, { baseMs: 25, jitterMs: 10, everyMs: 2_000, lengthMs: 600 }, 60);
  assert.ok(target.targetMs >= 400 && target.targetMs <= 700, `target ${target.targetMs}`);
});

test('the histogram forgets: after the stalls stop, the target comes back down within a minute', () => {
  const target = new JitterTarget();
  feed(target, { baseMs: 25, jitterMs: 10, everyMs: 2_000, lengthMs: 600 }, 30);
  assert.ok(target.targetMs >= 400);
  feed(target, { baseMs: 25, jitterMs: 10 }, 60, 30_000, 2);
  assert.ok(target.targetMs <= 40, `target ${target.targetMs}`);
});

test('a new stream restarts the media clock without counting its jump as delay', () => {
  const target = new JitterTarget();
  feed(target, { baseMs: 50, jitterMs: 2 }, 10);
  target.restart();
  // The new stream's media time starts at 0 again, 10 s later on the arrival clock.
  for (let sent = 0; sent < 10_000; sent += 20) target.arrival(10_000 + sent + 50, sent + 20);
  assert.equal(target.targetMs, 20);
  assert.ok(target.lastDelayMs < 5);
});

test('the quantile must be a share', () => {
  assert.throws(() => new JitterTarget({ quantile: 1 }), RangeError);
  assert.throws(() => new JitterTarget({ quantile: 0 }), RangeError);
});
