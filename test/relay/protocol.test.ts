import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { abandon, connectPair, curl, fetchReply, open, rawExchange, readReply, responseOf } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';

async function tempFile(t: import('node:test').TestContext, bytes: number): Promise<{ file: string; data: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hoodycall-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(bytes);
  const file = path.join(dir, 'upload.bin');
  await writeFile(file, data);
  return { file, data };
}

test('Expect: 100-continue, receiver first: curl -T starts at once, not after its 1 s wait', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  for (const size of [5_000, 2_000_000]) {
    const { file, data } = await tempFile(t, size);
    const url = pipeUrl(uniqueName());
    const receiver = open(url);
    receiver.end();
    await waitFor(() => relay.stats().waiting === 1, 'the receiver to wait');
    const started = Date.now();
    const sender = curl(['-T', file, '-v', url]);
    const res = await responseOf(receiver);
    let firstByte = Infinity;
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => {
      if (chunks.length === 0) firstByte = Date.now() - started;
      chunks.push(chunk);
    });
    const ended = once(res, 'end');
    const sent = await sender;
    await ended;
    assert.match(sent.stderr, /Expect: 100-continue/, 'curl must have asked for 100-continue');
    assert.ok(firstByte < 200, `first byte after ${firstByte} ms`);
    assert.equal(sent.exitCode, 0);
    assert.ok(Buffer.concat(chunks).equals(data));
  }
});

test('Expect: 100-continue, sender first: curl -T - streams once the receiver comes', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const payload = randomBytes(300_000);
  const sender = curl(['-T', '-', url], { input: payload });
  await waitFor(() => relay.stats().waiting === 1, 'curl to wait');
  await sleep(300);
  const reply = await fetchReply(url);
  assert.ok(reply.body.equals(payload));
  const sent = await sender;
  assert.equal(sent.exitCode, 0);
  assert.match(sent.stdout.toString(), /done, 300000 bytes/);
});

test('a busy pipe refuses a curl upload with 409 before it sends its body', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const first = open(url, { method: 'PUT' });
  first.flushHeaders();
  await waitFor(() => relay.stats().waiting === 1, 'the first sender to wait');
  const { file } = await tempFile(t, 4_000_000);
  const started = Date.now();
  const second = await curl(['-T', file, '-w', '%{http_code} %{size_upload}', url]);
  assert.equal(second.exitCode, 0);
  const [status, uploaded] = second.stdout.toString().split('\n').at(-1)?.split(' ') ?? [];
  assert.equal(status, '409');
  assert.ok(Number(uploaded) < 1_000_000, `curl uploaded ${uploaded} bytes of a refused body`);
  assert.ok(Date.now() - started < 1_000);
  assert.match(second.stdout.toString(), /\[ERROR\] this pipe already has a sender/);
  abandon(first);
});

test('an unknown expectation gets 417', async (t) => {
  const { url } = await startRelay(t);
  const { text } = await rawExchange(Number(url.port), `PUT /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\n`);
  assert.match(text, /^HTTP\/1\.1 417 /);
});

test('HTTP/1.0 sender and receiver (curl -0) transfer intact', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { file, data } = await tempFile(t, 1_000_000);
  const receiver = curl(['-0', url]);
  await waitFor(() => relay.stats().waiting === 1, 'the receiver to wait');
  const sender = await curl(['-0', '-T', file, url]);
  const received = await receiver;
  assert.equal(sender.exitCode, 0);
  assert.equal(received.exitCode, 0);
  const firstDifference = received.stdout.findIndex((byte, i) => byte !== data[i]);
  assert.ok(
    received.stdout.equals(data),
    `received ${received.stdout.length} of ${data.length} bytes, first difference at ${firstDifference}; sender said ${JSON.stringify(sender.stdout.toString())}`,
  );
});

test('HTTP/1.0 receiver: the relay answers with a sized or close-delimited body', async (t) => {
  const { pipeUrl, url, relay } = await startRelay(t);
  const name = uniqueName();
  const receiving = rawExchange(Number(url.port), `GET /api/v1/pipe/${name} HTTP/1.0\r\n\r\n`, { waitMs: 3_000 });
  await waitFor(() => relay.stats().waiting === 1, 'the receiver to wait');
  const sender = open(pipeUrl(name), { method: 'PUT' });
  sender.write('one ');
  await sleep(50);
  sender.end('two');
  const { text, closed } = await receiving;
  assert.equal(closed, true, 'a close-delimited body ends with the connection');
  assert.match(text, /^HTTP\/1\.[01] 200 /);
  assert.doesNotMatch(text, /transfer-encoding/i);
  assert.ok(text.endsWith('\r\n\r\none two'), JSON.stringify(text.slice(-40)));
});

test('HTTP/1.0 receiver sees an aborted sender as a short body when the length was known', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiver = curl(['-0', '-o', '/dev/null', url]);
  await waitFor(() => relay.stats().waiting === 1, 'the receiver to wait');
  const sender = open(url, { method: 'PUT', headers: { 'content-length': '100000' } });
  sender.on('error', () => undefined);
  sender.write(randomBytes(20_000));
  await sleep(200);
  sender.destroy();
  assert.equal((await receiver).exitCode, 18);
});

test('a stream outlives the hold and Node\'s default timeouts; the server settings say why', async (t) => {
  const { pipeUrl, relay } = await startRelay(t, { holdMs: 1_000, headersTimeoutMs: 1_000 });
  assert.equal(relay.server.requestTimeout, 0, 'requestTimeout would 408 every sender still uploading');
  assert.equal(relay.server.headersTimeout, 1_000, 'headersTimeout must stay set, not follow requestTimeout to 0');
  assert.equal(relay.server.timeout, 0, 'no socket inactivity timer may cut a call');
  const url = pipeUrl(uniqueName());
  // The sender waits most of the hold, then streams for three times the hold and the header timeout.
  const sender = open(url, { method: 'PUT' });
  const senderRes = responseOf(sender);
  sender.flushHeaders();
  await sleep(800);
  const receiving = fetchReply(url);
  const sent: Buffer[] = [];
  for (let i = 0; i < 30; i += 1) {
    const chunk = randomBytes(1_000);
    sent.push(chunk);
    sender.write(chunk);
    await sleep(100);
  }
  sender.end();
  const reply = await receiving;
  assert.equal(reply.complete, true);
  assert.ok(reply.body.equals(Buffer.concat(sent)));
  assert.match((await readReply(await senderRes)).body.toString(), /done, 30000 bytes/);
});

test('one byte at a time: each byte is delivered alone and fast (no buffering)', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { sender, res } = await connectPair(url);
  const roundTrips: number[] = [];
  for (let i = 0; i < 255; i += 1) {
    const started = process.hrtime.bigint();
    sender.write(Buffer.of(i));
    const [chunk] = (await once(res, 'data')) as [Buffer];
    roundTrips.push(Number(process.hrtime.bigint() - started) / 1e6);
    assert.deepEqual([...chunk], [i]);
  }
  sender.end();
  roundTrips.sort((a, b) => a - b);
  const p99 = roundTrips[Math.floor(roundTrips.length * 0.99)] ?? Infinity;
  assert.ok(p99 < 50, `p99 ${p99} ms`);
});

test('a curl pipeline end to end: curl -T - | relay | curl -N', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiver = curl(['-N', url]);
  const payload = randomBytes(5_000_000);
  const sender = await curl(['-T', '-', url], { input: payload });
  const received = await receiver;
  assert.equal(sender.exitCode, 0);
  assert.equal(received.exitCode, 0);
  assert.ok(received.stdout.equals(payload));
});
