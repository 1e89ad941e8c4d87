/**
 * Limits per client address: connections (a flood of silent sockets from one address took every slot
 * of --max-connections), IPv6 counted per /64, a fair share of --max-pipes, and --trust-proxy: the
 * forwarded address is the client only when the connection comes from a trusted proxy.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { fetchReply, open, readReply, responseOf, type Reply } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor, type RunningRelay } from '../helpers/relay.js';
import { rawRequest, watch } from '../helpers/raw.js';
import { createRelay } from '../../src/relay/index.js';

const ONE_LINE_ERROR = /\r\n\r\n\[ERROR\] [^\n]+\n$/;

/** A request whose response headers are deferred; settles when it is answered. */
function hold(url: string, options: { localAddress?: string; method?: string; body?: string } = {}) {
  const req = open(url, {
    method: options.method ?? 'GET',
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.body === undefined ? {} : { headers: { 'content-length': String(options.body.length) } }),
  });
  req.on('error', () => undefined);
  const reply: Promise<Reply> = responseOf(req).then(readReply);
  reply.catch(() => undefined);
  req.end(options.body);
  return { req, reply };
}

async function pairWorks(running: RunningRelay, from: string): Promise<void> {
  const name = uniqueName('pair');
  const receiving = hold(running.pipeUrl(name), { localAddress: from });
  await waitFor(() => running.relay.stats().waiting >= 1, 'the receiver to wait');
  const sent = await fetchReply(running.pipeUrl(name), { method: 'PUT', body: 'still works', localAddress: from });
  assert.equal(sent.status, 200);
  assert.equal((await receiving.reply).body.toString(), 'still works');
}

test('a flood of silent sockets from one address stops neither a pair from another nor /healthz', async (t) => {
  const running = await startRelay(t, { maxConnections: 1_000 });
  const port = Number(running.url.port);
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  const answers: string[] = [];
  for (let i = 0; i < 2_000; i++) {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => answers.push(text));
    sockets.push(socket);
    if (i % 250 === 249) await sleep(20);
  }
  await waitFor(() => answers.length >= 2_000 - running.relay.options.maxConnectionsPerClient, 'the relay to refuse the extra sockets', 10_000);
  await sleep(200);
  assert.equal(sockets.filter((socket) => !socket.destroyed).length, 64, 'exactly --max-connections-per-client stay open');
  const told = answers.filter((text) => /^HTTP\/1\.1 429 /.test(text) && ONE_LINE_ERROR.test(text));
  assert.ok(told.length > answers.length / 2, `${told.length} of ${answers.length} refused sockets were told why`);
  const health = await fetchReply(`${running.url.origin}/healthz`, { localAddress: '127.0.0.3' });
  assert.equal(health.status, 200);
  await pairWorks(running, '127.0.0.3');
  // The flood's address may not open more, even for a request: it is told why.
  const refused = await fetchReply(`${running.url.origin}/healthz`, { localAddress: '127.0.0.2' });
  assert.equal(refused.status, 429);
  assert.match(refused.body.toString(), /^\[ERROR\] your address holds its limit of 64 open connections/);
});

test('IPv6 connections are counted too (per /64): over ::1, the third of a limit of 2 is refused', async (t) => {
  const v6 = createRelay({ maxConnectionsPerClient: 2 });
  let url: URL;
  try {
    url = await v6.listen(0, '::1');
  } catch {
    t.skip('no IPv6 loopback here');
    return;
  }
  t.after(() => v6.close({ graceMs: 0 }));
  const port = Number(url.port);
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  for (let i = 0; i < 3; i++) {
    const socket = net.connect({ host: '::1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    sockets.push(socket);
  }
  const [first, , third] = sockets;
  assert.ok(first !== undefined && third !== undefined);
  const result = await watch(third).result(1_000);
  assert.ok(result.closed, 'the third connection from ::1/64 was refused');
  assert.equal(result.status, 429);
  assert.ok(!first.destroyed, 'the first two stay');
});

test('a full relay gives a newcomer the place of the busiest address’s oldest waiting pipe', async (t) => {
  const running = await startRelay(t, { maxPipes: 4, maxPipesPerClient: 4 });
  const busy = [0, 1, 2, 3].map(() => hold(running.pipeUrl(uniqueName('busy')), { localAddress: '127.0.0.2' }));
  t.after(() => busy.forEach((each) => each.req.destroy()));
  await waitFor(() => running.relay.stats().waiting === 4, 'four waiting pipes from one address');
  // The relay is full; a newcomer from another address still gets in: the oldest of the four gives way.
  const name = uniqueName('newcomer');
  const newcomer = hold(running.pipeUrl(name), { localAddress: '127.0.0.3' });
  const evicted = await busy[0]?.reply;
  assert.equal(evicted?.status, 503);
  assert.match(evicted?.body.toString() ?? '', /^\[ERROR\] the relay is full, and your address holds the most pipes/);
  assert.match(evicted?.headers['retry-after'] ?? '', /^[1-9]/);
  await waitFor(() => running.relay.stats().waiting === 4, 'the newcomer to wait in its place');
  assert.equal((await fetchReply(running.pipeUrl(name), { method: 'PUT', body: 'in', localAddress: '127.0.0.3' })).status, 200);
  assert.equal((await newcomer.reply).body.toString(), 'in');
  // Full again (three of the busy address, one from a third): the busy address, holding the most,
  // cannot take another's place, and is refused.
  await waitFor(() => running.relay.stats().waiting === 3, 'the three remaining');
  const filler = hold(running.pipeUrl(uniqueName('filler')), { localAddress: '127.0.0.4' });
  t.after(() => filler.req.destroy());
  await waitFor(() => running.relay.stats().waiting === 4, 'the relay full again');
  const again = await fetchReply(running.pipeUrl(uniqueName('again')), { localAddress: '127.0.0.2' });
  assert.equal(again.status, 503, 'the address holding the most gets no more');
  assert.match(again.body.toString(), /holds its limit of 4 pipes/);
  assert.equal(running.log.filter((line) => line.endsWith('outcome=evicted')).length, 1);
});

test('--trust-proxy: a trusted proxy’s X-Forwarded-For is the client; anyone else’s is ignored', async (t) => {
  const running = await startRelay(t, { trustProxy: ['127.0.0.1'], maxPipesPerClient: 2, holdMs: 20_000 });
  const port = Number(running.url.port);
  const waitingGet = (from: string, forwarded?: string): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        socket.write(
          `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: relay\r\n${forwarded === undefined ? '' : `X-Forwarded-For: ${forwarded}\r\n`}\r\n`,
        );
        resolve(socket);
      });
      socket.once('error', reject);
    });
  const statusOf = async (from: string, forwarded?: string): Promise<number | undefined> =>
    (
      await rawRequest(
        port,
        `GET /api/v1/pipe/${uniqueName()} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n${forwarded === undefined ? '' : `X-Forwarded-For: ${forwarded}\r\n`}\r\n`,
        { localAddress: from, waitMs: 300 },
      )
    ).status;
  const held: net.Socket[] = [];
  t.after(() => held.forEach((socket) => socket.destroy()));

  // Through the proxy: two clients, each with its own cap of 2.
  held.push(await waitingGet('127.0.0.1', '203.0.113.7'), await waitingGet('127.0.0.1', '203.0.113.7'));
  held.push(await waitingGet('127.0.0.1', '198.51.100.4'));
  await waitFor(() => running.relay.stats().waiting === 3, 'three receivers through the proxy');
  assert.equal(await statusOf('127.0.0.1', '203.0.113.7'), 429, 'the forwarded client holds its limit');
  assert.equal(await statusOf('127.0.0.1', '192.0.2.1, 203.0.113.7'), 429, 'what the client wrote in front of the proxy’s entry changes nothing');
  assert.equal(await statusOf('127.0.0.1', '198.51.100.4'), undefined, 'another forwarded client is still held, not refused');

  // IPv6 clients behind the proxy count per /64.
  await waitFor(() => running.relay.stats().waiting === 3, 'the held-and-dropped one to leave');
  held.push(await waitingGet('127.0.0.1', '2001:db8:1:2::a'), await waitingGet('127.0.0.1', '2001:db8:1:2:ffff::b'));
  await waitFor(() => running.relay.stats().waiting === 5, 'two IPv6 receivers of one /64');
  assert.equal(await statusOf('127.0.0.1', '2001:db8:1:2::c'), 429, 'a third address of the same /64 is the same client');
  assert.equal(await statusOf('127.0.0.1', '2001:db8:1:3::a'), undefined, 'the next /64 is another client');

  // Not from a trusted proxy: the header is ignored; the address is the client, whatever it claims.
  await waitFor(() => running.relay.stats().waiting === 5, 'the held-and-dropped one to leave');
  held.push(await waitingGet('127.0.0.2', '10.9.9.1'), await waitingGet('127.0.0.2', '10.9.9.2'));
  await waitFor(() => running.relay.stats().waiting === 7, 'two receivers from 127.0.0.2');
  assert.equal(await statusOf('127.0.0.2', '10.9.9.3'), 429, 'a spoofed X-Forwarded-For from an untrusted address is ignored');
  assert.equal(await statusOf('127.0.0.2'), 429);
});

test('--trust-proxy: connections from the proxy are not capped as one client', async (t) => {
  const running = await startRelay(t, { trustProxy: ['127.0.0.1'], maxConnectionsPerClient: 2 });
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  for (let i = 0; i < 6; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: Number(running.url.port), localAddress: '127.0.0.1' });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    sockets.push(socket);
  }
  await sleep(100);
  assert.ok(sockets.every((socket) => !socket.destroyed), 'six connections from the proxy stay open');
  const direct = await rawRequest(Number(running.url.port), 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', { localAddress: '127.0.0.2' });
  assert.equal(direct.status, 200);
});
