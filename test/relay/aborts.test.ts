import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { abandon, fetchReply, open, readReply, responseOf } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';

/** A live feeder: 4 KiB every 100 ms, about what a 32 kbit/s call sends, until stopped. */
function feed(write: (chunk: Buffer) => void): () => void {
  const timer = setInterval(() => write(randomBytes(4096)), 100);
  return () => clearInterval(timer);
}

test('sender dies mid-stream: a curl receiver exits 18 (incomplete), never a clean end', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiver = execa('curl', ['-sS', '-N', url, '-o', '/dev/null', '-w', '%{http_code}'], { reject: false });
  await waitFor(() => relay.stats().waiting === 1, 'curl to wait');
  const sender = open(url, { method: 'PUT' });
  const stop = feed((chunk) => sender.write(chunk));
  await sleep(500);
  const killedAt = Date.now();
  stop();
  abandon(sender);
  const result = await receiver;
  assert.equal(result.exitCode, 18, `curl exit ${result.exitCode}: ${result.stderr}`);
  assert.equal(result.stdout, '200');
  assert.ok(Date.now() - killedAt < 1_000);
  await waitFor(() => relay.stats().streaming === 0, 'the pipe to end');
  assert.match(log.at(-1) ?? '', /outcome=sender-aborted/);
  // The name is free again at once.
  const again = fetchReply(url);
  await fetchReply(url, { method: 'PUT', body: 'next call' });
  assert.equal((await again).body.toString(), 'next call');
});

test('sender dies mid-stream: the raw chunked body has no terminating chunk', async (t) => {
  const { pipeUrl, url: base } = await startRelay(t);
  const name = uniqueName();
  const socket = net.connect(Number(base.port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET /api/v1/pipe/${name} HTTP/1.1\r\nHost: relay\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const sender = open(pipeUrl(name), { method: 'PUT' });
  sender.write('some audio');
  await waitFor(() => Buffer.concat(chunks).includes('some audio'), 'the first bytes');
  abandon(sender);
  await once(socket, 'close');
  const raw = Buffer.concat(chunks).toString('latin1');
  assert.match(raw, /^HTTP\/1\.1 200 /);
  assert.match(raw, /transfer-encoding: chunked/i);
  assert.ok(!raw.endsWith('0\r\n\r\n'), 'an aborted stream must not end with the final chunk');
});

test('sender with Content-Length dies at 20 %: the receiver sees the length and a short body', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiving = open(url);
  receiving.end();
  const sender = open(url, { method: 'PUT', headers: { 'content-length': '1000000' } });
  sender.write(randomBytes(200_000));
  const res = await responseOf(receiving);
  assert.equal(res.headers['content-length'], '1000000');
  await waitFor(() => res.readableLength > 0 || res.readableFlowing !== null, 'data');
  setTimeout(() => abandon(sender), 100);
  const reply = await readReply(res);
  assert.equal(reply.complete, false);
  assert.ok(reply.body.length < 1_000_000);
});

test('receiver dies mid-stream: a streaming curl sender exits non-zero at once and the name is free', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const sender = execa('curl', ['-sS', '-T', '-', url], { reject: false, stdin: 'pipe' });
  const stop = feed((chunk) => sender.stdin?.write(chunk));
  t.after(stop);
  await waitFor(() => relay.stats().waiting === 1, 'curl to wait');
  const receiver = open(url);
  receiver.end();
  const res = await responseOf(receiver);
  await once(res, 'data');
  const killedAt = Date.now();
  abandon(receiver);
  const result = await sender;
  const took = Date.now() - killedAt;
  assert.notEqual(result.exitCode, 0, 'curl must fail, not report success');
  assert.ok(took < 1_000, `the sender ended ${took} ms after the receiver left`);
  assert.match(log.at(-1) ?? '', /outcome=receiver-left/);
  stop();
  const again = fetchReply(url);
  await fetchReply(url, { method: 'PUT', body: 'free again' });
  assert.equal((await again).body.toString(), 'free again');
});

test('a waiting side that leaves frees the path (receiver, then sender)', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiver = open(url);
  receiver.end();
  await waitFor(() => relay.stats().waiting === 1, 'the receiver to wait');
  abandon(receiver);
  await waitFor(() => relay.stats().waiting === 0, 'the receiver to be forgotten');
  assert.match(log.at(-1) ?? '', /outcome=left-waiting/);

  const sender = open(url, { method: 'PUT' });
  sender.write('stale');
  await waitFor(() => relay.stats().waiting === 1, 'the sender to wait');
  abandon(sender);
  await waitFor(() => relay.stats().waiting === 0, 'the sender to be forgotten');

  const payload = randomBytes(64 * 1024);
  const receiving = fetchReply(url);
  await fetchReply(url, { method: 'PUT', body: payload });
  assert.ok((await receiving).body.equals(payload));
});

test('idle timeout: a receiver that stops reading aborts the pipe; both sides see it', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t, { idleTimeoutMs: 1_000 });
  const url = pipeUrl(uniqueName());
  const receiver = open(url);
  receiver.end();
  const sender = open(url, { method: 'PUT' });
  sender.on('error', () => undefined);
  sender.flushHeaders();
  const res = await responseOf(receiver);
  res.pause();
  const chunk = Buffer.alloc(64 * 1024);
  const pushing = setInterval(() => sender.write(chunk), 5);
  t.after(() => clearInterval(pushing));
  const started = Date.now();
  await waitFor(() => relay.stats().streaming === 0, 'the relay to abort the pipe', 4_000);
  clearInterval(pushing);
  assert.ok(Date.now() - started < 3_500);
  assert.match(log.at(-1) ?? '', /outcome=idle-timeout/);
  // A stalled reader notices only when it reads again: what was buffered, then the abort.
  const reply = await readReply(res);
  assert.equal(reply.complete, false, 'the receiver must see an abort, not a clean end');
});

test('idle timeout: a sender that goes silent aborts the pipe within the timeout plus a second', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t, { idleTimeoutMs: 1_000 });
  const url = pipeUrl(uniqueName());
  const receiver = open(url);
  receiver.end();
  const sender = open(url, { method: 'PUT' });
  const senderRes = responseOf(sender);
  sender.write('hello, then silence');
  const started = Date.now();
  const reply = await readReply(await responseOf(receiver));
  const took = Date.now() - started;
  assert.equal(reply.body.toString(), 'hello, then silence');
  assert.equal(reply.complete, false);
  assert.ok(took >= 1_000 && took < 3_000, `aborted after ${took} ms`);
  assert.match((await readReply(await senderRes)).body.toString(), /no bytes moved for 1 s/);
  await waitFor(() => relay.stats().streaming === 0, 'the pipe to end');
  assert.match(log.at(-1) ?? '', /outcome=idle-timeout/);
});

test('a slow but moving stream is never cut by the idle timeout', async (t) => {
  const { pipeUrl } = await startRelay(t, { idleTimeoutMs: 1_000 });
  const url = pipeUrl(uniqueName());
  const receiving = fetchReply(url);
  const sender = open(url, { method: 'PUT' });
  for (let i = 0; i < 8; i += 1) {
    sender.write(`tick ${i};`);
    await sleep(400);
  }
  sender.end();
  const reply = await receiving;
  assert.equal(reply.complete, true);
  assert.match(reply.body.toString(), /tick 7;$/);
});
