import assert from 'node:assert/strict';
import test from 'node:test';
import { PipeError, type PipeErrorKind } from '../../src/client/index.js';
import { type CallCommand, EXIT_OF_PIPE_ERROR, ending } from '../../src/cli/ends.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import type { CallEnd } from '../../src/session/ends.js';

const facts = { name: 'k7m2-9qxd', elapsed: '0:12', kib: 54, delayMs: 61.6 };
const audioFailed = (cause: 'no-input-device' | 'unknown'): CallEnd => ({ kind: 'audio-failed', outcome: { ok: false, failure: { cause }, message: `ffmpeg: ${cause}` } });

/** Every end of every command: its exit code and its last line. One row each. */
const TABLE: readonly [CallCommand, CallEnd, number, string | RegExp][] = [
  ['talk', { kind: 'finished' }, 0, 'call ended after 0:12, 54 KiB sent'],
  ['talk', { kind: 'hung-up' }, 0, 'hung up after 0:12'],
  ['talk', { kind: 'other-hung-up' }, 0, 'the listener hung up after 0:12'],
  ['talk', { kind: 'interrupted' }, 130, 'interrupted before anyone joined'],
  ['listen', { kind: 'finished' }, 0, 'call ended: the talker hung up after 0:12'],
  ['listen', { kind: 'other-hung-up' }, 0, 'call ended: the talker hung up after 0:12'],
  ['listen', { kind: 'hung-up' }, 0, 'left k7m2-9qxd after 0:12'],
  ['listen', { kind: 'interrupted' }, 130, 'interrupted before the talker came'],
  ['listen', { kind: 'not-audio', detail: 'x carries text/html, not Ogg or WebM audio' }, 12, 'x carries text/html, not Ogg or WebM audio'],
  ['listen', { kind: 'unauthenticated', failure: 'tampered', detail: 'the sealed stream failed authentication' }, 13, 'the sealed stream failed authentication'],
  ['call', { kind: 'unauthenticated', failure: 'wrong-code', detail: 'another code' }, 13, 'another code'],
  ['call', { kind: 'hung-up' }, 0, 'call ended after 0:12'],
  ['call', { kind: 'other-hung-up' }, 0, 'the other side hung up after 0:12'],
  ['call', { kind: 'interrupted' }, 130, 'interrupted before the other side came'],
  ['call', { kind: 'room-full' }, 6, 'the room k7m2-9qxd is full: two people are in a call there'],
  ['echo', { kind: 'hung-up' }, 0, 'echo ended after 0:12; you heard yourself 62 ms late (+ device buffers)'],
  ['talk', { kind: 'cut', error: new PipeError('lost', 'nothing heard from the relay for 5 s') }, 8, 'the call was cut off after 0:12: nothing heard from the relay for 5 s'],
  ['listen', { kind: 'cut', error: new PipeError('nobody-came', 'nobody joined x in time; gave up after 2 tries') }, 7, /cut off after 0:12: nobody joined/],
  ['talk', { kind: 'refused', error: new PipeError('busy', 'the pipe x is busy') }, 6, 'the pipe x is busy'],
  ['listen', { kind: 'refused', error: new PipeError('silent', 'x answered nothing') }, 5, 'x answered nothing'],
  ['call', audioFailed('no-input-device'), 4, 'ffmpeg: no-input-device'],
  ['talk', audioFailed('unknown'), 9, 'ffmpeg: unknown'],
];

for (const [command, end, exitCode, line] of TABLE) {
  test(`${command}, ${end.kind}${'error' in end ? ` (${end.error.kind})` : ''}: exit ${exitCode}`, () => {
    const result = ending(command, end, facts);
    assert.equal(result.exitCode, exitCode);
    if (typeof line === 'string') assert.equal(result.line, line);
    else assert.match(result.line, line);
    assert.equal(result.error, exitCode !== 0);
  });
}

test('every way a dial can fail has its own documented exit code', () => {
  const expected: Record<PipeErrorKind, number> = {
    unreachable: ExitCode.serverUnreachable,
    'untrusted-certificate': ExitCode.serverUnreachable,
    silent: ExitCode.serverUnreachable,
    busy: ExitCode.pipeBusy,
    'nobody-came': ExitCode.nobodyCame,
    lost: ExitCode.streamAborted,
    'relay-limit': ExitCode.relayRefused,
    'not-a-pipe': ExitCode.relayRefused,
    redirected: ExitCode.relayRefused,
    refused: ExitCode.relayRefused,
  };
  assert.deepEqual(EXIT_OF_PIPE_ERROR, expected);
});
