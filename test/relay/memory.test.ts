/**
 * Memory bounded by what a chunk costs, not by its byte count: senders that send 1-byte chunks (HTTP
 * chunked bodies, WebSocket frames) to receivers that never read, waiting or streaming, with `?n=`
 * fan-out. Each sent about 100 MB of objects per pipe into the relay before (a 1-byte chunk is a
 * Buffer of ~200 bytes of objects). The relay is `hoodycall serve` in its own process, so its RSS is
 * its own; the attackers are raw sockets here, and the test stops as soon as the relay passes the bound.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { startServe, type ServeProcess } from '../helpers/cli.js';
import { fetchReply } from '../helpers/http.js';
import { sleep, uniqueName } from '../helpers/relay.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** What the relay may hold per pipe by default: --pipe-buffer 256 KiB plus one socket read (64 KiB). */
const PER_PIPE = 256 * KiB + 64 * KiB;
/** Per connection (Node's HTTP state, buffers) and a margin for the heap's own growth and GC timing. */
const PER_CONNECTION = 32 * KiB;
/**
 * RSS also holds garbage not yet collected and, on a loaded 2-core machine, held-back pipes that went
 * past their budget before the hold took effect (an open defect, see pump.test.ts): 72 MiB was seen
 * for 32 senders once. The relay before issue 12 grew ~100 MB per pipe: 3 GB for these 32.
 */
const SLACK = 100 * MiB;
const FLOOD_MS = 3_000;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN) * KiB;
}

async function relay(t: TestContext): Promise<ServeProcess> {
  const serve = await startServe(t, ['--host', '127.0.0.1', '--port', '0', '--quiet']);
  // Warm up (the page scripts, the parser, the first pipe), so the baseline is the relay at rest.
  const name = uniqueName('warm');
  const receiving = fetchReply(serve.pipeUrl(name));
  await sleep(50);
  await fetchReply(serve.pipeUrl(name), { method: 'PUT', body: Buffer.alloc(64 * KiB) });
  await receiving;
  await sleep(300);
  return serve;
}

async function connect(port: number, localAddress: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

/** A receiver that asks and then never reads a byte: its socket is paused from the start. */
async function stalledReceiver(port: number, path: string, localAddress: string): Promise<net.Socket> {
  const socket = await connect(port, localAddress);
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: relay\r\n\r\n`);
  return socket;
}

/** 1-byte chunks in chunked framing: `1\r\nX\r\n` each. */
const ONE_BYTE_CHUNKS = Buffer.from('1\r\nx\r\n'.repeat(64 * KiB));
/** 600-byte chunks: above the small-chunk rate limit, so only the byte budget holds them back. */
const SMALL_CHUNKS = Buffer.from(`258\r\n${'y'.repeat(600)}\r\n`.repeat(1_024));
/** A masked binary WebSocket frame with a 1-byte payload, repeated (a client must mask its frames). */
const ONE_BYTE_FRAMES = Buffer.concat(Array.from({ length: 64 * KiB }, () => Buffer.from([0x82, 0x81, 1, 2, 3, 4, 0x79 ^ 1])));

/**
 * Writes `block` again and again, as fast as the socket takes it, until `until`. A relay that holds
 * the sender back stops taking it: then the flood just waits for the time to pass.
 */
function floodWith(socket: net.Socket, block: Buffer, until: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
    const more = (): void => {
      while (Date.now() < until && !socket.destroyed) {
        if (!socket.write(block)) return void socket.once('drain', more);
      }
      clearTimeout(timer);
      resolve();
    };
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    more();
  });
}

async function httpSender(port: number, path: string, localAddress: string): Promise<net.Socket> {
  const socket = await connect(port, localAddress);
  socket.resume();
  socket.write(`PUT ${path} HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n`);
  return socket;
}

async function webSocketTalker(port: number, path: string, localAddress: string): Promise<net.Socket> {
  const socket = await connect(port, localAddress);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: hoodycall.ogg\r\n\r\n',
  );
  const [head] = (await once(socket, 'data')) as [Buffer];
  assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
  socket.resume();
  return socket;
}

/**
 * Floods for FLOOD_MS while sampling the relay's RSS; fails as soon as it passes `bound` (the old relay
 * would take gigabytes). Returns the largest growth seen.
 */
async function measureFlood(serve: ServeProcess, floods: Promise<void>[], bound: number, what: string): Promise<number> {
  const base = await rssOf(serve.child.pid ?? 0);
  let peak = 0;
  let flooding = true;
  void Promise.all(floods).then(() => (flooding = false));
  while (flooding) {
    peak = Math.max(peak, (await rssOf(serve.child.pid ?? 0)) - base);
    assert.ok(peak <= bound, `${what}: the relay grew by ${(peak / MiB).toFixed(1)} MiB, over the bound of ${(bound / MiB).toFixed(1)} MiB`);
    await sleep(100);
  }
  await Promise.all(floods);
  return peak;
}

async function assertStillServes(serve: ServeProcess): Promise<void> {
  const started = Date.now();
  const health = await fetchReply(new URL('/healthz', serve.url).href, { localAddress: '127.0.0.9' });
  assert.equal(health.status, 200);
  assert.ok(Date.now() - started < 1_000, `/healthz took ${Date.now() - started} ms`);
}

for (const [label, block] of [['1-byte', ONE_BYTE_CHUNKS], ['600-byte', SMALL_CHUNKS]] as const) {
  test(`32 waiting HTTP senders from one address pushing ${label} chunks: memory stays within the bound`, async (t) => {
    const serve = await relay(t);
    const senders = await Promise.all(Array.from({ length: 32 }, () => httpSender(serve.port, `/api/v1/pipe/${uniqueName('wait')}`, '127.0.0.2')));
    t.after(() => senders.forEach((socket) => socket.destroy()));
    const until = Date.now() + FLOOD_MS;
    const bound = 32 * (PER_PIPE + PER_CONNECTION) + SLACK;
    const peak = await measureFlood(serve, senders.map((socket) => floodWith(socket, block, until)), bound, `32 waiting senders, ${label} chunks`);
    t.diagnostic(`peak growth ${(peak / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(1)} MiB)`);
    await assertStillServes(serve);
  });
}

test('streaming to receivers that never read: 1-byte chunks over HTTP, memory stays within the bound', async (t) => {
  const serve = await relay(t);
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  const floods: Promise<void>[] = [];
  const until = Date.now() + FLOOD_MS + 500;
  for (let i = 0; i < 8; i++) {
    const path = `/api/v1/pipe/${uniqueName('stream')}`;
    sockets.push(await stalledReceiver(serve.port, path, '127.0.0.3'));
    const sender = await httpSender(serve.port, path, '127.0.0.4');
    sockets.push(sender);
    floods.push(floodWith(sender, ONE_BYTE_CHUNKS, until));
  }
  const bound = 8 * (PER_PIPE + 2 * PER_CONNECTION) + SLACK;
  const peak = await measureFlood(serve, floods, bound, '8 streaming pipes');
  t.diagnostic(`peak growth ${(peak / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(1)} MiB)`);
  await assertStillServes(serve);
});

test('WebSocket talkers sending 1-byte frames, waiting and to a receiver that never reads: memory stays within the bound', async (t) => {
  const serve = await relay(t);
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  const floods: Promise<void>[] = [];
  const until = Date.now() + FLOOD_MS + 500;
  for (let i = 0; i < 8; i++) {
    const path = `/api/v1/pipe/${uniqueName('ws')}`;
    // Half of them have a receiver that never reads; the other half wait for one.
    if (i % 2 === 0) sockets.push(await stalledReceiver(serve.port, path, '127.0.0.5'));
    const talker = await webSocketTalker(serve.port, path, '127.0.0.6');
    sockets.push(talker);
    floods.push(floodWith(talker, ONE_BYTE_FRAMES, until));
  }
  const bound = 8 * (PER_PIPE + 2 * PER_CONNECTION) + SLACK;
  const peak = await measureFlood(serve, floods, bound, '8 WebSocket talkers');
  t.diagnostic(`peak growth ${(peak / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(1)} MiB)`);
  await assertStillServes(serve);
});

test('?n=64 to receivers that never read, 1-byte chunks: one pipe stays within the bound', async (t) => {
  const serve = await relay(t);
  const name = uniqueName('fan');
  const path = `/api/v1/pipe/${name}?n=64`;
  // 64 receivers, each from its own address (the per-client caps are not what this test is about).
  const receivers = await Promise.all(Array.from({ length: 64 }, (_, i) => stalledReceiver(serve.port, path, `127.0.1.${i + 1}`)));
  const sender = await httpSender(serve.port, path, '127.0.0.7');
  t.after(() => [...receivers, sender].forEach((socket) => socket.destroy()));
  const bound = PER_PIPE + 65 * PER_CONNECTION + SLACK;
  const peak = await measureFlood(serve, [floodWith(sender, ONE_BYTE_CHUNKS, Date.now() + FLOOD_MS)], bound, 'one ?n=64 pipe');
  t.diagnostic(`peak growth ${(peak / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(1)} MiB)`);
  await assertStillServes(serve);
});
