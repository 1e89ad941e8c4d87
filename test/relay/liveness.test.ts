/**
 * A name is freed as soon as its waiting side is gone, whatever that side was doing. A side the relay
 * does not read (a sender held back at its buffer, an upgrade request, a body nobody wants) would not
 * show its peer's FIN: the name then stayed taken for the whole hold (5 minutes), and a listener who
 * came meanwhile got a 200 and then a cut stream. Real clients: curl, ffmpeg, the `ws` library.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { execa } from 'execa';
import WebSocket from 'ws';
import { fetchReply } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor, type RunningRelay } from '../helpers/relay.js';
import { rawRequest } from '../helpers/raw.js';

/** Well over the relay's default pipe buffer (256 KiB): the relay stops reading the sender. */
const OVER_BUFFER = 2 * 1024 * 1024;

/** Feeds `data` to a child's stdin, then keeps the pipe open (a live source that has nothing more yet). */
function feed(stdin: Writable | null, data: Buffer): void {
  stdin?.on('error', () => undefined);
  stdin?.write(data);
}

/** `curl -T -` reading stdin: it waits 1 s for 100 Continue, then sends its body anyway. */
function curlSender(t: TestContext, url: string) {
  const child = execa('curl', ['-sS', '-T', '-', url], { stdin: 'pipe', reject: false });
  t.after(() => child.kill('SIGKILL'));
  return child;
}

async function senderHeldBack(relay: RunningRelay['relay']): Promise<void> {
  await waitFor(() => relay.stats().waiting === 1, 'the sender to wait');
  await waitFor(() => relay.bufferedBytes() >= 200 * 1024, 'the relay to hold the sender back at its buffer', 5_000);
}

async function assertFreedWithin(running: RunningRelay, ms: number, what: string): Promise<void> {
  const started = Date.now();
  await waitFor(() => running.relay.stats().waiting === 0, `${what}: the name to be freed`, ms);
  assert.ok(Date.now() - started <= ms);
  await waitFor(() => running.relay.bufferedBytes() === 0, `${what}: its buffer to be released`);
  assert.match(running.log.at(-1) ?? '', /outcome=left-waiting$/);
}

test('curl -T - whose body started before anyone came, killed while held back: the name is free within 3 s', async (t) => {
  const running = await startRelay(t);
  const sender = curlSender(t, running.pipeUrl(uniqueName()));
  feed(sender.stdin, randomBytes(OVER_BUFFER));
  await senderHeldBack(running.relay);
  // Held for a while (probes go to curl every second and change nothing for it).
  await sleep(1_500);
  assert.equal(running.relay.stats().waiting, 1);
  sender.kill('SIGKILL');
  await assertFreedWithin(running, 3_000, 'curl killed');
});

test('a held-back curl sender that stays is not dropped: its receiver gets the whole stream', async (t) => {
  const running = await startRelay(t);
  const url = running.pipeUrl(uniqueName());
  const sender = curlSender(t, url);
  const data = randomBytes(OVER_BUFFER);
  feed(sender.stdin, data);
  await senderHeldBack(running.relay);
  await sleep(2_500);
  const receiving = fetchReply(url);
  await waitFor(() => running.relay.stats().streaming === 1, 'the pipe to start');
  sender.stdin?.end();
  const reply = await receiving;
  assert.equal(reply.status, 200);
  assert.ok(reply.complete);
  assert.equal(createHash('sha256').update(reply.body).digest('hex'), createHash('sha256').update(data).digest('hex'));
  const result = await sender;
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, /\[INFO\] done, 2097152 bytes/);
});

test('ffmpeg -method PUT, faster than real time, killed while held back: the name is free within 3 s', async (t) => {
  const running = await startRelay(t);
  const ffmpeg = execa(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=600', '-c:a', 'pcm_s16le', '-f', 'wav', '-method', 'PUT', running.pipeUrl(uniqueName())],
    { reject: false },
  );
  t.after(() => ffmpeg.kill('SIGKILL'));
  await senderHeldBack(running.relay);
  await sleep(1_500);
  ffmpeg.kill('SIGKILL');
  await assertFreedWithin(running, 3_000, 'ffmpeg killed');
});

test('a curl --http2 receiver (an h2c upgrade the relay answers as HTTP/1.1) that is killed frees its name at once', async (t) => {
  const running = await startRelay(t);
  const url = running.pipeUrl(uniqueName());
  const receiver = execa('curl', ['-sS', '--http2', url], { reject: false });
  t.after(() => receiver.kill('SIGKILL'));
  await waitFor(() => running.relay.stats().waiting === 1, 'the receiver to wait');
  receiver.kill('SIGKILL');
  await assertFreedWithin(running, 1_000, 'curl --http2 killed');
  // And one that stays still gets the bytes.
  const staying = execa('curl', ['-sS', '--http2', url], { reject: false, encoding: 'buffer' });
  await waitFor(() => running.relay.stats().waiting === 1, 'the second receiver to wait');
  const sent = await fetchReply(url, { method: 'PUT', body: 'over h2c-upgrade-refused HTTP/1.1' });
  assert.equal(sent.status, 200);
  assert.equal(Buffer.from((await staying).stdout).toString(), 'over h2c-upgrade-refused HTTP/1.1');
});

test('a WebSocket talker that sent more than its buffer while waiting, then vanished: the name is free within 3 s', async (t) => {
  const running = await startRelay(t);
  const ws = new WebSocket(running.pipeUrl(uniqueName()).replace(/^http/, 'ws'), 'hoodycall.ogg');
  ws.on('error', () => undefined);
  await once(ws, 'open');
  const frame = randomBytes(32 * 1024);
  for (let i = 0; i < OVER_BUFFER / frame.length; i++) ws.send(frame);
  await senderHeldBack(running.relay);
  await sleep(1_500);
  // The browser tab is killed: the connection ends without a close frame.
  ws.terminate();
  await assertFreedWithin(running, 3_000, 'talker vanished');
});

test('a GET with a body is refused at once and holds nothing', async (t) => {
  const running = await startRelay(t);
  const port = Number(running.url.port);
  for (const framing of ['Content-Length: 5\r\n\r\nhello', 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']) {
    const result = await rawRequest(port, `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: relay\r\n${framing}`, { waitMs: 500 });
    assert.equal(result.status, 400, JSON.stringify(result.text));
    assert.match(result.text, /\r\n\r\n\[ERROR\] a receiver sends no body[^\n]*\n$/);
    assert.ok((result.firstByteMs ?? Infinity) < 100);
  }
  assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  // Content-Length: 0 is no body.
  const empty = await rawRequest(port, `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: relay\r\nContent-Length: 0\r\n\r\n`, { waitMs: 300 });
  assert.equal(empty.status, undefined, 'held as a receiver, not answered');
});

test('a listener who comes just after a held-back sender died never gets 200 and then a cut stream', async (t) => {
  const running = await startRelay(t, { holdMs: 2_000 });
  for (let round = 0; round < 3; round++) {
    const url = running.pipeUrl(uniqueName());
    const sender = curlSender(t, url);
    feed(sender.stdin, randomBytes(OVER_BUFFER));
    await senderHeldBack(running.relay);
    sender.kill('SIGKILL');
    // Before the relay's once-a-second probe can have noticed.
    const reply = await fetchReply(url);
    assert.equal(reply.status, 408, `round ${round}: got ${reply.status} with ${reply.body.length} bytes (complete: ${reply.complete})`);
    await waitFor(() => running.relay.stats().waiting === 0, 'the pipe to be gone');
  }
});
