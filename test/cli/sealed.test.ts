/**
 * Sealed calls end to end, CLI to CLI through the real relay (`hoodycall serve`): what the relay's side
 * of the wire sees, a byte changed in flight, a wrong code, a plain stream where a sealed one was
 * expected, and a two-way sealed call. The other dialects run the talk/listen case (dialects/suite.ts).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { generateCode, HEADER_BYTES, openCode, SEALED_MAGIC, Sealer } from '../../src/wire.js';
import { opusOgg } from '../helpers/ogg.js';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { hangUpBoth, runCli, startServe, untilBothBack } from '../helpers/cli.js';
import { curl } from '../helpers/http.js';
import { sleep, waitFor } from '../helpers/relay.js';
import { startTapProxy } from '../helpers/tap-proxy.js';

const OGG_MARKS = ['OggS', 'OpusHead', 'OpusTags'];

function marksIn(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  return OGG_MARKS.filter((mark) => text.includes(mark));
}

test('talk --secret: the code is shared, never sent; the relay carries no OggS or Opus header either way; listen CODE hears the tone and --record keeps the opened Ogg', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const tap = await startTapProxy(t, relay.port);
  const dir = await tempDir(t);
  const out = path.join(dir, 'out.wav');
  const record = path.join(dir, 'call.ogg');
  const via = `http://127.0.0.1:${tap.port}`;
  const talker = runCli(t, ['talk', '--secret', '--server', via, '--tone', '440']);
  await waitFor(() => /sealed-/.test(talker.stdout()), 'the share lines', 10_000);
  const code = /hoodycall listen (sealed-[0-9a-z-]+)/.exec(talker.stdout())?.[1] ?? '';
  assert.match(talker.stdout(), new RegExp(`#${code}`), 'the browser link carries the code in the fragment');
  assert.match(talker.stdout(), /curl \| mpv or any plain player cannot play/);
  assert.doesNotMatch(talker.stdout(), /curl -sN/, 'no plain-player line for a sealed call');
  const listener = runCli(t, ['listen', code, '--server', via, '--output', out, '--record', record]);
  await waitFor(() => /on air/.test(talker.stderr()), 'the talker on air', 10_000);
  await sleep(2_000);
  await hangUpBoth(talker, listener);
  assert.match(listener.stderr(), /the talker hung up/);
  assert.equal(toneOf(wavSamples(await readFile(out))), 440);
  const kept = await readFile(record);
  assert.equal(kept.subarray(0, 4).toString('latin1'), 'OggS', '--record keeps the opened stream');

  const sent = tap.sent();
  const received = tap.received();
  assert.ok(sent.length > 10_000 && received.length > 10_000, `${sent.length} bytes up, ${received.length} down`);
  assert.deepEqual(marksIn(sent), [], 'the relay was sent Ogg in the clear');
  assert.deepEqual(marksIn(received), [], 'the relay forwarded Ogg in the clear');
  for (const bytes of [sent, received]) assert.ok(!bytes.toString('latin1').includes(code.slice('sealed-'.length)), 'the code went over the wire');
  assert.match(sent.toString('latin1'), /content-type: application\/vnd\.hoodycall\.sealed\+ogg/i);
  assert.match(received.toString('latin1'), /content-type: application\/vnd\.hoodycall\.sealed\+ogg/i);
});

test('one byte changed in flight: the listener says the sealed stream failed authentication, exits 13, and plays nothing after it', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const tap = await startTapProxy(t, relay.port);
  const dir = await tempDir(t);
  const out = path.join(dir, 'out.wav');
  const code = generateCode();
  // About 1.5 s into the call (a 20 ms page at 32 kbit/s is ~100 bytes, plus its framing).
  tap.flipBodyByte(8_000);
  const listener = runCli(t, ['listen', code, '--server', `http://127.0.0.1:${tap.port}`, '--output', out, '--no-reconnect']);
  const talker = runCli(t, ['talk', code, '--server', relay.url.origin, '--tone', '440']);
  const listenExit = await listener.exited;
  assert.ok(tap.flipped(), 'the proxy changed a byte');
  assert.equal(listenExit.code, 13, listener.stderr());
  const errors = listener.stderr().split('\n').filter((line) => line.startsWith('hoodycall:'));
  assert.equal(errors.length, 1, listener.stderr());
  assert.match(errors[0] ?? '', /^hoodycall: the sealed stream's record \d+ failed authentication: .*nothing after it was played$/);
  // What was authenticated before the change was played; at most that (~1.5 s), never the rest of the call.
  const samples = wavSamples(await readFile(out));
  assert.ok(samples.length / 48_000 < 2.5, `${samples.length / 48_000} s played`);
  talker.child.kill('SIGINT');
  await talker.exited;
});

test('a stream sealed with another code, or a plain stream on the code\'s pipe, ends listen CODE with exit 13 and one line; a plain listener is told it is not audio it can play', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const code = generateCode();
  const call = await openCode(code);
  // Real Opus pages, sealed with another code, sent by curl to this code's pipe.
  const other = new Sealer(await openCode(generateCode()));
  const ogg = await opusOgg({ seconds: 1 });
  const forged = path.join(dir, 'forged.bin');
  await writeFile(forged, Buffer.concat([await other.seal(ogg.subarray(0, 2_000)), await other.seal(ogg.subarray(2_000))]));
  const sending = curl(['-sS', '-T', forged, '-H', 'Content-Type: application/vnd.hoodycall.sealed+ogg', relay.pipeUrl(call.pipeName)]);
  const wrong = runCli(t, ['listen', code, '--server', relay.url.origin, '--output', path.join(dir, 'wrong.wav')]);
  assert.equal((await wrong.exited).code, 13, wrong.stderr());
  assert.match(wrong.stderr(), /^hoodycall: the talker sealed this call with another code: nothing was played/m);
  await sending;

  const plainTalker = runCli(t, ['talk', call.pipeName, '--server', relay.url.origin, '--tone', '440']);
  const plain = runCli(t, ['listen', code, '--server', relay.url.origin, '--output', path.join(dir, 'plain.wav')]);
  assert.equal((await plain.exited).code, 13, plain.stderr());
  assert.match(plain.stderr(), /does not carry a sealed call: nothing was played/);
  plainTalker.child.kill('SIGINT');
  await plainTalker.exited;

  const sealedTalker = runCli(t, ['talk', code, '--server', relay.url.origin, '--tone', '440']);
  const unsealed = runCli(t, ['listen', call.pipeName, '--server', relay.url.origin, '--output', path.join(dir, 'plain.wav')]);
  assert.equal((await unsealed.exited).code, 12, unsealed.stderr());
  assert.match(unsealed.stderr(), /carries application\/vnd\.hoodycall\.sealed\+ogg, not Ogg or WebM audio/);
  sealedTalker.child.kill('SIGINT');
  await sealedTalker.exited;
});

test('talk --secret with a pipe name is a usage error (2); call --secret: both sides hear each other through the sealed room', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const misuse = runCli(t, ['talk', 'my-pipe', '--secret', '--server', relay.url.origin, '--tone', '440']);
  assert.equal((await misuse.exited).code, 2, misuse.stderr());
  assert.match(misuse.stderr(), /^hoodycall: --secret takes a code/m);

  const outA = path.join(dir, 'a.wav');
  const outB = path.join(dir, 'b.wav');
  const first = runCli(t, ['call', '--secret', '--server', relay.url.origin, '--tone', '300', '--output', outA]);
  await waitFor(() => /hoodycall call sealed-/.test(first.stdout()), 'the share line', 10_000);
  const code = /hoodycall call (sealed-[0-9a-z-]+)/.exec(first.stdout())?.[1] ?? '';
  assert.match(first.stdout(), /sealed end to end/);
  const second = runCli(t, ['call', code, '--server', relay.url.origin, '--tone', '1000', '--output', outB]);
  await waitFor(() => /in a call/.test(first.stderr()) && /in a call/.test(second.stderr()), 'both in the call', 15_000);
  await sleep(2_500);
  first.child.kill('SIGINT');
  const [exitA, exitB] = await Promise.all([first.exited, second.exited]);
  assert.equal(exitA.code, 0, first.stderr());
  assert.equal(exitB.code, 0, second.stderr());
  assert.equal(toneOf(wavSamples(await readFile(outA))), 1000, 'a heard b');
  assert.equal(toneOf(wavSamples(await readFile(outB))), 300, 'b heard a');
});

test('echo --secret: the tone comes back sealed through the embedded relay, with its delay measured', async (t) => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'echo.wav');
  const echo = runCli(t, ['echo', '--secret', '--tone', '440', '--output', out]);
  await waitFor(() => /speak and hear yourself/.test(echo.stderr()), 'echo running', 10_000);
  await sleep(2_000);
  echo.child.kill('SIGINT');
  const exit = await echo.exited;
  assert.equal(exit.code, 0, echo.stderr());
  assert.match(echo.stderr(), /you heard yourself \d+ ms late/);
  assert.equal(toneOf(wavSamples(await readFile(out))), 440);
});

test('a talker that reconnects starts each connection with a header of its own: a fresh salt, so no nonce is used twice', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const tap = await startTapProxy(t, relay.port);
  const dir = await tempDir(t);
  const code = generateCode();
  const out = path.join(dir, 'out.wav');
  const listener = runCli(t, ['listen', code, '--server', relay.url.origin, '--output', out]);
  const talker = runCli(t, ['talk', code, '--server', `http://127.0.0.1:${tap.port}`, '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
  await sleep(1_000);
  tap.cut();
  await untilBothBack(talker, listener, 20_000);
  await sleep(1_500);
  await hangUpBoth(talker, listener);
  const sent = tap.sent();
  const magic = Buffer.from(SEALED_MAGIC);
  const headers: string[] = [];
  for (let at = sent.indexOf(magic); at !== -1; at = sent.indexOf(magic, at + 1)) headers.push(sent.subarray(at, at + HEADER_BYTES).toString('hex'));
  assert.equal(headers.length, 2, 'one header per connection');
  assert.notEqual(headers[0], headers[1], 'the second connection reused the first one\'s salt');
  const samples = wavSamples(await readFile(out));
  const seconds = samples.length / 48_000;
  assert.equal(toneOf(samples, seconds - 1.2, seconds - 0.2), 440, 'heard again after the reconnect');
});
