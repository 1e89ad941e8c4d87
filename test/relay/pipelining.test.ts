/**
 * HTTP pipelining and /metrics: a flood of pipelined requests on any path must not freeze the relay
 * (it did: 20,000 pipelined GET /metrics per connection left /healthz unanswered for 53 s), and the
 * metrics are cheap, cached and private by default.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { fetchReply, open, responseOf } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';
import { connectRaw, rawHeaders, rawRequest, watch } from '../helpers/raw.js';

const TOKEN = 'test-metrics-token-0123456789';
const ONE_LINE_ERROR = /^\[ERROR\] [^\n]+\n$/;

/** One attacker connection: `count` pipelined copies of `request` in one write, until the relay closes it. */
async function pipelinedFlood(port: number, request: string, count: number): Promise<number> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  // Not once(socket, 'close'): that rejects on the reset this socket may well get.
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(request.repeat(count));
  await closed;
  return received;
}

test('a flood of pipelined requests on every path stops neither /healthz nor a live pair', async (t) => {
  const running = await startRelay(t, { metricsToken: TOKEN });
  const port = Number(running.url.port);
  const floods = [
    `GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n',
    `OPTIONS /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\n\r\n`,
    'GET /api/v1/pipe/x HTTP/1.1\r\nHost: a\r\nSec-Fetch-Dest: document\r\n\r\n',
  ];

  // A live pair from another address: a 100-byte write every 20 ms, as a call sends.
  const name = uniqueName('live');
  const receiver = open(running.pipeUrl(name), { localAddress: '127.0.0.3' });
  receiver.end();
  const sender = open(running.pipeUrl(name), { method: 'PUT', localAddress: '127.0.0.3' });
  sender.on('error', () => undefined);
  sender.flushHeaders();
  const res = await responseOf(receiver);
  const arrivals: number[] = [];
  res.on('data', () => arrivals.push(Date.now()));
  const talking = setInterval(() => sender.write(Buffer.alloc(100, 1)), 20);
  t.after(() => clearInterval(talking));

  // /healthz from a third address every 50 ms, timed.
  const health: number[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const started = Date.now();
      const reply = await fetchReply(`${running.url.origin}/healthz`, { localAddress: '127.0.0.4' });
      assert.equal(reply.status, 200);
      health.push(Date.now() - started);
      await sleep(50);
    }
  })();

  // The reproduction of the frozen relay, twice: 30 connections, each 20,000 pipelined requests.
  let answered = 0;
  for (let round = 0; round < 2; round++) {
    const bytes = await Promise.all(Array.from({ length: 30 }, (_, i) => pipelinedFlood(port, floods[i % floods.length] ?? '', 20_000)));
    answered += bytes.filter((n) => n > 0).length;
  }
  const floodEnded = Date.now();
  probing = false;
  await prober;
  clearInterval(talking);

  // What a pipelined request costs is one parse, like any request: the relay answers the first on each
  // connection and drops the rest, unread. A poll of the event loop may still parse 30 connections' worth
  // of requests in a row (about 25 ms each here), hence bounds of 2 s; a frozen relay took 53 s.
  assert.ok(answered > 0, "the attackers got their first answers");
  const worstHealth = Math.max(...health);
  assert.ok(health.length >= 2, `only ${health.length} /healthz answers during the flood`);
  assert.ok(worstHealth < 2_000, `a /healthz took ${worstHealth} ms during the flood`);
  const during = arrivals.filter((at) => at < floodEnded);
  const gaps = during.slice(1).map((at, i) => at - (during[i] ?? at));
  assert.ok(during.length >= 2, `the live pair delivered only ${during.length} writes during the flood`);
  assert.ok(Math.max(...gaps) < 2_000, `the live pair stalled ${Math.max(...gaps)} ms`);
  assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 1 }, 'the flood left no pipe behind');

  // When the flood stops, no work it queued is left: the loop is idle at once.
  const lagStart = Date.now();
  await sleep(10);
  assert.ok(Date.now() - lagStart < 100, `event loop lag ${Date.now() - lagStart} ms after the flood`);
  sender.end();
  res.resume();
  await once(res, 'end');
});

test('pipelined requests: the first is answered, the next gets 400 with a reason and the connection closes', async (t) => {
  const running = await startRelay(t);
  const port = Number(running.url.port);
  const result = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
  const responses = result.text.split(/(?=HTTP\/1\.1 \d{3} )/);
  assert.equal(responses.length, 2, JSON.stringify(result.text));
  assert.match(responses[0] ?? '', /^HTTP\/1\.1 200 [^]*\r\n\r\nok\n$/);
  assert.match(responses[1] ?? '', /^HTTP\/1\.1 400 /);
  assert.equal(rawHeaders(responses[1] ?? '').get('connection'), 'close');
  assert.match((responses[1] ?? '').split('\r\n\r\n')[1] ?? '', ONE_LINE_ERROR);
  assert.ok(result.closed, 'the relay closed the connection');

  // One request at a time on a kept-alive connection is not pipelining.
  const socket = await connectRaw(port);
  const watched = watch(socket);
  for (let i = 1; i <= 3; i++) {
    socket.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => (watched.text().match(/ok\n/g) ?? []).length === i, `answer ${i}`);
  }
  assert.ok(!watched.isClosed());
  socket.destroy();
});

test('a pipe request pipelined behind a waiting receiver closes the connection: the receiver leaves at once', async (t) => {
  const running = await startRelay(t);
  const socket = await connectRaw(Number(running.url.port));
  const watched = watch(socket);
  socket.write(`GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\n\r\n`);
  await waitFor(() => running.relay.stats().waiting === 1, 'the receiver to wait');
  socket.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
  const result = await watched.result(1_000);
  assert.ok(result.closed);
  assert.equal(result.text, '');
  await waitFor(() => running.relay.stats().waiting === 0, 'the name to be freed');
});

test('/metrics: private by default, behind a bearer token, or on a listener of its own', async (t) => {
  await t.test('by default the public listener does not serve it', async (t) => {
    const running = await startRelay(t);
    const reply = await fetchReply(`${running.url.origin}/metrics`);
    assert.equal(reply.status, 404);
    assert.match(reply.body.toString(), ONE_LINE_ERROR);
    assert.equal(reply.headers['access-control-allow-origin'], '*', 'an error line, like any unknown path');
    assert.doesNotMatch(reply.body.toString(), /hoodycall_|nodejs_/);
  });

  await t.test('with a token: 401 without it or with another, 200 with it, and no CORS', async (t) => {
    const running = await startRelay(t, { metricsToken: TOKEN });
    const url = `${running.url.origin}/metrics`;
    const none = await fetchReply(url);
    assert.equal(none.status, 401);
    assert.match(none.headers['www-authenticate'] ?? '', /^Bearer /);
    assert.doesNotMatch(none.body.toString(), /hoodycall_/);
    assert.equal((await fetchReply(url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
    assert.equal((await fetchReply(url, { headers: { authorization: `Basic ${TOKEN}` } })).status, 401);
    const ok = await fetchReply(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.match(ok.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(ok.headers['access-control-allow-origin'], undefined, 'no page of another origin may read it');
    assert.match(ok.body.toString(), /^hoodycall_pipes\{state="waiting"\} 0$/m);
  });

  await t.test('a listener of its own serves /metrics only', async (t) => {
    const running = await startRelay(t);
    const metricsUrl = await running.relay.listenMetrics(0, '127.0.0.1');
    assert.notEqual(metricsUrl.port, running.url.port);
    const ok = await fetchReply(new URL('/metrics', metricsUrl).href);
    assert.equal(ok.status, 200);
    assert.match(ok.body.toString(), /^hoodycall_buffered_bytes 0$/m);
    assert.equal((await fetchReply(new URL('/healthz', metricsUrl).href)).status, 404);
    assert.equal((await fetchReply(new URL(`/api/v1/pipe/${uniqueName()}`, metricsUrl).href)).status, 404);
    assert.equal((await fetchReply(`${running.url.origin}/metrics`)).status, 404, 'and still not the public one');
  });

  await t.test('rendered at most once a second: answers within a second are the same text', async (t) => {
    const running = await startRelay(t, { metricsToken: TOKEN });
    const scrape = async (): Promise<string> =>
      (await fetchReply(`${running.url.origin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.toString();
    const busy = /^hoodycall_rejections_total\{reason="busy"\} (\d+)$/m;
    // The render interval is read from Date.now(): mocked, so the test steps across the second.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const first = await scrape();
    assert.doesNotMatch(first, busy);
    // A rejection between two scrapes: the cached text does not show it yet.
    const name = uniqueName();
    const waiting = open(running.pipeUrl(name));
    waiting.on('error', () => undefined);
    waiting.end();
    await waitFor(() => running.relay.stats().waiting === 1, 'a receiver to wait');
    assert.equal((await fetchReply(running.pipeUrl(name))).status, 409);
    const again = await Promise.all(Array.from({ length: 50 }, scrape));
    for (const text of again) assert.equal(text, first);
    t.mock.timers.tick(999);
    assert.equal(await scrape(), first, 'still the same text 999 ms later');
    t.mock.timers.tick(1);
    assert.match(await scrape(), busy, 'a second later the new count shows');
    waiting.destroy();
  });
});
