/**
 * The relay's limits: pipe ends per client address, pipes in all, request head size, slow heads
 * (slowloris), open connections, and the Node server settings that carry them.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import type net from 'node:net';
import { fetchReply, open, readReply, responseOf, type Reply } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor, type RunningRelay } from '../helpers/relay.js';
import { connectRaw, rawRequest, watch, type WatchedSocket } from '../helpers/raw.js';
import { DEFAULT_RELAY_OPTIONS } from '../../src/relay/index.js';

const ONE_LINE_ERROR = /^\[ERROR\] [^\n]+\n$/;

/** A request whose response headers are deferred: records whether (and when) an answer came. */
interface Held {
  readonly req: http.ClientRequest;
  answered(): boolean;
  reply: Promise<Reply>;
}

function hold(url: string, options: { localAddress?: string; method?: string; body?: Buffer } = {}): Held {
  const req = open(url, {
    method: options.method ?? 'GET',
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.body === undefined ? {} : { headers: { 'content-length': String(options.body.length) } }),
  });
  let answered = false;
  req.on('response', () => (answered = true));
  // A held request the test destroys fails with "socket hang up"; the reply promise then rejects.
  const reply = responseOf(req).then(readReply);
  reply.catch(() => undefined);
  req.end(options.body);
  return { req, answered: () => answered, reply };
}

/** A complete transfer: receiver first (held), then the sender; returns both replies. */
async function pair(
  running: RunningRelay,
  body: Buffer,
  from: { receiver?: string; sender?: string } = {},
): Promise<{ receiver: Reply; sender: Reply }> {
  const name = uniqueName('pair');
  const waitingBefore = running.relay.stats().waiting;
  const receiver = hold(running.pipeUrl(name), from.receiver === undefined ? {} : { localAddress: from.receiver });
  await waitFor(() => running.relay.stats().waiting === waitingBefore + 1, 'the receiver to wait');
  const sender = await fetchReply(running.pipeUrl(name), {
    method: 'PUT',
    body,
    ...(from.sender === undefined ? {} : { localAddress: from.sender }),
  });
  return { receiver: await receiver.reply, sender };
}

/** Settings Node keeps on the server object but @types/node does not declare. */
function withParserSettings(server: http.Server): http.Server & { maxHeaderSize?: number; insecureHTTPParser?: boolean; requireHostHeader?: boolean } {
  return server;
}

function assertDelivered(result: { receiver: Reply; sender: Reply }, body: Buffer): void {
  assert.equal(result.receiver.status, 200);
  assert.ok(result.receiver.complete, 'the receiver body ended cleanly');
  assert.deepEqual(result.receiver.body, body);
  assert.equal(result.sender.status, 200);
  assert.match(result.sender.body.toString(), new RegExp(`\\[INFO\\] done, ${body.length} bytes\\n$`));
}

test('per-client cap: the ends one address holds are capped, and released when they leave or finish', async (t) => {
  await t.test('the 4th end from one address gets 429 at once while others are unaffected', async (t) => {
    const running = await startRelay(t, { maxPipesPerClient: 3, holdMs: 20_000 });
    const held = [0, 1, 2].map(() => hold(running.pipeUrl(uniqueName('held')), { localAddress: '127.0.0.2' }));
    t.after(() => held.forEach((h) => h.req.destroy()));
    await waitFor(() => running.relay.stats().waiting === 3, 'three waiting receivers');
    await sleep(100);
    assert.deepEqual(
      held.map((h) => h.answered()),
      [false, false, false],
      'the three receivers are held, their response headers deferred',
    );

    const started = Date.now();
    const refused = await fetchReply(running.pipeUrl(uniqueName('fourth')), { localAddress: '127.0.0.2' });
    const elapsed = Date.now() - started;
    assert.equal(refused.status, 429);
    assert.ok(elapsed < 200, `the 429 came after ${elapsed} ms`);
    assert.match(refused.headers['retry-after'] ?? '', /^[1-9][0-9]*$/, 'retry-after is a positive number of seconds');
    assert.match(refused.body.toString(), ONE_LINE_ERROR);
    assert.equal(running.relay.stats().waiting, 3, 'the refused receiver registered nothing');

    // A sender from the same address is capped too: ends count, not just receivers.
    const refusedSender = await fetchReply(running.pipeUrl(uniqueName('fourth')), {
      method: 'PUT',
      body: 'x',
      localAddress: '127.0.0.2',
    });
    assert.equal(refusedSender.status, 429);

    // Another address is unaffected.
    const body = Buffer.from('from another client\n');
    assertDelivered(await pair(running, body, { receiver: '127.0.0.3', sender: '127.0.0.3' }), body);
    assert.deepEqual(held.map((h) => h.answered()), [false, false, false], 'the held receivers are still held');

    // One held receiver leaves: its end is released and 127.0.0.2 may open again.
    const [first] = held;
    assert.ok(first !== undefined);
    first.req.destroy();
    await waitFor(() => running.relay.stats().waiting === 2, 'the destroyed receiver to leave');
    const again = await pair(running, body, { receiver: '127.0.0.2', sender: '127.0.0.3' });
    assertDelivered(again, body);
    // And that end was released when the pair finished: one more receiver from 127.0.0.2 is held, not refused.
    const last = hold(running.pipeUrl(uniqueName('last')), { localAddress: '127.0.0.2' });
    t.after(() => last.req.destroy());
    await waitFor(() => running.relay.stats().waiting === 3, 'a third waiting receiver again');
    const refusedAgain = await fetchReply(running.pipeUrl(uniqueName('fifth')), { localAddress: '127.0.0.2' });
    assert.equal(refusedAgain.status, 429, 'the cap still holds at three');
  });

  await t.test('pairs that complete release their ends: many sequential pairs from one address', async (t) => {
    const running = await startRelay(t, { maxPipesPerClient: 3 });
    for (let i = 0; i < 6; i++) {
      const body = Buffer.from(`pair ${i}\n`);
      assertDelivered(await pair(running, body, { receiver: '127.0.0.2', sender: '127.0.0.2' }), body);
    }
    assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  });

  await t.test('an end that leaves after its hold expires is released too', async (t) => {
    const running = await startRelay(t, { maxPipesPerClient: 1, holdMs: 200 });
    for (let i = 0; i < 3; i++) {
      const expired = await fetchReply(running.pipeUrl(uniqueName('alone')), { localAddress: '127.0.0.2' });
      assert.equal(expired.status, 408, `lone receiver ${i} gets 408, not 429`);
    }
  });
});

test('global cap: a new pipe beyond maxPipes gets 503; the existing pipes still complete', async (t) => {
  const running = await startRelay(t, { maxPipes: 2, holdMs: 20_000 });
  const nameA = uniqueName('a');
  const nameB = uniqueName('b');
  const bodyA = Buffer.from('to the waiting receiver\n');
  const bodyB = Buffer.from('from the waiting sender\n');
  const receiverA = hold(running.pipeUrl(nameA));
  const senderB = hold(running.pipeUrl(nameB), { method: 'PUT', body: bodyB });
  t.after(() => {
    receiverA.req.destroy();
    senderB.req.destroy();
  });
  await waitFor(() => running.relay.stats().waiting === 2, 'two waiting pipes');

  for (const method of ['GET', 'PUT']) {
    const started = Date.now();
    const refused = await fetchReply(running.pipeUrl(uniqueName('c')), { method, ...(method === 'PUT' ? { body: 'x' } : {}) });
    assert.equal(refused.status, 503, `a third pipe by ${method}`);
    assert.ok(Date.now() - started < 200, 'refused at once');
    assert.match(refused.headers['retry-after'] ?? '', /^[1-9][0-9]*$/);
    assert.match(refused.body.toString(), ONE_LINE_ERROR);
    assert.equal(refused.headers['cache-control'], 'no-store');
  }
  assert.equal(running.relay.stats().waiting, 2);
  assert.deepEqual([receiverA.answered(), senderB.answered()], [false, false], 'the existing pipes are still held');

  // Joining an existing pipe is not a new pipe: both complete.
  const senderA = await fetchReply(running.pipeUrl(nameA), { method: 'PUT', body: bodyA });
  const receiverB = await fetchReply(running.pipeUrl(nameB));
  const [replyA, replyB] = await Promise.all([receiverA.reply, senderB.reply]);
  assertDelivered({ receiver: replyA, sender: senderA }, bodyA);
  assertDelivered({ receiver: receiverB, sender: replyB }, bodyB);

  // Their pipes are gone, so new ones fit again.
  const body = Buffer.from('after the cap\n');
  assertDelivered(await pair(running, body), body);
});

test('request head size: a 9 KiB header or a 20 KiB URL is refused and the connection closed', async (t) => {
  const running = await startRelay(t);
  const port = Number(running.url.port);
  assert.equal(running.relay.options.maxHeaderSize, 8_192);

  const ok = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Pad: ${'a'.repeat(7 * 1024)}\r\n\r\n`);
  assert.equal(ok.status, 200, 'a 7 KiB header is within the limit');

  const bigHeader = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: ${'a'.repeat(9 * 1024)}\r\n\r\n`);
  assert.equal(bigHeader.status, 431, `answer: ${JSON.stringify(bigHeader.text.slice(0, 80))}`);
  assert.ok(bigHeader.closed, 'the connection is closed');

  const bigUrl = await rawRequest(port, `GET /api/v1/pipe/${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: a\r\n\r\n`);
  assert.ok(
    bigUrl.status === 431 || bigUrl.status === 414 || bigUrl.status === 400,
    `answer: ${JSON.stringify(bigUrl.text.slice(0, 80))}`,
  );
  assert.ok(bigUrl.closed, 'the connection is closed');
  assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
});

test('slowloris: a head trickled byte by byte is cut at the header timeout while pipes work', async (t) => {
  const running = await startRelay(t, { headersTimeoutMs: 1_000 });
  const port = Number(running.url.port);
  const socket = await connectRaw(port);
  const watched = watch(socket);
  socket.write('GET /api/v1/pipe/slow HTTP/1.1\r\nHost: a\r\nX-Slow: ');
  const trickle = setInterval(() => {
    if (!socket.destroyed && socket.writable) socket.write('a');
  }, 200);
  t.after(() => clearInterval(trickle));

  // During the trickle, a normal pair works.
  const body = Buffer.from('not slowed down\n');
  assertDelivered(await pair(running, body), body);
  assert.ok(!watched.isClosed(), 'the slow client is not cut before the header timeout');

  const result = await watched.result(4_000);
  clearInterval(trickle);
  assert.ok(result.closed, 'the slow client was closed');
  assert.ok(result.status === undefined || result.status === 408, `answer: ${JSON.stringify(result.text.slice(0, 80))}`);
  const closedMs = result.closedMs ?? Infinity;
  assert.ok(closedMs >= 900 && closedMs <= 2_500, `closed after ${closedMs} ms`);
  assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 }, 'the slow request never reached the pipe');
});

test('maxConnections: connections beyond the limit are closed; once the others go, pipes work again', async (t) => {
  const running = await startRelay(t, { maxConnections: 5 });
  const port = Number(running.url.port);
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((s) => s.destroy()));
  const watched: WatchedSocket[] = [];
  for (let i = 0; i < 8; i++) {
    const socket = await connectRaw(port);
    sockets.push(socket);
    watched.push(watch(socket));
  }
  await waitFor(() => watched.filter((w) => w.isClosed()).length >= 3, 'the server to close the extra connections');
  await sleep(300);
  assert.deepEqual(
    watched.map((w) => w.isClosed()),
    [false, false, false, false, false, true, true, true],
    'the first five stay open, the last three were closed by the server',
  );
  assert.deepEqual(watched.slice(5).map((w) => w.text()), ['', '', ''], 'the extras got no answer');

  // While the five idle connections are open, a new request cannot get through.
  await assert.rejects(fetchReply(`${running.url.origin}/healthz`), 'a sixth connection is refused');

  for (const socket of sockets) socket.destroy();
  let connections = -1;
  await waitFor(() => {
    running.relay.server.getConnections((_error, n) => (connections = n));
    return connections === 0;
  }, 'the server to see the connections close');
  await sleep(50);
  const body = Buffer.from('room again\n');
  assertDelivered(await pair(running, body), body);
});

test('server settings: timeouts, head limits and the strict parser', async (t) => {
  await t.test('defaults', async (t) => {
    const { relay } = await startRelay(t);
    const server = withParserSettings(relay.server);
    assert.equal(server.requestTimeout, 0, 'no request timeout: a call streams for hours');
    assert.equal(server.headersTimeout, DEFAULT_RELAY_OPTIONS.headersTimeoutMs);
    assert.equal(server.headersTimeout, 10_000);
    assert.equal(server.timeout, 0, 'no socket inactivity timeout');
    assert.equal(server.keepAliveTimeout, 5_000);
    assert.equal(server.maxHeaderSize, 8_192);
    assert.equal(server.maxConnections, 10_000);
    assert.equal(server.maxHeadersCount, null, "Node's own count limit (2000) applies; the size limit bounds it first");
    assert.equal(server.insecureHTTPParser, false);
    // The relay checks Host itself, to answer a missing or doubled one with a reason (security.test.ts).
    assert.equal(server.requireHostHeader, false);
  });

  await t.test('configured values reach the server and take effect', async (t) => {
    const running = await startRelay(t, { headersTimeoutMs: 1_234, maxHeaderSize: 4_096, maxConnections: 77 });
    const server = withParserSettings(running.relay.server);
    assert.equal(server.headersTimeout, 1_234);
    assert.equal(server.requestTimeout, 0);
    assert.equal(server.maxHeaderSize, 4_096);
    assert.equal(server.maxConnections, 77);
    const port = Number(running.url.port);
    const small = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Pad: ${'a'.repeat(3 * 1024)}\r\n\r\n`);
    assert.equal(small.status, 200);
    const big = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: ${'a'.repeat(5 * 1024)}\r\n\r\n`);
    assert.equal(big.status, 431);
    assert.ok(big.closed);
    // Many small headers, within the size: answered.
    const many = Array.from({ length: 300 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const manyHeaders = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${many}\r\n`);
    assert.equal(manyHeaders.status, 200);
  });

  await t.test('the strict parser: Content-Length with Transfer-Encoding is 400 and closed', async (t) => {
    const running = await startRelay(t);
    const name = uniqueName('clte');
    const result = await rawRequest(
      Number(running.url.port),
      `PUT /api/v1/pipe/${name} HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
    assert.equal(result.status, 400, `answer: ${JSON.stringify(result.text.slice(0, 80))}`);
    assert.ok(result.closed);
    assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  });

});
