/**
 * What a relay receives through the shipped proxies, read off a plain HTTP server standing where the
 * relays stand: the Host the client sent (port included), the client's address appended to
 * X-Forwarded-For (so `serve --trust-proxy` takes the right-most entry the proxy added, and a value a
 * client made up stays to its left), no Forwarded header from the client, X-Forwarded-Proto, and a
 * WebSocket upgrade passed on.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fetchReply, open, responseOf } from '../helpers/http.js';
import { PROXIES, startProxy } from '../helpers/proxy-cluster.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly httpVersion: string;
}

/** Three listeners that record every request but the proxy's health checks, and answer 200. */
async function recordingUpstreams(t: test.TestContext): Promise<{ ports: number[]; seen: Seen[] }> {
  const seen: Seen[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const server = http.createServer((req, res) => {
      if (req.url !== '/healthz' || req.headers.host !== 'hoodycall-health-check') {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, httpVersion: req.httpVersion });
      }
      req.resume();
      res.end('ok\n');
    });
    server.on('upgrade', (req, socket) => {
      socket.on('error', () => undefined);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, httpVersion: req.httpVersion });
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    ports.push((server.address() as AddressInfo).port);
  }
  return { ports, seen };
}

for (const proxy of PROXIES) {
  test(`${proxy}: the relay gets the client's Host, its address appended to X-Forwarded-For, no client Forwarded, and WebSocket upgrades`, async (t) => {
    const { ports, seen } = await recordingUpstreams(t);
    const front = await startProxy(t, proxy, ports);
    if (front === undefined) return;
    const port = new URL(front.origin).port;

    // A client on 127.0.0.7 that claims to be someone else in both forwarding headers.
    const reply = await fetchReply(`${front.origin}/api/v1/pipe/fwd-test?n=1`, {
      method: 'PUT',
      body: 'x',
      localAddress: '127.0.0.7',
      headers: { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9' },
    });
    assert.equal(reply.status, 200);
    const put = seen.find((request) => request.method === 'PUT');
    assert.ok(put !== undefined, JSON.stringify(seen));
    assert.equal(put.url, '/api/v1/pipe/fwd-test?n=1', 'the request target as sent');
    assert.equal(put.httpVersion, '1.1', 'HTTP/1.1 to the relay (chunked uploads stream only over 1.1)');
    assert.equal(put.headers.host, `127.0.0.1:${port}`, 'the Host the client sent, port included');
    const forwardedFor = String(put.headers['x-forwarded-for']).split(',').map((part) => part.trim());
    assert.deepEqual(forwardedFor, ['203.0.113.9', '127.0.0.7'], 'the client\'s address appended, right-most');
    assert.equal(put.headers.forwarded, undefined, 'a client\'s Forwarded header is not passed on');
    assert.equal(put.headers['x-forwarded-proto'], 'http');

    // Over the TLS listener: X-Forwarded-Proto says so.
    seen.length = 0;
    assert.equal((await fetchReply(`${front.tlsOrigin}/api/v1/pipe/fwd-tls`, { ca: front.ca })).status, 200);
    assert.equal(seen[0]?.headers['x-forwarded-proto'], 'https');
    assert.equal(seen[0]?.headers.host, `127.0.0.1:${new URL(front.tlsOrigin).port}`);

    // A browser talker's WebSocket handshake reaches the relay as an upgrade, with its Origin.
    seen.length = 0;
    const upgrade = open(`${front.origin}/api/v1/pipe/fwd-ws`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': 'hoodycall.ogg',
        origin: `http://127.0.0.1:${port}`,
      },
    });
    upgrade.end();
    const res = await responseOf(upgrade);
    res.resume();
    const ws = seen.find((request) => request.url === '/api/v1/pipe/fwd-ws');
    assert.ok(ws !== undefined, JSON.stringify(seen));
    assert.equal(ws.headers.upgrade?.toLowerCase(), 'websocket');
    assert.match(ws.headers.connection ?? '', /upgrade/i);
    assert.equal(ws.headers.origin, `http://127.0.0.1:${port}`);
    assert.equal(ws.headers.host, `127.0.0.1:${port}`, 'Origin and Host still agree for a page of the proxy\'s own origin');
  });
}
