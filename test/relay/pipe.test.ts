import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { abandon, connectPair, fetchReply, open, rawExchange, readReply, responseOf } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

test('receiver first: the receiver gets the sender bytes, the sender gets progress text', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiving = fetchReply(url);
  await waitFor(() => relay.stats().waiting === 1, 'the receiver to wait');
  const sent = await fetchReply(url, { method: 'PUT', body: 'hello pipe', headers: { 'content-type': 'text/plain' } });
  const received = await receiving;
  assert.equal(received.status, 200);
  assert.equal(received.body.toString(), 'hello pipe');
  assert.equal(received.complete, true);
  assert.equal(sent.status, 200);
  assert.match(sent.body.toString(), /^\[INFO\] connected to the receiver, streaming\n\[INFO\] done, 10 bytes\n$/);
  assert.deepEqual(relay.stats(), { waiting: 0, streaming: 0 });
});

test('sender first: the sender is held, then streams to the receiver (POST too)', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const sending = fetchReply(url, { method: 'POST', body: 'posted' });
  await waitFor(() => relay.stats().waiting === 1, 'the sender to wait');
  const received = await fetchReply(url);
  assert.equal(received.body.toString(), 'posted');
  assert.equal((await sending).status, 200);
});

test('a receiver sees each write as it is sent, before the sender finishes', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { sender, res } = await connectPair(url);
  const delays: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    const started = process.hrtime.bigint();
    sender.write(Buffer.alloc(100, i));
    const [chunk] = (await once(res, 'data')) as [Buffer];
    delays.push(Number(process.hrtime.bigint() - started) / 1e6);
    assert.equal(chunk.length, 100);
    assert.equal(chunk[0], i);
  }
  sender.end();
  delays.sort((a, b) => a - b);
  assert.ok((delays[10] ?? Infinity) < 5, `median delivery ${delays[10]} ms should be well under 5 ms`);
});

test('a second sender or receiver on a busy pipe gets 409, the first pipe is unharmed', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const firstSender = open(url, { method: 'PUT' });
  firstSender.write('first ');
  await waitFor(() => relay.stats().waiting === 1, 'the first sender to wait');

  const secondSender = await fetchReply(url, { method: 'PUT', body: 'intruder' });
  assert.equal(secondSender.status, 409);
  assert.match(secondSender.body.toString(), /^\[ERROR\] this pipe already has a sender\n$/);

  const receiver = open(url);
  receiver.end();
  const receiverRes = await responseOf(receiver);
  // Streaming now: another receiver and another sender are both refused.
  assert.equal((await fetchReply(url)).status, 409);
  assert.equal((await fetchReply(url, { method: 'POST', body: 'x' })).status, 409);
  firstSender.end('second');
  const received = await readReply(receiverRes);
  assert.equal(received.body.toString(), 'first second');
  assert.equal(received.complete, true);
});

test('a second receiver on a waiting pipe gets 409', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const first = open(url);
  first.end();
  await waitFor(() => relay.stats().waiting === 1, 'the first receiver to wait');
  const started = Date.now();
  const second = await fetchReply(url);
  assert.equal(second.status, 409);
  assert.ok(Date.now() - started < 100);
  assert.match(second.body.toString(), /already has a receiver/);
  abandon(first);
});

test('the path is free again as soon as a transfer ends', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  for (let round = 0; round < 3; round += 1) {
    const receiving = fetchReply(url);
    await fetchReply(url, { method: 'PUT', body: `round ${round}` });
    assert.equal((await receiving).body.toString(), `round ${round}`);
  }
});

test('hold: a lonely receiver gets 408 after the hold, and the name is free again', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t, { holdMs: 1_000 });
  const url = pipeUrl(uniqueName());
  const started = Date.now();
  const reply = await fetchReply(url);
  const elapsed = Date.now() - started;
  assert.equal(reply.status, 408);
  assert.match(reply.body.toString(), /^\[ERROR\] no sender connected within 1 s\n$/);
  assert.ok(elapsed >= 1_000 && elapsed < 1_500, `408 after ${elapsed} ms`);
  assert.deepEqual(relay.stats(), { waiting: 0, streaming: 0 });
  assert.match(log.at(-1) ?? '', /outcome=hold-expired/);
});

test('hold: a lonely sender gets 408 with its reason, even while its body keeps coming', async (t) => {
  const { pipeUrl, relay } = await startRelay(t, { holdMs: 1_000 });
  const url = pipeUrl(uniqueName());
  const sender = open(url, { method: 'PUT' });
  const ticker = setInterval(() => sender.write(randomBytes(512)), 50);
  t.after(() => clearInterval(ticker));
  const reply = await readReply(await responseOf(sender));
  assert.equal(reply.status, 408);
  assert.match(reply.body.toString(), /no receiver connected within 1 s/);
  await waitFor(() => relay.stats().waiting === 0, 'the pipe to be gone');
});

test('?wait=1: a side waits 1 s, not the whole hold; a wait longer than the hold is cut to the hold', async (t) => {
  const { pipeUrl, relay } = await startRelay(t, { holdMs: 2_000 });
  const started = Date.now();
  const [short, long] = await Promise.all([
    fetchReply(pipeUrl(uniqueName(), 'wait=1')).then((reply) => ({ reply, ms: Date.now() - started })),
    fetchReply(pipeUrl(uniqueName(), 'n=1&wait=3600'), { method: 'PUT', body: 'early' }).then((reply) => ({ reply, ms: Date.now() - started })),
  ]);
  assert.equal(short.reply.status, 408);
  assert.match(short.reply.body.toString(), /^\[ERROR\] no sender connected within 1 s\n$/);
  assert.ok(short.ms >= 1_000 && short.ms < 1_800, `408 after ${short.ms} ms`);
  assert.equal(long.reply.status, 408);
  assert.match(long.reply.body.toString(), /no receiver connected within 2 s/);
  assert.ok(long.ms >= 2_000 && long.ms < 2_800, `408 after ${long.ms} ms`);
  assert.deepEqual(relay.stats(), { waiting: 0, streaming: 0 });
});

test('?wait= that is not 1-3600 whole seconds is refused with its reason', async (t) => {
  const { pipeUrl } = await startRelay(t);
  for (const wait of ['0', '3601', '1.5', '-1', '', '%31']) {
    const reply = await fetchReply(pipeUrl(uniqueName(), `wait=${wait}`));
    assert.equal(reply.status, 400, `wait=${wait}`);
    assert.match(reply.body.toString(), /wait must be a whole number of seconds from 1 to 3600/, `wait=${wait}`);
  }
});

test('?n=3 fans one sender out to three receivers, who must all arrive', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const name = uniqueName();
  const url = pipeUrl(name, 'n=3');
  const payload = randomBytes(3 * 1024 * 1024);
  const receivers = [fetchReply(url), fetchReply(url)];
  const sending = fetchReply(url, { method: 'PUT', body: payload });
  await sleep(100);
  assert.equal(relay.stats().streaming, 0, 'two of three receivers must not start the pipe');
  receivers.push(fetchReply(url));
  for (const reply of await Promise.all(receivers)) {
    assert.equal(reply.status, 200);
    assert.equal(sha256(reply.body), sha256(payload));
  }
  assert.match((await sending).body.toString(), /connected to 3 receivers[^]*done, 3145728 bytes/);
  // With the three receivers there, a fourth is busy (409), whatever its n.
  const full = [fetchReply(url), fetchReply(url), fetchReply(url)];
  await waitFor(() => relay.stats().waiting === 1, 'the three receivers to wait');
  assert.equal((await fetchReply(url)).status, 409);
  assert.equal((await fetchReply(pipeUrl(name, 'n=2'))).status, 409);
  const sender = fetchReply(url, { method: 'PUT', body: 'x' });
  for (const reply of await Promise.all(full)) assert.deepEqual([reply.status, reply.body.toString()], [200, 'x']);
  assert.equal((await sender).status, 200);
});

test('a side with another n closes the waiting pipe for everyone: a name cannot be probed unnoticed', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t);
  const name = uniqueName();
  const waiting = [fetchReply(pipeUrl(name, 'n=3')), fetchReply(pipeUrl(name, 'n=3'))];
  await waitFor(() => relay.stats().waiting === 1, 'two receivers to wait');
  for (const [query, method] of [['n=2', 'GET'], [undefined, 'PUT']] as const) {
    const probe = await fetchReply(pipeUrl(name, query), { method, ...(method === 'PUT' ? { body: 'x' } : {}) });
    assert.equal(probe.status, 400, `${method} ${query ?? 'n=1'}`);
    assert.match(probe.body.toString(), /^\[ERROR\] another side came to this pipe with n=[12], it was opened with n=3/);
    for (const reply of await Promise.all(waiting)) {
      assert.equal(reply.status, 400, 'the waiting receivers are told, not left waiting');
      assert.match(reply.body.toString(), /another side came to this pipe with n=[12]/);
    }
    assert.deepEqual(relay.stats(), { waiting: 0, streaming: 0 });
    waiting.splice(0, 2, fetchReply(pipeUrl(name, 'n=3')), fetchReply(pipeUrl(name, 'n=3')));
    await waitFor(() => relay.stats().waiting === 1, 'two receivers to wait again');
  }
  assert.equal(log.filter((line) => line.endsWith('outcome=mismatch')).length, 2);
  // The name is usable at once by sides that agree.
  const sender = fetchReply(pipeUrl(name, 'n=3'), { method: 'PUT', body: 'agreed' });
  const third = fetchReply(pipeUrl(name, 'n=3'));
  for (const reply of await Promise.all([...waiting, third])) assert.equal(reply.body.toString(), 'agreed');
  assert.equal((await sender).status, 200);
});

test('?n=2: one receiver leaving does not end the bridge for the other', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName(), 'n=2');
  const leaver = open(url);
  leaver.end();
  const stayer = open(url);
  stayer.end();
  const sender = open(url, { method: 'PUT' });
  const senderRes = responseOf(sender);
  sender.write('before ');
  const leaverRes = await responseOf(leaver);
  const stayerRes = await responseOf(stayer);
  await once(leaverRes, 'data');
  abandon(leaver);
  await sleep(50);
  sender.end('after');
  const reply = await readReply(stayerRes);
  assert.equal(reply.body.toString(), 'before after');
  assert.equal(reply.complete, true);
  assert.match((await readReply(await senderRes)).body.toString(), /a receiver left; 1 remain/);
});

test('bad n and bad names are refused with 400 and one line', async (t) => {
  const { url, relay } = await startRelay(t);
  for (const path of ['/api/v1/pipe/x?n=0', '/api/v1/pipe/x?n=65', '/api/v1/pipe/x?n=two', '/api/v1/pipe/', '/api/v1/pipe', '/api/v1/pipe/a//b', '/api/v1/pipe/a%20b']) {
    const reply = await fetchReply(`${url.origin}${path}`);
    assert.equal(reply.status, 400, path);
    assert.match(reply.body.toString(), /^\[ERROR\] [^\n]+\n$/, path);
  }
  // HTTP client libraries normalise dot segments away, so this one goes over a raw socket.
  const dots = await rawExchange(Number(url.port), 'GET /api/v1/pipe/a/../b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(dots.text, /^HTTP\/1\.1 400 [^]*'\.\.' part/);
  assert.equal((await fetchReply(`${url.origin}/nope`)).status, 404);
  assert.deepEqual(relay.stats(), { waiting: 0, streaming: 0 });
});

test('nested names are separate pipes', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const room = uniqueName();
  const a = fetchReply(pipeUrl(`${room}/a`));
  const b = fetchReply(pipeUrl(`${room}/b`));
  await fetchReply(pipeUrl(`${room}/b`), { method: 'PUT', body: 'to b' });
  await fetchReply(pipeUrl(`${room}/a`), { method: 'PUT', body: 'to a' });
  assert.equal((await a).body.toString(), 'to a');
  assert.equal((await b).body.toString(), 'to b');
});

test('receiver headers: type, length and disposition forwarded; no-store and CORS added', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiving = fetchReply(url);
  await fetchReply(url, {
    method: 'PUT',
    body: 'OggS',
    headers: { 'content-type': 'audio/ogg', 'content-disposition': 'attachment; filename="call.ogg"' },
  });
  const { headers } = await receiving;
  assert.equal(headers['content-type'], 'audio/ogg');
  assert.equal(headers['content-length'], '4');
  assert.equal(headers['content-disposition'], 'attachment; filename="call.ogg"');
  assert.equal(headers['cache-control'], 'no-store');
  assert.equal(headers['access-control-allow-origin'], '*');

  const untyped = fetchReply(url);
  const sender = open(url, { method: 'PUT' });
  sender.write('chunked, ');
  sender.end('no type');
  const reply = await untyped;
  assert.equal(reply.headers['content-type'], 'application/octet-stream');
  assert.equal(reply.headers['content-length'], undefined);
  assert.equal(reply.headers['transfer-encoding'], 'chunked');
  // Whatever a browser might render runs no script and is saved, not shown (media-type.ts).
  assert.equal(reply.headers['content-security-policy'], 'sandbox');
  assert.equal(reply.headers['content-disposition'], 'attachment');
  assert.equal(headers['content-security-policy'], 'sandbox');
});

test('a sender cannot make a receiver render its bytes: a type list, XSL and a disposition are rebuilt', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const cases: [Record<string, string>, string, string][] = [
    [{ 'content-type': 'text/plain, text/html' }, 'application/octet-stream', 'attachment'],
    [{ 'content-type': 'text/xsl' }, 'text/plain', 'attachment'],
    [{ 'content-type': 'text/html', 'content-disposition': 'inline' }, 'text/plain', 'attachment'],
    [{ 'content-type': 'audio/ogg; codecs=opus', 'content-disposition': 'inline; filename="x.html"' }, 'audio/ogg; codecs=opus', 'attachment; filename="x.html"'],
  ];
  for (const [headers, type, disposition] of cases) {
    const url = pipeUrl(uniqueName());
    const receiving = fetchReply(url);
    await fetchReply(url, { method: 'PUT', body: '<script>alert(1)</script>', headers });
    const reply = await receiving;
    assert.equal(reply.headers['content-type'], type, JSON.stringify(headers));
    assert.equal(reply.headers['content-disposition'], disposition, JSON.stringify(headers));
    assert.equal(reply.headers['content-security-policy'], 'sandbox');
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
  }
});

test('64 MiB binary round trip, checked by hash, with bounded relay memory', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const block = randomBytes(1024 * 1024);
  const expected = createHash('sha256');
  const receiver = open(url);
  receiver.end();
  const sender = open(url, { method: 'PUT' });
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const pump = (async () => {
    for (let i = 0; i < 64; i += 1) {
      block[0] = i;
      expected.update(block);
      if (!sender.write(Buffer.from(block))) await once(sender, 'drain');
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    sender.end();
  })();
  const res = await responseOf(receiver);
  const actual = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res) {
    actual.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  await pump;
  assert.equal(bytes, 64 * 1024 * 1024);
  assert.equal(actual.digest('hex'), expected.digest('hex'));
  // Sender, relay and receiver share this process: growth stays far below the 64 MiB relayed.
  assert.ok(peakRss - rssBefore < 48 * 1024 * 1024, `RSS grew ${(peakRss - rssBefore) >> 20} MiB`);
});

test('backpressure: a receiver that does not read holds the sender back', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { sender, receiver, res } = await connectPair(url);
  res.pause();
  const chunk = Buffer.alloc(64 * 1024);
  let accepted = 0;
  const deadline = Date.now() + 1_500;
  while (Date.now() < deadline) {
    if (sender.write(chunk)) accepted += chunk.length;
    else {
      const drained = await Promise.race([once(sender, 'drain').then(() => true), sleep(300).then(() => false)]);
      if (!drained) break;
      accepted += chunk.length;
    }
  }
  // Only socket buffers and stream high-water marks sit between the two: a few MiB, not everything.
  assert.ok(accepted < 16 * 1024 * 1024, `the sender pushed ${accepted >> 20} MiB into a stalled receiver`);
  abandon(sender);
  abandon(receiver);
});
