import assert from 'node:assert/strict';
import test from 'node:test';
import { classifyRelayLine, dialectOfLine, LINE_RULES, RelayLineReader, type RelayLine } from '../../src/wire.js';

/** What each dialect really writes (piping-server 1.12.9's source, the hosted pipe's contract, our relay), and what it means. */
const SAMPLES: readonly [dialect: string, line: string, meaning: RelayLine][] = [
  ['hoodycall', '[INFO] connected to the receiver, streaming', { kind: 'go' }],
  ['hoodycall', '[INFO] connected to 3 receivers, streaming', { kind: 'go' }],
  ['hoodycall', '[INFO] 123456 bytes so far', { kind: 'progress', bytes: 123_456 }],
  ['hoodycall', '[INFO] a receiver left; 2 remain', { kind: 'receiver-left' }],
  ['hoodycall', '[ERROR] the receiver left after 9000 bytes', { kind: 'receivers-gone' }],
  ['hoodycall', '[INFO] done, 9000 bytes', { kind: 'done' }],
  ['hoodycall', '[ERROR] no bytes moved for 60 s; the pipe was closed', { kind: 'relay-ended', reason: 'no bytes moved for 60 s; the pipe was closed' }],
  ['hoodycall', '[ERROR] the relay is shutting down', { kind: 'relay-ended', reason: 'the relay is shutting down' }],
  ['piping-server', '[INFO] Waiting for 1 receiver(s)...', { kind: 'waiting' }],
  ['piping-server', '[INFO] 1 receiver(s) has/have been connected.', { kind: 'receivers-joined' }],
  ['piping-server', '[INFO] A receiver was connected.', { kind: 'receivers-joined' }],
  ['piping-server', '[INFO] Start sending to 1 receiver(s)!', { kind: 'go' }],
  ['piping-server', '[INFO] A receiver aborted.', { kind: 'receiver-left' }],
  ['piping-server', '[INFO] All receiver(s) was/were aborted halfway.', { kind: 'receivers-gone' }],
  ['piping-server', '[INFO] All receiver(s) was/were received successfully.', { kind: 'done' }],
  ['piping-server', '[INFO] Sent successfully!', { kind: 'info', text: 'sent successfully' }],
  ['piping-server', '[ERROR] Failed to send.', { kind: 'failed', reason: 'failed to send' }],
  ['hosted', '[INFO] Waiting for 1 receiver(s) to connect...', { kind: 'waiting' }],
  ['hosted', '[INFO] 1 receiver(s) already connected.', { kind: 'receivers-joined' }],
  ['hosted', '[INFO] Streaming to 1 receiver(s)...', { kind: 'go' }],
  ['hosted', '[INFO] A receiver disconnected.', { kind: 'receiver-left' }],
  ['hosted', '[ERROR] Timed out waiting for receivers.', { kind: 'timed-out' }],
  ['hosted', '[ERROR] Server at maximum active transfer capacity.', { kind: 'capacity' }],
  ['hosted', '[INFO] Transfer complete.', { kind: 'done' }],
  ['hosted', '[INFO] Upload complete.', { kind: 'info', text: 'upload complete' }],
  ['hosted', '[ERROR] Transfer failed', { kind: 'failed', reason: 'transfer failed' }],
];

for (const [dialect, line, meaning] of SAMPLES) {
  test(`${dialect}: "${line}" is ${meaning.kind}`, () => {
    assert.deepEqual(classifyRelayLine(line), meaning);
    assert.equal(dialectOfLine(line), dialect);
  });
}

test('every rule of the table has a sample above (a new row needs its test)', () => {
  for (const rule of LINE_RULES) {
    assert.ok(SAMPLES.some(([, line]) => rule.pattern.test(line)), `no sample for ${String(rule.pattern)}`);
  }
});

test('unknown lines: an [ERROR] is a failure with its reason, anything else is information; escape sequences never survive', () => {
  assert.deepEqual(classifyRelayLine('[ERROR] something new'), { kind: 'failed', reason: 'something new' });
  assert.deepEqual(classifyRelayLine('[INFO] something new'), { kind: 'info', text: 'something new' });
  for (const line of ['\u001b[2J\u001b]0;owned\u0007[ERROR] x\r', '\u001b[31m[INFO] Start sending to 1 receiver(s)!\u001b[0m', '[INFO] Waiting for 1 receiver(s)...\r', '[ERROR] \u009b31mred']) {
    const text = Object.values(classifyRelayLine(line)).join(' ');
    // eslint-disable-next-line no-control-regex -- looking for them
    assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f]/, JSON.stringify(text));
  }
  assert.equal(dialectOfLine('[INFO] hello'), undefined);
});

test('RelayLineReader: lines split across chunks are classified once whole; the kept text is bounded', () => {
  const reader = new RelayLineReader();
  assert.deepEqual(reader.push('[INFO] Waiting for 1 rec'), []);
  assert.deepEqual(reader.push('eiver(s)...\n[INFO] Start sending'), [{ kind: 'waiting' }]);
  assert.deepEqual(reader.push(' to 1 receiver(s)!\n'), [{ kind: 'go' }]);
  assert.equal(reader.first, '[INFO] Waiting for 1 receiver(s)...');
  reader.push('x'.repeat(100_000));
  assert.ok(reader.text.length <= 4_096);
});
