/**
 * The relay under hostile input: ambiguous framing (request smuggling), pipe-name rules, responses a
 * browser could be tricked into running, CORS, methods and ranges, and what the logs may reveal.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import fc from 'fast-check';
import { fetchReply, open, readReply, responseOf, type Reply } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor, type RunningRelay } from '../helpers/relay.js';
import { connectRaw, rawRequest, watch } from '../helpers/raw.js';
import { startServe } from '../helpers/cli.js';
import { parseTarget } from '../../src/relay/index.js';

const PIPE_ALLOW = 'GET, PUT, POST, OPTIONS';

/** A request whose response headers are deferred; the reply promise settles when it is answered. */
function hold(url: string, options: { method?: string; body?: Buffer; headers?: http.OutgoingHttpHeaders } = {}) {
  const req = open(url, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.body === undefined ? {} : { 'content-length': String(options.body.length) }),
      ...options.headers,
    },
  });
  const reply = responseOf(req).then(readReply);
  reply.catch(() => undefined);
  req.end(options.body);
  return { req, reply };
}

/** Receiver first, then the sender with these headers; both replies. */
async function transfer(
  running: RunningRelay,
  body: Buffer,
  senderHeaders: http.OutgoingHttpHeaders = {},
  receiverHeaders: http.OutgoingHttpHeaders = {},
): Promise<{ receiver: Reply; sender: Reply }> {
  const name = uniqueName('sec');
  const before = running.relay.stats().waiting;
  const receiver = hold(running.pipeUrl(name), { headers: receiverHeaders });
  await waitFor(() => running.relay.stats().waiting === before + 1, 'the receiver to wait');
  const sender = await fetchReply(running.pipeUrl(name), { method: 'PUT', body, headers: senderHeaders });
  return { receiver: await receiver.reply, sender };
}

function assertPipeSafety(reply: Reply, what: string): void {
  assert.equal(reply.headers['cache-control'], 'no-store', `${what}: cache-control`);
  assert.equal(reply.headers['x-robots-tag'], 'none', `${what}: x-robots-tag`);
  assert.equal(reply.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
}

const smuggle = (name: string): string => `GET /api/v1/pipe/${name} HTTP/1.1\r\nHost: a\r\n\r\n`;
const PUT_WITH_BAD_CHUNK = 'Transfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n';

test('request smuggling and ambiguous framing: refused, closed, and nothing after it is handled', async (t) => {
  // `admitted`: the bad request's own head is valid, so it may be admitted as a pipe end and leave again.
  const cases: { label: string; request: (smuggled: string) => string; admitted?: true }[] = [
    {
      label: 'Content-Length with Transfer-Encoding: chunked',
      request: (s) =>
        `PUT /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle(s)}`,
    },
    {
      label: 'two different Content-Lengths',
      request: (s) => `PUT /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 48\r\n\r\nhello${smuggle(s)}`,
    },
    {
      label: 'Transfer-Encoding: chunked, identity',
      request: (s) => `PUT /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggle(s)}`,
    },
    {
      label: 'bare LF line endings',
      request: (s) => `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\nHost: a\n\n${smuggle(s)}`,
    },
    {
      label: 'a bare LF inside the header block',
      request: (s) => `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n${smuggle(s)}`,
    },
    {
      label: 'a space before the colon of Transfer-Encoding',
      request: (s) => `PUT /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n${smuggle(s)}`,
    },
    {
      label: 'no Host on HTTP/1.1',
      request: (s) => `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\n\r\n${smuggle(s)}`,
    },
    {
      label: 'a bad chunk size on a PUT nobody waits for',
      request: (s) => `PUT /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\n${PUT_WITH_BAD_CHUNK}${smuggle(s)}`,
      admitted: true,
    },
  ];
  for (const { label, request, admitted } of cases) {
    await t.test(label, async (t) => {
      const running = await startRelay(t);
      const smuggled = uniqueName('smuggled');
      const result = await rawRequest(Number(running.url.port), request(smuggled), { waitMs: 1_500 });
      assert.ok(result.status !== undefined && result.status >= 400 && result.status < 500, `answer: ${JSON.stringify(result.text.slice(0, 120))}`);
      assert.ok(result.closed, 'the connection is closed');
      assert.equal(result.text.match(/HTTP\/1\.1 /g)?.length, 1, 'exactly one response: the smuggled request got none');
      await sleep(100);
      assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 }, 'the smuggled GET registered no waiting pipe');
      if (admitted) {
        assert.ok(running.log.length <= 1, 'at most the bad request itself came and went');
        for (const line of running.log) assert.match(line, /bytes=0 .*outcome=left-waiting$/);
      } else {
        assert.deepEqual(running.log, [], 'no pipe came and went');
      }
    });
  }

  await t.test('a bad chunk size on a PUT to a pipe with a waiting receiver', async (t) => {
    const running = await startRelay(t);
    const name = uniqueName('chunk');
    const receiver = hold(running.pipeUrl(name));
    await waitFor(() => running.relay.stats().waiting === 1, 'the receiver to wait');
    const smuggled = uniqueName('smuggled');
    const result = await rawRequest(
      Number(running.url.port),
      `PUT /api/v1/pipe/${name} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nxx\r\n0\r\n\r\n${smuggle(smuggled)}`,
      { waitMs: 1_500 },
    );
    assert.ok(result.closed, 'the sender connection is closed');
    // The pipe connected on the headers, so the sender was already told 200; it must not be told "done".
    assert.doesNotMatch(result.text, /\[INFO\] done/, 'the broken upload is not reported as delivered');
    const got = await receiver.reply;
    assert.ok(!got.complete, 'the receiver sees a cut body, never a clean end');
    assert.ok(got.body.length <= 5, 'nothing past the bad chunk reached the receiver');
    await sleep(100);
    assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 }, 'the smuggled GET registered no waiting pipe');
    assert.equal(running.log.length, 1, 'one pipe, the broken one, ended');
    assert.match(running.log[0] ?? '', /outcome=sender-aborted$/);
  });

  await t.test('a chunked body that breaks after the 200: the sender is told in its own response, no raw status line inside it', async (t) => {
    const running = await startRelay(t);
    const name = uniqueName('broken');
    const receiver = hold(running.pipeUrl(name));
    await waitFor(() => running.relay.stats().waiting === 1, 'the receiver to wait');
    const socket = await connectRaw(Number(running.url.port));
    const watched = watch(socket);
    socket.write(`PUT /api/v1/pipe/${name} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    await waitFor(() => watched.text().includes('streaming'), 'the sender to be told it streams');
    socket.write('ZZ\r\nxx\r\n');
    const result = await watched.result(2_000);
    assert.ok(result.closed, 'the sender connection is closed');
    assert.equal(result.text.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, `one status line only: ${JSON.stringify(result.text)}`);
    assert.match(result.text, /^HTTP\/1\.1 200 /);
    const body = result.text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
    assert.match(body, /\[ERROR\] the request is malformed \(HPE_INVALID_CHUNK_SIZE\); the receivers were cut off after 5 bytes\n\r\n0\r\n\r\n$/);
    const got = await receiver.reply;
    assert.ok(!got.complete, 'the receiver sees a cut body');
    assert.equal(got.body.toString(), 'hello');
    await waitFor(() => running.relay.stats().streaming === 0, 'the pipe to end');
    assert.match(running.log.at(-1) ?? '', /bytes=5 .*outcome=sender-aborted$/);
  });

  await t.test('a sender never connects to a receiver smuggled behind a request without Host', async (t) => {
    const running = await startRelay(t, { holdMs: 1_000, idleTimeoutMs: 1_000 });
    const smuggled = uniqueName('smuggled');
    const refused = await rawRequest(Number(running.url.port), `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\n\r\n${smuggle(smuggled)}`);
    assert.equal(refused.status, 400);
    assert.ok(refused.closed);
    // Nobody can receive on that connection any more, so a sender must wait alone and get 408.
    const sender = await fetchReply(running.pipeUrl(smuggled), { method: 'PUT', body: 'into the void' });
    const problems: string[] = [];
    if (sender.status !== 408) problems.push(`the sender was told: ${sender.status} ${JSON.stringify(sender.body.toString())}`);
    // Whatever happened, the pipe must be gone once hold and idle timeout have both passed.
    await sleep(1_500);
    const { waiting, streaming } = running.relay.stats();
    if (waiting !== 0 || streaming !== 0) problems.push(`1.5 s later the relay still holds waiting=${waiting} streaming=${streaming}`);
    assert.deepEqual(problems, []);
  });

  await t.test('a pipe request pipelined behind another pipe request closes the connection: neither is left waiting', async (t) => {
    const running = await startRelay(t);
    const socket = await connectRaw(Number(running.url.port));
    const watched = watch(socket);
    socket.write(`GET /api/v1/pipe/${uniqueName('first')} HTTP/1.1\r\nHost: a\r\n\r\n${smuggle(uniqueName('second'))}`);
    const result = await watched.result(1_000);
    assert.ok(result.closed, 'the relay closed the connection');
    assert.equal(result.text, '', 'neither request was answered');
    // Both receivers are gone with their connection: neither may hold its name until the hold ends.
    await waitFor(() => running.relay.stats().waiting === 0, 'both pipelined receivers to be dropped', 1_500);
    assert.ok(running.log.every((line) => /outcome=left-waiting$/.test(line)), running.log.join('\n'));
  });
});

/** The documented rule, written independently of target.ts: one regular expression. */
const DOCUMENTED_NAME =
  /^(?=[\s\S]{1,128}$)(?!\.{1,2}(?:\/|$))(?![\s\S]*\/\.{1,2}(?:\/|$))[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

test('pipe names', async (t) => {
  const tokens = fc.constantFrom(
    'a', 'Z', '0', '9', '.', '..', '_', '~', '-', '/', '//', '%2F', '%2f', '%00', '%61', '%', ' ', '\t', '\u0000', '\n',
    'é', 'Ω', '😀', '\uD800', '#', '\\', ':', '@', '+', '=', '&', ';', ',', '*', '"', "'", '<', '>',
  );
  const names = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'binary-ascii', maxLength: 140 }),
    fc.array(tokens, { maxLength: 30 }).map((parts) => parts.join('')),
    fc.stringMatching(/^[A-Za-z0-9._~-]{1,40}(\/[A-Za-z0-9._~-]{1,40}){0,4}$/),
    fc.array(fc.constantFrom('a', 'b.c', '.', '..', '...', '.a', 'a.', '~x', '-_-'), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
    fc.integer({ min: 120, max: 136 }).map((n) => 'x'.repeat(n)),
  );
  // A '?' starts the query, which is not part of the name; it has its own property below.
  const withoutQuery = names.filter((s) => !s.includes('?'));

  await t.test('parseTarget accepts exactly the documented names, and the name is the path as sent', () => {
    fc.assert(
      fc.property(withoutQuery, (s) => {
        const target = parseTarget(`/api/v1/pipe/${s}`, 64);
        if (DOCUMENTED_NAME.test(s)) {
          assert.deepEqual(target, { kind: 'pipe', name: s, receivers: 1, waitMs: undefined });
        } else {
          assert.equal(target.kind, 'invalid', `${JSON.stringify(s)} -> ${JSON.stringify(target)}`);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  await t.test('the query never changes which name is meant', () => {
    fc.assert(
      fc.property(withoutQuery, fc.constantFrom('', '?', '?n=1', '?x=%2F..', '?n=1&y=2'), (s, query) => {
        const plain = parseTarget(`/api/v1/pipe/${s}`, 64);
        const withQuery = parseTarget(`/api/v1/pipe/${s}${query}`, 64);
        assert.equal(withQuery.kind, plain.kind);
        if (plain.kind === 'pipe' && withQuery.kind === 'pipe') assert.equal(withQuery.name, plain.name);
      }),
      { numRuns: 1_000 },
    );
  });

  await t.test('absolute-form targets name the same pipe as origin-form', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_~-]{1,30}(\/[A-Za-z0-9_~-]{1,30}){0,3}$/), (s) => {
        assert.deepEqual(parseTarget(`http://other.example/api/v1/pipe/${s}`, 64), parseTarget(`/api/v1/pipe/${s}`, 64));
      }),
    );
  });

  await t.test('bad names over HTTP get 400 at once and are never held', async (t) => {
    const running = await startRelay(t);
    const port = Number(running.url.port);
    const bad: (string | Buffer)[] = [
      'a/../b', '..', '.', 'a/.', 'a//b', '/a', 'a/', '%2Fa', 'a%2Fb', '%2e%2e', '%00', 'a%20b', '%61', 'x'.repeat(129),
      'a b', 'a\tb', Buffer.from('caf\u00e9', 'utf8'), '', 'a?n=0', 'a?n=65',
    ];
    for (const name of bad) {
      const head = Buffer.concat([
        Buffer.from('GET /api/v1/pipe/'),
        typeof name === 'string' ? Buffer.from(name, 'latin1') : name,
        Buffer.from(' HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'),
      ]);
      const result = await rawRequest(port, head, { waitMs: 1_000 });
      const label = JSON.stringify(name.toString());
      assert.equal(result.status, 400, `${label}: ${JSON.stringify(result.text.slice(0, 80))}`);
      assert.ok((result.firstByteMs ?? Infinity) < 100, `${label}: answered after ${result.firstByteMs} ms`);
      assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 }, `${label} is not held`);
    }
    // The relay's own refusals explain themselves in one line (Node's parser refusals have no body).
    const encoded = await fetchReply(`${running.url.origin}/api/v1/pipe/%61`);
    assert.equal(encoded.status, 400);
    assert.match(encoded.body.toString(), /^\[ERROR\] [^\n]+\n$/);
    assertPipeSafety(encoded, '400 for %61');
    assert.deepEqual(running.log, []);
  });

  await t.test('percent-encoding is not decoded: %61 is not an alias of a', async (t) => {
    const running = await startRelay(t);
    const receiver = hold(running.pipeUrl('a'));
    t.after(() => receiver.req.destroy());
    await waitFor(() => running.relay.stats().waiting === 1, 'the receiver of "a" to wait');
    const sender = await fetchReply(`${running.url.origin}/api/v1/pipe/%61`, { method: 'PUT', body: 'x' });
    assert.equal(sender.status, 400);
    assert.deepEqual(running.relay.stats(), { waiting: 1, streaming: 0 }, '"a" still waits for its own sender');
  });

  await t.test('absolute-form targets are read as sent: %2e%2e and dot segments alias nothing', async (t) => {
    for (const path of ['a/%2e%2e/b', 'a/%2E%2E/b', 'a/../b', 'a/./b', '%2e%2e/b', 'a/%2e/b']) {
      assert.equal(parseTarget(`http://relay.example/api/v1/pipe/${path}`, 64).kind, 'invalid', path);
      assert.deepEqual(parseTarget(`http://relay.example/api/v1/pipe/${path}`, 64), parseTarget(`/api/v1/pipe/${path}`, 64), path);
    }
    fc.assert(
      fc.property(withoutQuery, fc.constantFrom('http://h', 'https://h:8443', 'HTTP://user@h', 'x-y+z.1://h'), (s, authority) => {
        assert.deepEqual(parseTarget(`${authority}/api/v1/pipe/${s}`, 64), parseTarget(`/api/v1/pipe/${s}`, 64));
      }),
      { numRuns: 2_000 },
    );
    // Over HTTP: a receiver waits on b; an absolute-form sender to a/%2e%2e/b does not reach it.
    const running = await startRelay(t);
    const receiver = hold(running.pipeUrl('b'));
    t.after(() => receiver.req.destroy());
    await waitFor(() => running.relay.stats().waiting === 1, 'the receiver of b to wait');
    const result = await rawRequest(
      Number(running.url.port),
      'PUT http://relay.example/api/v1/pipe/a/%2e%2e/b HTTP/1.1\r\nHost: relay.example\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx',
    );
    assert.equal(result.status, 400);
    assert.deepEqual(running.relay.stats(), { waiting: 1, streaming: 0 }, 'b still waits for its own sender');
  });

  await t.test('an absolute-form receiver gets the bytes of an origin-form sender', async (t) => {
    const running = await startRelay(t);
    const name = uniqueName('abs');
    const socket = await connectRaw(Number(running.url.port));
    const watched = watch(socket);
    socket.write(`GET http://other.example/api/v1/pipe/${name} HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n`);
    await waitFor(() => running.relay.stats().waiting === 1, 'the absolute-form receiver to wait');
    const body = 'through the absolute form\n';
    const sender = await fetchReply(running.pipeUrl(name), { method: 'PUT', body });
    assert.equal(sender.status, 200);
    const result = await watched.result(2_000);
    assert.equal(result.status, 200);
    assert.ok(result.text.endsWith(`\r\n\r\n${body}`), JSON.stringify(result.text));
  });
});

test('a pipe cannot take over the relay origin', async (t) => {
  const running = await startRelay(t);
  const body = Buffer.from('<script>alert(1)</script>');

  await t.test('runnable content types become text/plain, parameters kept', async () => {
    const cases: [string, string][] = [
      ['text/html; charset=utf-8', 'text/plain; charset=utf-8'],
      ['TEXT/HTML', 'text/plain'],
      ['image/svg+xml', 'text/plain'],
      ['application/javascript', 'text/plain'],
      ['text/javascript; charset=utf-8', 'text/plain; charset=utf-8'],
      ['application/xhtml+xml', 'text/plain'],
      ['text/xml', 'text/plain'],
    ];
    for (const [sent, expected] of cases) {
      const { receiver } = await transfer(running, body, { 'content-type': sent });
      assert.equal(receiver.status, 200);
      assert.equal(receiver.headers['content-type'], expected, `sent ${sent}`);
      assert.equal(receiver.headers['x-content-type-options'], 'nosniff');
      assert.deepEqual(receiver.body, body);
    }
  });

  await t.test('audio/ogg is forwarded as is; no type becomes application/octet-stream', async () => {
    const ogg = await transfer(running, body, { 'content-type': 'audio/ogg; codecs=opus' });
    assert.equal(ogg.receiver.headers['content-type'], 'audio/ogg; codecs=opus');
    const none = await transfer(running, body);
    assert.equal(none.receiver.headers['content-type'], 'application/octet-stream');
  });

  await t.test('a GET with Service-Worker: script is refused and registers nothing', async () => {
    const started = Date.now();
    const reply = await fetchReply(running.pipeUrl(uniqueName('sw')), { headers: { 'service-worker': 'script' } });
    assert.equal(reply.status, 400);
    assert.ok(Date.now() - started < 200, 'refused at once, not held');
    assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  });

  await t.test('every pipe response is no-store, nosniff and not indexed', async () => {
    const pair = await transfer(running, body);
    assertPipeSafety(pair.receiver, 'receiver 200');
    assertPipeSafety(pair.sender, 'sender 200');
    assertPipeSafety(await fetchReply(running.pipeUrl('..')), '400 bad name');
    assertPipeSafety(await fetchReply(running.pipeUrl(uniqueName()), { method: 'DELETE' }), '405');
    assertPipeSafety(await fetchReply(`${running.url.origin}/nothing`), '404');
    assertPipeSafety(await fetchReply(running.pipeUrl(uniqueName()), { method: 'OPTIONS' }), '204 preflight');
    const name = uniqueName('busy');
    const first = hold(running.pipeUrl(name));
    await waitFor(() => running.relay.stats().waiting === 1, 'a receiver to wait');
    const busy = await fetchReply(running.pipeUrl(name));
    assert.equal(busy.status, 409);
    assertPipeSafety(busy, '409 busy');
    first.req.destroy();
    await waitFor(() => running.relay.stats().waiting === 0, 'the receiver to leave');
    const short = await startRelay(t, { holdMs: 100 });
    const expired = await fetchReply(short.pipeUrl(uniqueName('alone')));
    assert.equal(expired.status, 408);
    assertPipeSafety(expired, '408 hold expired');
    const limited = await startRelay(t, { maxPipes: 1, holdMs: 5_000 });
    const occupant = hold(limited.pipeUrl(uniqueName()));
    t.after(() => occupant.req.destroy());
    await waitFor(() => limited.relay.stats().waiting === 1, 'the occupant to wait');
    const full = await fetchReply(limited.pipeUrl(uniqueName()));
    assert.equal(full.status, 503);
    assertPipeSafety(full, '503 relay limit');
  });
});

test('CORS', async (t) => {
  const running = await startRelay(t);

  await t.test('a preflight on a pipe gets 204 with the pipe methods and registers nothing', async () => {
    const name = uniqueName('cors');
    const reply = await fetchReply(running.pipeUrl(name), {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(reply.status, 204);
    assert.equal(reply.headers['access-control-allow-origin'], '*');
    const methods = (reply.headers['access-control-allow-methods'] ?? '').split(',').map((m) => m.trim());
    assert.ok(methods.includes('PUT'), `allow-methods: ${methods.join(',')}`);
    assert.ok(methods.includes('GET') && methods.includes('POST'));
    assert.match(reply.headers['access-control-allow-headers'] ?? '', /content-type/i);
    assert.equal(reply.body.length, 0);
    assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  });

  await t.test('a preflight does not consume a waiting receiver', async () => {
    const name = uniqueName('cors');
    const receiver = hold(running.pipeUrl(name));
    await waitFor(() => running.relay.stats().waiting === 1, 'the receiver to wait');
    const preflight = await fetchReply(running.pipeUrl(name), {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(preflight.status, 204);
    const sender = await fetchReply(running.pipeUrl(name), { method: 'PUT', body: 'after the preflight' });
    assert.equal(sender.status, 200);
    assert.equal((await receiver.reply).body.toString(), 'after the preflight');
  });

  await t.test('a Private Network Access preflight is not granted', async () => {
    const reply = await fetchReply(running.pipeUrl(uniqueName('pna')), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://public.example',
        'access-control-request-method': 'GET',
        'access-control-request-private-network': 'true',
      },
    });
    assert.equal(reply.headers['access-control-allow-private-network'], undefined);
  });

  await t.test("the receiver's 200 is readable cross-origin", async () => {
    const { receiver } = await transfer(running, Buffer.from('abc'), { 'content-type': 'audio/ogg' }, { origin: 'https://app.example' });
    assert.equal(receiver.status, 200);
    assert.equal(receiver.headers['access-control-allow-origin'], '*');
    const exposed = (receiver.headers['access-control-expose-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase());
    assert.ok(exposed.includes('content-type') && exposed.includes('content-length'), `exposed: ${exposed.join(',')}`);
  });
});

test('methods and ranges', async (t) => {
  const running = await startRelay(t);

  await t.test('DELETE, PATCH, TRACE and HEAD on a pipe are 405 with Allow', async () => {
    for (const method of ['DELETE', 'PATCH', 'TRACE', 'HEAD']) {
      const reply = await fetchReply(running.pipeUrl(uniqueName('m')), { method });
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, PIPE_ALLOW, method);
    }
    assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  });

  await t.test('HEAD does not consume a waiting sender', async () => {
    const name = uniqueName('head');
    const body = Buffer.from('the whole body, untouched by HEAD\n');
    const sender = hold(running.pipeUrl(name), { method: 'PUT', body });
    await waitFor(() => running.relay.stats().waiting === 1, 'the sender to wait');
    const head = await fetchReply(running.pipeUrl(name), { method: 'HEAD' });
    assert.equal(head.status, 405);
    assert.deepEqual(running.relay.stats(), { waiting: 1, streaming: 0 }, 'the sender still waits');
    const receiver = await fetchReply(running.pipeUrl(name));
    assert.equal(receiver.status, 200);
    assert.deepEqual(receiver.body, body);
    assert.equal((await sender.reply).status, 200);
  });

  await t.test('a Range request gets the whole stream from byte 0', async () => {
    const body = Buffer.from(Array.from({ length: 400 }, (_, i) => i % 256));
    const { receiver } = await transfer(running, body, {}, { range: 'bytes=100-200' });
    assert.equal(receiver.status, 200);
    assert.deepEqual(receiver.body, body);
    assert.equal(receiver.headers['accept-ranges'], undefined);
    assert.equal(receiver.headers['content-range'], undefined);
  });

  await t.test('a PUT with Content-Range is 400', async () => {
    const reply = await fetchReply(running.pipeUrl(uniqueName('cr')), {
      method: 'PUT',
      body: 'abc',
      headers: { 'content-range': 'bytes 0-2/3' },
    });
    assert.equal(reply.status, 400);
    assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  });
});

const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z pipe [0-9a-f]{10} n=1 bytes=\d+ waited=\d+\.\ds streamed=\d+\.\ds outcome=done$/;

test('names and payloads are never logged', async (t) => {
  await t.test('the access log of createRelay', async (t) => {
    const running = await startRelay(t);
    const secrets: string[] = [];
    for (let i = 0; i < 4; i++) {
      const name = `${uniqueName('SECRETNAME')}/part${i}`;
      const marker = `PAYLOADMARKER${i}x${uniqueName()}`;
      secrets.push(name, name.split('/')[0] ?? name, marker);
      const { receiver } = await transfer(running, Buffer.from(`${marker}\n`));
      assert.equal(receiver.body.toString(), `${marker}\n`);
      // transfer() picks its own name; also run a pipe under the distinctive name.
      const byName = hold(running.pipeUrl(name));
      await waitFor(() => running.relay.stats().waiting === 1, 'the receiver to wait');
      await fetchReply(running.pipeUrl(name), { method: 'PUT', body: marker });
      assert.equal((await byName.reply).body.toString(), marker);
    }
    assert.equal(running.log.length, 8);
    for (const line of running.log) {
      assert.match(line, LOG_LINE);
      for (const secret of [...secrets, 'SECRETNAME', 'PAYLOADMARKER']) assert.ok(!line.includes(secret), `${line} contains ${secret}`);
    }
    const ids = running.log.map((line) => line.split(' ')[2]);
    assert.equal(new Set(ids).size, 8, 'each pipe has its own id');
  });

  await t.test('the output of hoodycall serve', async (t) => {
    const serve = await startServe(t, ['--port', '0', '--host', '127.0.0.1']);
    const secrets: string[] = [];
    for (let i = 0; i < 2; i++) {
      const name = uniqueName('CLISECRET');
      const marker = `CLIPAYLOAD${i}${uniqueName()}`;
      secrets.push(name, marker);
      const receiver = hold(serve.pipeUrl(name));
      await sleep(100);
      const sender = await fetchReply(serve.pipeUrl(name), { method: 'PUT', body: marker });
      assert.equal(sender.status, 200);
      assert.equal((await receiver.reply).body.toString(), marker);
    }
    const refused = await fetchReply(serve.pipeUrl(`${uniqueName('CLISECRET')}/..`));
    assert.equal(refused.status, 400);
    serve.child.kill('SIGTERM');
    const exit = await serve.exited;
    assert.equal(exit.code, 0);
    const output = serve.stdout() + serve.stderr();
    assert.equal(serve.stderr().split('\n').filter((line) => / pipe [0-9a-f]{10} /.test(line)).length, 2, 'two access log lines');
    for (const secret of [...secrets, 'CLISECRET', 'CLIPAYLOAD']) assert.ok(!output.includes(secret), `output contains ${secret}:\n${output}`);
  });
});

test('refusals Node would answer bare get a reason: no Host, two Hosts, an unknown Expect, CONNECT', async (t) => {
  const running = await startRelay(t);
  const port = Number(running.url.port);
  const cases: [string, string, number][] = [
    ['no Host', `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\n\r\n`, 400],
    ['two Hosts', `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 400],
    ['two Hosts on a page', 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n', 400],
    ['two Hosts on an upgrade', `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`, 400],
    ['Expect: teapot', `PUT /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\nabc`, 417],
    ['CONNECT', 'CONNECT relay.example:443 HTTP/1.1\r\nHost: relay.example:443\r\n\r\n', 405],
  ];
  for (const [label, request, status] of cases) {
    const result = await rawRequest(port, request, { waitMs: 1_000 });
    assert.equal(result.status, status, `${label}: ${JSON.stringify(result.text.slice(0, 100))}`);
    assert.match(result.text, /\r\n\r\n\[ERROR\] [^\n]+\n$/, `${label}: one [ERROR] line`);
    assert.ok(result.closed, `${label}: the connection is closed`);
  }
  assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 });
  // HTTP/1.0 needs no Host.
  const old = await rawRequest(port, 'GET /healthz HTTP/1.0\r\n\r\n');
  assert.equal(old.status, 200);
});
