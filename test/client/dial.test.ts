/**
 * The client's dials against every relay dialect a user meets (our relay, piping-server, the hosted
 * pipe's contract), on real sockets: when a sender may start, what busy, nobody-came and a listener
 * leaving look like, and a relay that answers nothing or points elsewhere.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import test from 'node:test';
import { dialDownload, dialUpload, PipeError, type PipeErrorKind } from '../../src/client/index.js';
import { DIALECTS, startTestRelay } from '../helpers/relays.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

async function rejection(promise: Promise<unknown>): Promise<PipeError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PipeError, `expected a PipeError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the dial to fail');
}

function kindOf(error: PipeError): PipeErrorKind {
  return error.kind;
}

for (const dialect of DIALECTS) {
  test(`${dialect}: a sender alone is not told to go (and sends nothing) until its receiver is there; then the bytes flow`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true });
    const name = uniqueName();
    const url = new URL(relay.pipeUrl(name));
    let go = false;
    const uploading = dialUpload(url, name).then((upload) => {
      go = true;
      return upload;
    });
    await sleep(1_500);
    assert.equal(go, false, 'told to go with nobody there');
    const downloading = dialDownload(url, name);
    const upload = await uploading;
    // piping-server sends the receiver's headers with the first byte: write before waiting for them.
    upload.stream.write(Buffer.from('live '));
    const download = await downloading;
    const received: Buffer[] = [];
    download.stream.on('data', (chunk: Buffer) => received.push(chunk));
    upload.stream.end(Buffer.from('from the start'));
    await once(download.stream, 'end');
    assert.equal(Buffer.concat(received).toString(), 'live from the start');
  });

  test(`${dialect}: a receiver alone waits; the sender arriving later goes at once`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true });
    const name = uniqueName();
    const url = new URL(relay.pipeUrl(name));
    const downloading = dialDownload(url, name);
    await sleep(300);
    const started = Date.now();
    const upload = await dialUpload(url, name);
    assert.ok(Date.now() - started < 900, `the go-ahead took ${Date.now() - started} ms`);
    upload.stream.write(Buffer.from('x'));
    const download = await downloading;
    await once(download.stream, 'data');
    upload.stream.destroy();
    download.stream.destroy();
  });

  test(`${dialect}: a second sender and a second receiver are told "busy"`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true });
    const name = uniqueName();
    const url = new URL(relay.pipeUrl(name));
    const controller = new AbortController();
    t.after(() => controller.abort());
    const first = dialUpload(url, name, { signal: controller.signal });
    first.catch(() => undefined);
    await sleep(200);
    assert.equal(kindOf(await rejection(dialUpload(url, name))), 'busy');
    const receiver = dialDownload(url, name, { signal: controller.signal });
    const upload = await first;
    upload.stream.write(Buffer.from('x'));
    const download = await receiver;
    const busy = await rejection(dialDownload(url, name));
    assert.equal(busy.kind, 'busy', busy.message);
    assert.match(busy.message, new RegExp(`^the pipe ${name} is busy`));
    upload.stream.destroy();
    download.stream.destroy();
  });

  test(`${dialect}: nobody came within ?wait: "nobody-came", also where the relay holds forever`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true, holdSeconds: 1 });
    const started = Date.now();
    const error = await rejection(dialDownload(new URL(relay.pipeUrl(uniqueName())), 'x', { waitSeconds: 1 }));
    assert.equal(error.kind, 'nobody-came', error.message);
    assert.ok(Date.now() - started < 3_500, `${Date.now() - started} ms`);
    const sender = await rejection(dialUpload(new URL(relay.pipeUrl(uniqueName())), 'y', { waitSeconds: 1 }));
    assert.equal(sender.kind, 'nobody-came', sender.message);
  });

  test(`${dialect}: the receiver leaving is said to the sender (receiversLeft), so talk can tell a hang-up from a drop`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true });
    const name = uniqueName();
    const url = new URL(relay.pipeUrl(name));
    const downloading = dialDownload(url, name);
    const upload = await dialUpload(url, name);
    const pump = setInterval(() => upload.stream.write(Buffer.alloc(100)), 20);
    t.after(() => clearInterval(pump));
    const download = await downloading;
    await once(download.stream, 'data');
    download.stream.destroy();
    await waitFor(() => upload.status.receiversLeft, 'the relay saying the receiver left', 5_000);
    clearInterval(pump);
    upload.stream.destroy();
  });
}

test('a relay that takes the connection and answers nothing: "silent", in the probe\'s time, not the hold\'s', async (t) => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => sockets.add(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const { port } = server.address() as net.AddressInfo;
  const started = Date.now();
  const error = await rejection(dialDownload(new URL(`http://127.0.0.1:${port}/api/v1/pipe/x`), 'x', { timing: { silentProbeAfterMs: 200, probeTimeoutMs: 500 } }));
  assert.equal(error.kind, 'silent', error.message);
  assert.match(error.message, /took the connection but has answered nothing/);
  assert.ok(Date.now() - started < 2_000, `${Date.now() - started} ms`);
});

test('a redirect is never followed (the name would go to another host): "redirected", with where it points', async (t) => {
  let elsewhere = 0;
  const target = http.createServer((_req, res) => {
    elsewhere += 1;
    res.end();
  });
  const redirecting = net.createServer((socket) => {
    socket.once('data', () => {
      const location = `http://127.0.0.1:${(target.address() as net.AddressInfo).port}/api/v1/pipe/x`;
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    socket.on('error', () => undefined);
  });
  for (const server of [target, redirecting]) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
  }
  const url = new URL(`http://127.0.0.1:${(redirecting.address() as net.AddressInfo).port}/api/v1/pipe/x`);
  for (const dial of [dialDownload(url, 'x'), dialUpload(url, 'x')]) {
    const error = await rejection(dial);
    assert.equal(error.kind, 'redirected');
    assert.match(error.message, /redirects \(HTTP 302\) to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/pipe\/x;/);
  }
  assert.equal(elsewhere, 0, 'followed the redirect');
});
