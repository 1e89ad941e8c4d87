/**
 * The relay over HTTPS, with a self-signed certificate made by openssl for this run: transfers with
 * Node and curl, an aborted sender, and the timers that bound clients that never finish a handshake
 * or a request head.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { curl, open, readReply, responseOf } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';
import { connectRaw, watch } from '../helpers/raw.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const text = (data: Uint8Array): string => Buffer.from(data).toString();

/** The TLS handshake timeout Node keeps on a tls.Server under a symbol of that description. */
function handshakeTimeoutOf(server: object): unknown {
  const symbol = Object.getOwnPropertySymbols(server).find((s) => s.description === 'handshake-timeout');
  return symbol === undefined ? undefined : (server as Record<symbol, unknown>)[symbol];
}

test('the relay over TLS', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hoodycall-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await execa('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile,
  ]);
  const cert = await readFile(certFile);
  const key = await readFile(keyFile);

  const running = await startRelay(t, { tls: { cert, key } });
  const port = Number(running.url.port);

  // A client that connects and never says hello. Watched from now, while the other checks run, because
  // only the handshake timeout (10 s) ends it.
  const silent = watch(await connectRaw(port));
  t.after(() => silent.socket.destroy());

  await t.test('listen() gives an https URL', () => {
    assert.equal(running.url.protocol, 'https:');
    assert.equal(running.url.hostname, '127.0.0.1');
  });

  await t.test('1 MiB through the pipe with node https arrives intact', async () => {
    const name = uniqueName('tls');
    const body = randomBytes(1024 * 1024);
    const receiverReq = open(running.pipeUrl(name), { ca: cert });
    receiverReq.end();
    const receiver = responseOf(receiverReq).then(readReply);
    await waitFor(() => running.relay.stats().waiting === 1, 'the receiver to wait');
    const senderReq = open(running.pipeUrl(name), {
      method: 'PUT',
      ca: cert,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
    });
    for (let offset = 0; offset < body.length; offset += 64 * 1024) senderReq.write(body.subarray(offset, offset + 64 * 1024));
    senderReq.end();
    const sender = await readReply(await responseOf(senderReq));
    const got = await receiver;
    assert.equal(got.status, 200);
    assert.ok(got.complete);
    assert.equal(got.body.length, body.length);
    assert.equal(sha256(got.body), sha256(body));
    assert.equal(sender.status, 200);
    assert.match(sender.body.toString(), /\[INFO\] done, 1048576 bytes\n$/);
  });

  await t.test('a curl pair with --cacert', async () => {
    const name = uniqueName('curl');
    const body = randomBytes(200_000);
    const receiver = curl(['--cacert', certFile, '--fail', running.pipeUrl(name)]);
    await waitFor(() => running.relay.stats().waiting === 1, 'the curl receiver to wait');
    const sender = await curl(['--cacert', certFile, '--fail', '-T', '-', running.pipeUrl(name)], { input: body });
    const got = await receiver;
    assert.equal(sender.exitCode, 0, sender.stderr);
    assert.match(text(sender.stdout), /\[INFO\] done, 200000 bytes/);
    assert.equal(got.exitCode, 0, got.stderr);
    assert.equal(sha256(Buffer.from(got.stdout)), sha256(body));
  });

  await t.test('a curl sender killed mid-stream: the curl receiver exits 18 (partial transfer)', async (t) => {
    const name = uniqueName('abort');
    const receiver = curl(['--cacert', certFile, running.pipeUrl(name)], { timeoutMs: 10_000 });
    await waitFor(() => running.relay.stats().waiting === 1, 'the curl receiver to wait');
    const sender = spawn('curl', ['--silent', '--cacert', certFile, '-T', '-', running.pipeUrl(name)], { stdio: ['pipe', 'ignore', 'ignore'] });
    t.after(() => sender.kill('SIGKILL'));
    sender.stdin.on('error', () => undefined);
    // A slow producer: 8 KiB every 50 ms.
    let written = 0;
    const producer = setInterval(() => {
      sender.stdin.write(randomBytes(8 * 1024));
      written += 8 * 1024;
    }, 50);
    t.after(() => clearInterval(producer));
    await waitFor(() => running.relay.stats().streaming === 1, 'the pipe to stream');
    await sleep(400);
    sender.kill('SIGKILL');
    clearInterval(producer);
    const got = await receiver;
    assert.equal(got.exitCode, 18, `receiver curl exited ${got.exitCode}: ${got.stderr}`);
    assert.ok(got.stdout.length > 0 && got.stdout.length <= written, `the receiver got ${got.stdout.length} of ${written} bytes`);
    await waitFor(() => running.relay.stats().streaming === 0, 'the pipe to end');
    assert.match(running.log.at(-1) ?? '', /outcome=sender-aborted$/);
  });

  await t.test('a slow request head is cut over TLS too', async (t) => {
    const slowRelay = await startRelay(t, { tls: { cert, key }, headersTimeoutMs: 1_000 });
    const socket = await connectRaw(Number(slowRelay.url.port), { ca: cert });
    const startedAt = Date.now();
    const watched = watch(socket, startedAt);
    socket.write('GET /api/v1/pipe/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const trickle = setInterval(() => {
      if (socket.writable) socket.write('a');
    }, 200);
    t.after(() => clearInterval(trickle));
    const result = await watched.result(4_000);
    clearInterval(trickle);
    assert.ok(result.closed, 'the slow TLS client was closed');
    assert.ok(result.status === undefined || result.status === 408, JSON.stringify(result.text.slice(0, 80)));
    const closedMs = result.closedMs ?? Infinity;
    assert.ok(closedMs >= 900 && closedMs <= 2_500, `closed after ${closedMs} ms`);
    assert.deepEqual(slowRelay.relay.stats(), { waiting: 0, streaming: 0 });
  });

  await t.test('a TCP connection that never starts the handshake is dropped after 10 s', async () => {
    assert.equal(handshakeTimeoutOf(running.relay.server), 10_000, 'handshakeTimeout on the server');
    const result = await silent.result(13_000);
    assert.ok(result.closed, 'the silent connection was closed by the server');
    assert.equal(result.text, '', 'nothing was sent to it');
    const closedMs = result.closedMs ?? Infinity;
    assert.ok(closedMs >= 9_500 && closedMs <= 12_000, `closed after ${closedMs} ms`);
  });
});
