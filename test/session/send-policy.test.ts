import assert from 'node:assert/strict';
import test from 'node:test';
import { DOWN_AT_MS, FIRST_PROBE_MS, SendPolicy, SETTLE_MS } from '../../src/session/send-policy.js';
import { fittingRung, ladderFrom } from '../../src/session/talker.js';

/** Feeds (time, backlog) reports every 2 s, as the relay sends them, and collects the decisions with their times. */
function run(policy: SendPolicy, reports: (t: number) => number, untilMs: number, from = 0): [number, string][] {
  const decisions: [number, string][] = [];
  for (let t = from; t <= untilMs; t += 2_000) {
    const decision = policy.observe(reports(t), t);
    if (decision !== null) decisions.push([t, decision]);
  }
  return decisions;
}

test('a link that cannot carry the stream: one step down per settled report, to the lowest rung, and no further', () => {
  const policy = new SendPolicy(4, 0);
  assert.deepEqual(run(policy, () => DOWN_AT_MS + 400, 30_000), [[4_000, 'down'], [8_000, 'down'], [12_000, 'down']]);
  assert.equal(policy.rung, 3);
});

test('nothing moves on a clean link, nor within SETTLE_MS of a change, nor for a backlog between clear and too much', () => {
  const clean = new SendPolicy(4, 0);
  assert.deepEqual(run(clean, () => 40, 10 * 60_000), []);
  const early = new SendPolicy(4, 0);
  assert.equal(early.observe(5_000, SETTLE_MS - 1), null);
  const middle = new SendPolicy(2, 0);
  middle.observe(DOWN_AT_MS, 4_000);
  assert.deepEqual(run(middle, () => 300, 10 * 60_000, 8_000), [], 'a backlog of 300 ms neither steps down nor allows a probe');
});

test('back up one rung after FIRST_PROBE_MS of a clear link; a probe that fails at once doubles the wait, one that holds resets it', () => {
  const policy = new SendPolicy(3, 0);
  policy.observe(DOWN_AT_MS, 4_000);
  assert.equal(policy.rung, 1);
  // Clear from 8 s on: up at 8 s + 30 s.
  assert.deepEqual(run(policy, () => 0, 60_000, 8_000), [[8_000 + FIRST_PROBE_MS, 'up']]);
  // The probe fails: down again 4 s later, and the next probe waits 60 s.
  const failedAt = 8_000 + FIRST_PROBE_MS + 4_000;
  assert.equal(policy.observe(DOWN_AT_MS, failedAt), 'down');
  const next = run(policy, () => 0, failedAt + 200_000, failedAt + 4_000);
  assert.deepEqual(next[0], [failedAt + 4_000 + 2 * FIRST_PROBE_MS, 'up']);
});

test('the ladder below what was asked: 32k asks for all rungs, 16k only the lower ones, 12k none', () => {
  assert.deepEqual(ladderFrom({ bitrateKbps: 32 }).map((rung) => rung.bitrateKbps), [32, 24, 16, 12]);
  assert.deepEqual(ladderFrom({ bitrateKbps: 16, lowLatency: true }).map((rung) => rung.bitrateKbps), [16, 12]);
  assert.deepEqual(ladderFrom({ bitrateKbps: 12 }).map((rung) => rung.bitrateKbps), [12]);
});

test('fittingRung: the link carried a share of this rung\'s wire rate; the highest rung that fits in 95 % of it', () => {
  const ladder = ladderFrom({ bitrateKbps: 32 });
  // A 32 kbit/s link carries ~47 % of the 68.6 kbit/s rung: 29.1 (rung 2) fits in 30.4.
  assert.equal(fittingRung(ladder, 0, 32 / 68.6), 2);
  assert.equal(fittingRung(ladder, 0, 26 / 68.6), 3);
  assert.equal(fittingRung(ladder, 0, 1), 1, 'rung 0 would be 95 % of itself: the next one that fits');
  assert.equal(fittingRung(ladder, 1, 0.2), 3, 'nothing fits: the lowest');
});

test('a step down goes to the rung that fits at once, not one rung per report', () => {
  const policy = new SendPolicy(4, 0);
  assert.equal(policy.observe(DOWN_AT_MS * 2, 4_000, 3), 'down');
  assert.equal(policy.rung, 3);
});
