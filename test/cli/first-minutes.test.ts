/**
 * The first five minutes of a new user, as they go: echo and its ctrl-C, `timeout`'s SIGTERM, the
 * delay echo reports, what talk prints for the other side, doctor on a machine without a microphone
 * and against each relay, and what a client does with a relay that misbehaves.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import test from 'node:test';
import { execa } from 'execa';
import { tempDir } from '../helpers/calls.js';
import { BIN, isRunning, runCli, startServe } from '../helpers/cli.js';
import { startFreezingProxy } from '../helpers/freezing-proxy.js';
import { startPulse } from '../helpers/pulse.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';
import { DIALECTS, startTestRelay } from '../helpers/relays.js';
import { ESCAPE, ffmpegsTagged, hasTmux, inTerminal, untilExit, untilOutput } from '../helpers/terminal.js';

test('echo in a terminal: ctrl-C (which a terminal sends to the whole process group) ends it cleanly, exit 0, no ffmpeg left', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const wav = path.join(tmpdir(), `${uniqueName()}.wav`);
  t.after(() => rm(wav, { force: true }));
  const echo = await inTerminal(t, ['echo', '--tone', '440', '--output', wav]);
  await untilOutput(echo, /speak and hear yourself/, 'echo running');
  await sleep(1_500);
  const ffmpegs = await ffmpegsTagged(echo.tag);
  assert.ok(ffmpegs.length >= 2, `echo runs a talker's and a listener's ffmpeg: ${ffmpegs.join(' ')}`);
  await echo.ctrlC();
  assert.equal(await untilExit(echo), 0, await echo.raw());
  const lines = await echo.screen();
  assert.match(lines.at(-1) ?? '', /echo ended after 0:0\d; you heard yourself \d+ ms late/, JSON.stringify(lines));
  assert.doesNotMatch(await echo.raw(), /ffmpeg failed|exit status 255/);
  await sleep(200);
  assert.deepEqual(ffmpegs.filter(isRunning), [], 'ffmpeg outlived echo');
});

test('timeout(1) SIGTERMs the whole process group of call: both ends hang up cleanly with 0, not "ffmpeg failed"', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const room = uniqueName('room');
  const side = (hz: number) => execa('timeout', ['--preserve-status', '-s', 'TERM', '4', process.execPath, BIN, 'call', room, '--server', relay.url.origin, '--tone', String(hz), '--output', '/dev/null'], { reject: false });
  const [a, b] = await Promise.all([side(440), (async () => (await sleep(300), side(1000)))()]);
  for (const end of [a, b]) {
    assert.equal(end.exitCode, 0, end.stderr);
    assert.doesNotMatch(end.stderr, /ffmpeg|cut off/);
    assert.match(end.stderr, /call ended after|the other side hung up after/);
  }
});

test('the same SIGTERM delivered twice at once (to the process and to its group, as timeout(1) does) is one hang-up, not a quit', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName();
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', '/dev/null']);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'on air', 10_000);
  talker.child.kill('SIGTERM');
  // A moment apart, as two deliveries are (sent at once, the kernel would merge them into one).
  await sleep(5);
  talker.child.kill('SIGTERM');
  assert.equal((await talker.exited).code, 0, talker.stderr());
  assert.match(talker.stderr(), /call ended after/);
  assert.equal((await listener.exited).code, 0, listener.stderr());
  assert.match(listener.stderr(), /the talker hung up/);
});

test('echo reports the delay that is heard: after a stall the catch-up drops audio, and the figure comes back down (it is not counted as delay)', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const proxy = await startFreezingProxy(t, relay.port);
  const dir = await tempDir(t);
  const echo = runCli(t, ['echo', '--server', `http://127.0.0.1:${proxy.port}`, '--tone', '440', '--output', path.join(dir, 'echo.wav')]);
  await waitFor(() => /speak and hear yourself/.test(echo.stderr()), 'echo running', 10_000);
  await sleep(1_000);
  proxy.stall(1_500);
  // The catch-up drops what piled up; then a few seconds of the usual delay.
  await sleep(5_000);
  echo.child.kill('SIGINT');
  const exit = await echo.exited;
  assert.equal(exit.code, 0, echo.stderr());
  const delay = Number(/you heard yourself (\d+) ms late/.exec(echo.stderr())?.[1]);
  assert.ok(delay > 0 && delay < 300, `reported ${delay} ms after a 1.5 s stall the catch-up undid: ${echo.stderr()}`);
});

test('talk NAME prints the lines the other side needs, whoever chose the name', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0', '--hold', '1']);
  const talker = runCli(t, ['talk', 'chosen-name', '--server', relay.url.origin, '--tone', '440']);
  assert.equal((await talker.exited).code, 7);
  assert.match(talker.stdout(), /hoodycall listen chosen-name --server http:\/\/127\.0\.0\.1:\d+\n/);
  assert.match(talker.stdout(), /curl -sN http:\/\/127\.0\.0\.1:\d+\/api\/v1\/pipe\/chosen-name \| mpv --no-video -/);
  assert.match(talker.stdout(), /\/#chosen-name in a browser/);
});

test('listen in a terminal: "connected to NAME: listening" stays on screen (the live line ticks below it)', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName();
  const listen = await inTerminal(t, ['listen', name, '--server', relay.url.origin, '--output', '/dev/null']);
  await untilOutput(listen, /waiting for the talker/, 'waiting');
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
  // Well past several redraws of the live line.
  await sleep(1_500);
  const screen = await listen.screen();
  assert.ok(screen.some((line) => line.includes(`connected to ${name}: listening`)), JSON.stringify(screen));
  assert.ok(screen.some((line) => /listening 0:0\d · [\d.]+ kbit\/s/.test(line)), JSON.stringify(screen));
  talker.child.kill('SIGINT');
  assert.equal(await untilExit(listen), 0);
});

test('doctor: a machine without a microphone is told so (exit 4), not "ok capture"; with one, the device opens', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  // No sound server, and (here and in CI) no sound card: what ALSA then has is a default device that cannot open.
  const noSound = { ...process.env, PULSE_SERVER: 'unix:/nonexistent/pulse' };
  const without = runCli(t, ['doctor', '--server', relay.url.origin], { env: noSound });
  assert.equal((await without.exited).code, 4, without.stdout() + without.stderr());
  assert.match(without.stdout(), /^FAIL capture via alsa: /m);
  assert.match(without.stdout(), /^ok {3}a test pair streamed/m, 'the relay part still runs');
  const pulse = await startPulse();
  if (pulse === null) return;
  t.after(() => pulse.stop());
  await pulse.pactl('set-default-source', 'hc_mic.monitor');
  const withPulse = runCli(t, ['doctor', '--server', relay.url.origin], { env: { ...process.env, ...pulse.env } });
  const exit = await withPulse.exited;
  assert.match(withPulse.stdout(), /^ok {3}capture via pulse .*: the default device opens$/m, withPulse.stdout());
  assert.equal(exit.code, 0, withPulse.stdout() + withPulse.stderr());
});

for (const dialect of DIALECTS) {
  test(`doctor --server on ${dialect}: says which dialect it speaks, and that a test pair streamed through it`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const doctor = runCli(t, ['doctor', '--server', relay.url.origin]);
    await doctor.exited;
    assert.match(doctor.stdout(), new RegExp(`^ok {3}relay ${relay.url.origin.replace(/\./g, '\\.')} answers \\(\\d+ ms\\) and speaks the ${dialect} dialect`, 'm'), doctor.stdout());
    assert.match(doctor.stdout(), /^ok {3}a test pair streamed through .*: first byte \d+ ms after it was sent$/m);
  });
}

/** A server that answers every request with `respond`, on port 0. */
async function fakeRelay(t: { after(fn: () => void): void }, respond: http.RequestListener): Promise<string> {
  const server = http.createServer(respond);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

test('a pipe that carries an HTML page is "not audio" (exit 12), in one line', async (t) => {
  const server = await fakeRelay(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>Sign in to continue</body></html>');
  });
  const listener = runCli(t, ['listen', 'x', '--server', server, '--output', '/dev/null']);
  assert.equal((await listener.exited).code, 12, listener.stderr());
  assert.match(listener.stderr(), /^hoodycall: x carries text\/html, not Ogg or WebM audio$/m);
});

test('an endless body of garbage is "not audio" (exit 12) within a second or two, not a listener spinning at full CPU', async (t) => {
  const server = await fakeRelay(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const junk = Buffer.from('OggS'.repeat(16) + 'x'.repeat(4_032));
    const timer = setInterval(() => res.write(junk), 5);
    res.once('close', () => clearInterval(timer));
  });
  const listener = runCli(t, ['listen', 'x', '--server', server, '--output', '/dev/null']);
  const exit = await listener.exited;
  assert.equal(exit.code, 12, listener.stderr());
  assert.ok(exit.afterMs < 5_000, `${exit.afterMs} ms`);
  assert.match(listener.stderr(), /carries bytes that are not an Ogg stream/);
});

test('a redirect is an error that says where it points (exit 11); the name is never sent there', async (t) => {
  let elsewhere = 0;
  const target = await fakeRelay(t, (_req, res) => {
    elsewhere += 1;
    res.end();
  });
  const server = await fakeRelay(t, (_req, res) => {
    res.writeHead(307, { location: `${target}/api/v1/pipe/x` });
    res.end();
  });
  for (const args of [['listen', 'x', '--output', '/dev/null'], ['talk', 'x', '--tone', '440']]) {
    const cli = runCli(t, [...args, '--server', server]);
    assert.equal((await cli.exited).code, 11, cli.stderr());
    assert.match(cli.stderr(), /redirects \(HTTP 307\) to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/pipe\/x/);
  }
  assert.equal(elsewhere, 0);
});

test('what a relay says reaches the terminal without its control characters', async (t) => {
  const server = await fakeRelay(t, (_req, res) => {
    res.writeHead(409, { 'content-type': 'text/plain' });
    res.end('[ERROR] \u001b]0;pwned\u0007\u001b[2Jbusy\rforged line\n');
  });
  const listener = runCli(t, ['listen', 'x', '--server', server, '--output', '/dev/null']);
  assert.equal((await listener.exited).code, 6);
  assert.doesNotMatch(listener.stderr(), ESCAPE);
  // eslint-disable-next-line no-control-regex -- looking for them
  assert.doesNotMatch(listener.stderr(), /[\u0007\r]/);
  assert.match(listener.stderr(), /busy/);
});

test('a relay that takes the connection and says nothing: listen gives up with exit 5, not after the hold', async (t) => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => sockets.add(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const listener = runCli(t, ['listen', 'x', '--server', `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, '--output', '/dev/null']);
  const exit = await listener.exited;
  assert.equal(exit.code, 5, listener.stderr());
  assert.match(listener.stderr(), /took the connection but has answered nothing for 13 s/);
  assert.ok(exit.afterMs < 20_000, `${exit.afterMs} ms`);
});

test('an unwritable --record path is said before the call, in one line (exit 2)', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const listener = runCli(t, ['listen', uniqueName(), '--server', relay.url.origin, '--output', '/dev/null', '--record', '/nonexistent/dir/call.ogg']);
  assert.equal((await listener.exited).code, 2, listener.stderr());
  assert.match(listener.stderr(), /^hoodycall: cannot write --record \/nonexistent\/dir\/call\.ogg: ENOENT$/m);
});
