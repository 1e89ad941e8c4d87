/**
 * The WebSocket talker bridge (src/relay/websocket.ts) with the `ws` client over real sockets: a
 * WebSocket becomes the pipe's sender, and every rule of a PUT sender holds for it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { fetchReply, open, readReply, responseOf } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';

interface Talker {
  readonly ws: WebSocket;
  /** Text messages from the relay (status lines), in order. */
  readonly lines: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

function talker(url: string, protocol: string | string[] = 'hoodycall.ogg', options: WebSocket.ClientOptions = {}): Talker {
  const ws = new WebSocket(wsUrl(url), protocol, options);
  const lines: string[] = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) lines.push(data.toString());
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, lines, closed };
}

async function connected(t: Talker): Promise<void> {
  await waitFor(() => t.lines.some((line) => line.startsWith('[INFO] connected')), 'the connected line');
}

/** A WebSocket talker and a plain GET receiver, connected: the usual start of a streaming test. */
async function connectedPair(url: string): Promise<{ speaker: Talker; res: IncomingMessage }> {
  const speaker = talker(url);
  const receiver = open(url);
  receiver.end();
  const res = await responseOf(receiver);
  await connected(speaker);
  return { speaker, res };
}

test('a WebSocket talker is the pipe sender: a plain GET receives its bytes as audio/ogg and a clean end on close 1000', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const speaker = talker(url);
  await once(speaker.ws, 'open');
  assert.equal(speaker.ws.protocol, 'hoodycall.ogg');
  await waitFor(() => relay.stats().waiting === 1, 'the talker to wait');
  const receiver = open(url, { headers: { accept: '*/*' } });
  receiver.end();
  const res = await responseOf(receiver);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'audio/ogg');
  assert.equal(res.headers['access-control-allow-origin'], '*');
  await connected(speaker);
  const sent: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const chunk = randomBytes(100 + i);
    sent.push(chunk);
    speaker.ws.send(chunk);
  }
  speaker.ws.send('text frames are not part of the stream');
  speaker.ws.close(1000);
  const reply = await readReply(res);
  assert.equal(reply.complete, true);
  assert.deepEqual(reply.body, Buffer.concat(sent));
  const closed = await speaker.closed;
  assert.equal(closed.code, 1000);
  assert.match(speaker.lines.join(''), /\[INFO\] connected to the receiver, streaming\n/);
  await waitFor(() => relay.stats().streaming === 0, 'the pipe to end');
  assert.match(log.at(-1) ?? '', /bytes=\d+ .*outcome=done/);
});

test('receiver first, then the WebSocket talker; the hoodycall.webm subprotocol gives audio/webm', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const receiver = open(url);
  receiver.end();
  await waitFor(() => relay.stats().waiting === 1, 'the receiver to wait');
  const speaker = talker(url, ['x-unknown', 'hoodycall.webm']);
  const res = await responseOf(receiver);
  assert.equal(res.headers['content-type'], 'audio/webm');
  await connected(speaker);
  speaker.ws.send(Buffer.from('webm bytes'));
  speaker.ws.close(1000);
  const reply = await readReply(res);
  assert.equal(reply.body.toString(), 'webm bytes');
  assert.equal(reply.complete, true);
});

test('a WebSocket that drops mid-stream aborts the pipe: the receiver body is incomplete, never a clean end', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { speaker, res } = await connectedPair(url);
  speaker.ws.send(randomBytes(2_000));
  await sleep(100);
  speaker.ws.terminate();
  const reply = await readReply(res);
  assert.equal(reply.complete, false);
  await waitFor(() => relay.stats().streaming === 0, 'the pipe to end');
  assert.match(log.at(-1) ?? '', /outcome=sender-aborted/);
});

test('a close other than 1000 (a tab going away, 1001) is an abort, not the end of the call', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { speaker, res } = await connectedPair(url);
  speaker.ws.send(randomBytes(500));
  speaker.ws.close(1001);
  assert.equal((await readReply(res)).complete, false);
});

test('the receiver leaving closes the talker with 4000 and the reason line', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { speaker, res } = await connectedPair(url);
  const feeding = setInterval(() => speaker.ws.send(randomBytes(200)), 20);
  t.after(() => clearInterval(feeding));
  await sleep(200);
  res.destroy();
  const closed = await speaker.closed;
  clearInterval(feeding);
  assert.equal(closed.code, 4000);
  assert.match(speaker.lines.at(-1) ?? '', /^\[ERROR\] the receiver left after \d+ bytes/);
  await waitFor(() => relay.stats().streaming === 0 && relay.stats().waiting === 0, 'the pipe to end');
});

test('refusals are close codes 4000 + status with the reason: busy (4409), hold expired (4408), client limit (4429)', async (t) => {
  const { pipeUrl } = await startRelay(t, { holdMs: 400, maxPipesPerClient: 2 });
  const url = pipeUrl(uniqueName());
  const first = talker(url);
  await once(first.ws, 'open');
  const second = talker(url);
  const busy = await second.closed;
  assert.equal(busy.code, 4409);
  assert.match(busy.reason, /already has a sender/);
  assert.match(second.lines.join(''), /^\[ERROR\] this pipe already has a sender\n$/);

  const third = talker(pipeUrl(uniqueName()));
  await once(third.ws, 'open');
  const limited = talker(pipeUrl(uniqueName()));
  assert.equal((await limited.closed).code, 4429);

  const expired = await first.closed;
  assert.equal(expired.code, 4408);
  assert.match(first.lines.join(''), /no receiver connected within 0\.4 s/);
});

test('a waiting WebSocket talker that leaves frees the name at once', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const speaker = talker(url);
  await once(speaker.ws, 'open');
  await waitFor(() => relay.stats().waiting === 1, 'the talker to wait');
  speaker.ws.close(1000);
  await waitFor(() => relay.stats().waiting === 0, 'the name to be freed');
  const again = fetchReply(url);
  await fetchReply(url, { method: 'PUT', body: 'next' });
  assert.equal((await again).body.toString(), 'next');
});

test('handshake refusals are HTTP: no talker subprotocol (400), not a pipe (404), a bad name (400)', async (t) => {
  const { pipeUrl, url } = await startRelay(t);
  const statusOf = (target: string, protocol?: string): Promise<number> =>
    new Promise((resolve) => {
      const ws = protocol === undefined ? new WebSocket(target) : new WebSocket(target, protocol);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
  assert.equal(await statusOf(wsUrl(pipeUrl(uniqueName()))), 400);
  assert.equal(await statusOf(wsUrl(pipeUrl(uniqueName())), 'chat'), 400);
  assert.equal(await statusOf(`${wsUrl(url.origin)}/metrics`, 'hoodycall.ogg'), 404);
  assert.equal(await statusOf(`${wsUrl(url.origin)}/api/v1/pipe/a//b`, 'hoodycall.ogg'), 400);
});

test('a message over the size limit closes the talker (1009) and aborts the pipe', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const { speaker, res } = await connectedPair(url);
  speaker.ws.send(Buffer.alloc(64 * 1024 + 1));
  assert.equal((await speaker.closed).code, 1009);
  assert.equal((await readReply(res)).complete, false);
});

test('?n=2 fans a WebSocket talker out to two receivers', async (t) => {
  const { pipeUrl } = await startRelay(t);
  const name = uniqueName();
  const receivers = [open(pipeUrl(name, 'n=2')), open(pipeUrl(name, 'n=2'))];
  for (const receiver of receivers) receiver.end();
  const speaker = talker(pipeUrl(name, 'n=2'));
  const responses = await Promise.all(receivers.map(responseOf));
  await connected(speaker);
  assert.match(speaker.lines[0] ?? '', /connected to 2 receivers/);
  speaker.ws.send(Buffer.from('to both'));
  speaker.ws.close(1000);
  for (const res of responses) assert.equal((await readReply(res)).body.toString(), 'to both');
});

test('shutdown: a waiting WebSocket talker is closed with 4503', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const speaker = talker(pipeUrl(uniqueName()));
  await once(speaker.ws, 'open');
  await waitFor(() => relay.stats().waiting === 1, 'the talker to wait');
  const closing = relay.close({ graceMs: 0 });
  assert.equal((await speaker.closed).code, 4503);
  await closing;
});

test('an Upgrade other than websocket (curl --http2 asks h2c) is answered as plain HTTP/1.1', async (t) => {
  const { url } = await startRelay(t);
  const reply = await fetchReply(`${url.origin}/healthz`, { headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA' } });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.toString(), 'ok\n');
});

test('Origin: another page’s origin gets 403; the relay’s own origin, a listed one and no Origin at all may talk', async (t) => {
  const statusOf = (url: string, origin?: string): Promise<number> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, 'hoodycall.ogg', origin === undefined ? {} : { origin });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('open', () => {
        resolve(101);
        ws.terminate();
      });
      ws.on('error', () => undefined);
    });
  const plain = await startRelay(t);
  const url = wsUrl(plain.pipeUrl(uniqueName()));
  assert.equal(await statusOf(url, 'https://evil.example'), 403);
  assert.equal(await statusOf(url, 'null'), 403, 'a sandboxed or file: page');
  assert.equal(await statusOf(url, `http://localhost:${plain.url.port}`), 403, 'another host name is another origin');
  assert.equal(await statusOf(wsUrl(plain.pipeUrl(uniqueName())), plain.url.origin), 101, "the relay's own page");
  assert.equal(await statusOf(wsUrl(plain.pipeUrl(uniqueName()))), 101, 'a client that sends no Origin');
  const listed = await startRelay(t, { allowOrigins: ['https://app.example'] });
  assert.equal(await statusOf(wsUrl(listed.pipeUrl(uniqueName())), 'https://app.example'), 101);
  assert.equal(await statusOf(wsUrl(listed.pipeUrl(uniqueName())), 'https://other.example'), 403);
  const any = await startRelay(t, { allowOrigins: ['*'] });
  assert.equal(await statusOf(wsUrl(any.pipeUrl(uniqueName())), 'https://evil.example'), 101);
});

test('Origin behind a trusted proxy that rewrites Host: its X-Forwarded-Host names the relay’s page', async (t) => {
  const statusOf = (url: string, headers: Record<string, string>): Promise<number> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, 'hoodycall.ogg', { headers });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('open', () => {
        resolve(101);
        ws.terminate();
      });
      ws.on('error', () => undefined);
    });
  const trusting = await startRelay(t, { trustProxy: ['127.0.0.1'] });
  const page = { origin: 'https://relay.example', 'x-forwarded-host': 'relay.example' };
  assert.equal(await statusOf(wsUrl(trusting.pipeUrl(uniqueName())), page), 101);
  const untrusting = await startRelay(t);
  assert.equal(await statusOf(wsUrl(untrusting.pipeUrl(uniqueName())), page), 403, 'X-Forwarded-Host from anyone else is ignored');
});
