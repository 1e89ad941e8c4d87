import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { hangUpBoth, runCli, startServe, untilBothBack } from '../helpers/cli.js';
import { startFreezingProxy } from '../helpers/freezing-proxy.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

test('the relay restarts mid-call: talk and listen --reconnect dial again, the tone is heard again, ctrl-C still ends it cleanly', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const name = uniqueName();
  const out = path.join(dir, 'out.wav');
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--reconnect', '--output', out]);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--reconnect', '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
  await sleep(1_500);
  relay.child.kill('SIGKILL');
  await relay.exited;
  await sleep(700);
  const restarted = await startServe(t, ['--host', '127.0.0.1', '--port', String(relay.port)]);
  await untilBothBack(talker, listener, 15_000);
  const backAt = Date.now();
  assert.match(talker.stderr(), /reconnecting to/);
  assert.match(listener.stderr(), /reconnecting to/);
  await sleep(2_000);
  await hangUpBoth(talker, listener);
  assert.match(listener.stderr(), /the talker hung up/);
  const samples = wavSamples(await readFile(out));
  const seconds = samples.length / 48_000;
  const afterRestart = (Date.now() - backAt) / 1000;
  // The audio before the restart and the audio after it, both the tone, in one file.
  assert.ok(seconds > 1.2 + Math.min(afterRestart, 1.5), `${seconds} s heard`);
  assert.equal(toneOf(samples, 0, 1), 440);
  assert.equal(toneOf(samples, seconds - 1.5, seconds - 0.2), 440, 'heard again after the restart');
  restarted.child.kill('SIGTERM');
});

test('a talker that vanishes: listen --reconnect waits one more hold, then gives up with the 408 code, not forever', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0', '--hold', '1']);
  const name = uniqueName();
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--reconnect', '--output', '/dev/null']);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
  await sleep(500);
  talker.child.kill('SIGKILL');
  const exit = await listener.exited;
  assert.equal(exit.code, 7, listener.stderr());
  assert.match(listener.stderr(), /reconnecting to/);
  assert.match(listener.stderr(), /gave up after 2 tries/);
  assert.ok(exit.afterMs < 15_000, `${exit.afterMs} ms`);
});

test('ctrl-C during a gap ends at once: talk and listen stop redialing a relay that is gone and exit 0', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName();
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--reconnect', '--output', '/dev/null']);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--reconnect', '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
  relay.child.kill('SIGKILL');
  await waitFor(() => /reconnecting to/.test(talker.stderr()) && /reconnecting to/.test(listener.stderr()), 'both redialing', 10_000);
  await sleep(1_000);
  const pressedAt = Date.now();
  talker.child.kill('SIGINT');
  listener.child.kill('SIGINT');
  const [talkExit, listenExit] = await Promise.all([talker.exited, listener.exited]);
  assert.equal(talkExit.code, 0, talker.stderr());
  assert.equal(listenExit.code, 0, listener.stderr());
  assert.ok(Date.now() - pressedAt < 2_000, `took ${Date.now() - pressedAt} ms`);
  assert.match(talker.stderr(), /hung up after/);
  assert.match(listener.stderr(), /left .* after/);
});

test('the listener\'s link drops without a word (frozen, never closed): it redials, takes its own place back at once, and the call goes on', async (t) => {
  // Without its session id the redial would find the pipe busy (409) for as long as the relay holds
  // the dead connection, and give up.
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const proxy = await startFreezingProxy(t, relay.port);
  const dir = await tempDir(t);
  const name = uniqueName();
  const out = path.join(dir, 'out.wav');
  const listener = runCli(t, ['listen', name, '--server', `http://127.0.0.1:${proxy.port}`, '--reconnect', '--output', out]);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--reconnect', '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
  await sleep(1_500);
  proxy.freeze();
  await waitFor(() => /back after a [\d.]+ s gap/.test(listener.stderr()), 'the listener back', 20_000);
  await sleep(2_000);
  await hangUpBoth(talker, listener);
  assert.doesNotMatch(listener.stderr(), /busy/);
  const samples = wavSamples(await readFile(out));
  const seconds = samples.length / 48_000;
  assert.equal(toneOf(samples, 0, 1), 440);
  assert.equal(toneOf(samples, seconds - 1.5, seconds - 0.2), 440, 'heard again after the drop');
});

test('the talker\'s link drops without a word: the call comes back (listener and talker both redial and replace their dead ends)', { timeout: 60_000 }, async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const proxy = await startFreezingProxy(t, relay.port);
  const dir = await tempDir(t);
  const name = uniqueName();
  const out = path.join(dir, 'out.wav');
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--reconnect', '--output', out]);
  const talker = runCli(t, ['talk', name, '--server', `http://127.0.0.1:${proxy.port}`, '--reconnect', '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
  await sleep(1_500);
  proxy.freeze();
  await untilBothBack(talker, listener, 30_000);
  await sleep(2_000);
  await hangUpBoth(talker, listener);
  const samples = wavSamples(await readFile(out));
  const seconds = samples.length / 48_000;
  assert.equal(toneOf(samples, seconds - 1.5, seconds - 0.2), 440, 'heard again after the drop');
});
