/**
 * A caller that comes back (same Hoodycall-Session id) replaces the connection the relay still holds
 * for it: after a link drops without a FIN, that connection looks alive until TCP gives up. Raw
 * sockets, so the old connection can be left exactly as a dead link leaves it: open, silent.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { connectRaw, rawRequest, watch, type WatchedSocket } from '../helpers/raw.js';
import { startRelay, uniqueName, waitFor } from '../helpers/relay.js';

const SESSION = 'Vh3c9bQ2xLk7PzR1mN8wTg';
const OTHER = 'Qa0ZlU6eYt4Rw2Ps9Dn7Kc';

async function open(port: number, head: string): Promise<WatchedSocket> {
  const watched = watch(await connectRaw(port));
  watched.socket.write(Buffer.from(head, 'latin1'));
  return watched;
}

const get = (name: string, session?: string): string =>
  `GET /api/v1/pipe/${name} HTTP/1.1\r\nHost: relay\r\n${session === undefined ? '' : `Hoodycall-Session: ${session}\r\n`}\r\n`;
const streamingPut = (name: string, session?: string): string =>
  `PUT /api/v1/pipe/${name} HTTP/1.1\r\nHost: relay\r\nContent-Type: audio/ogg\r\nTransfer-Encoding: chunked\r\n${session === undefined ? '' : `Hoodycall-Session: ${session}\r\n`}\r\n`;
const chunk = (text: string): string => `${text.length.toString(16)}\r\n${text}\r\n`;
const wholePut = (name: string, body: string): string =>
  `PUT /api/v1/pipe/${name} HTTP/1.1\r\nHost: relay\r\nContent-Type: audio/ogg\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;

test('a waiting receiver is replaced by its own caller; anyone else still finds the pipe busy', async (t) => {
  const { url, log, relay } = await startRelay(t);
  const port = Number(url.port);
  const name = uniqueName();
  const old = await open(port, get(name, SESSION));
  await waitFor(() => relay.stats().waiting === 1, 'the receiver waiting');
  for (const session of [OTHER, undefined, 'short']) {
    const stranger = await rawRequest(port, get(name, session).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    assert.equal(stranger.status, 409, `session ${session}`);
  }
  const fresh = await open(port, get(name, SESSION));
  const dropped = await old.result(2_000);
  assert.ok(dropped.closed, 'the relay closed the old connection');
  assert.equal(dropped.text, '', 'the old connection got nothing');
  const sender = await rawRequest(port, wholePut(name, 'hello'), { waitMs: 3_000 });
  assert.equal(sender.status, 200, sender.text);
  const heard = await fresh.result(2_000);
  assert.match(heard.text, /^HTTP\/1\.1 200 /);
  assert.ok(heard.text.endsWith('hello'), heard.text);
  await waitFor(() => log.some((line) => line.includes('outcome=replaced')), 'the replaced end in the log');
});

test('a streaming pipe whose receiver comes back ends for both sides, and the new receiver waits for a new sender', async (t) => {
  const { url, log } = await startRelay(t);
  const port = Number(url.port);
  const name = uniqueName();
  const receiver = await open(port, get(name, SESSION));
  const sender = await open(port, streamingPut(name) + chunk('first'));
  await waitFor(() => receiver.text().includes('first'), 'the first chunk at the receiver');
  // The receiver's link is dead now: it reads nothing more and never closes. Its caller dials again.
  receiver.socket.pause();
  const back = await open(port, get(name, SESSION));
  const [oldReceiver, oldSender] = await Promise.all([receiver.result(2_000), sender.result(2_000)]);
  assert.ok(oldReceiver.closed && oldSender.closed, 'both connections of the old pipe are closed');
  assert.doesNotMatch(oldSender.text, /\[INFO\] done/, 'the sender is not told the pipe finished');
  const next = await rawRequest(port, wholePut(name, 'second'), { waitMs: 3_000 });
  assert.equal(next.status, 200, next.text);
  const heard = await back.result(2_000);
  assert.ok(heard.text.includes('second'), heard.text);
  assert.ok(log.some((line) => line.includes('outcome=replaced')));
});

test('a sender that comes back replaces itself, waiting or streaming; its receiver gets a cut body and dials again', async (t) => {
  const { url, relay } = await startRelay(t);
  const port = Number(url.port);

  const waitingName = uniqueName();
  const waiting = await open(port, streamingPut(waitingName, SESSION));
  await waitFor(() => relay.stats().waiting === 1, 'the sender waiting');
  const busy = await rawRequest(port, streamingPut(waitingName, OTHER).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
  assert.equal(busy.status, 409);
  const again = await open(port, streamingPut(waitingName, SESSION) + chunk('after') + '0\r\n\r\n');
  assert.ok((await waiting.result(2_000)).closed);
  const got = await rawRequest(port, get(waitingName).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'), { waitMs: 3_000 });
  assert.ok(got.text.includes('after'), got.text);
  assert.match((await again.result(2_000)).text, /\[INFO\] done, 5 bytes/);

  const name = uniqueName();
  const receiver = await open(port, get(name));
  const sender = await open(port, streamingPut(name, SESSION) + chunk('one'));
  await waitFor(() => receiver.text().includes('one'), 'the first chunk at the receiver');
  sender.socket.pause();
  const back = await open(port, streamingPut(name, SESSION) + chunk('two') + '0\r\n\r\n');
  const [oldSender, oldReceiver] = await Promise.all([sender.result(2_000), receiver.result(2_000)]);
  assert.ok(oldSender.closed && oldReceiver.closed);
  assert.ok(!oldReceiver.text.endsWith('0\r\n\r\n'), 'the receiver sees a cut body, not a clean end');
  const heard = await rawRequest(port, get(name).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'), { waitMs: 3_000 });
  assert.ok(heard.text.includes('two'), heard.text);
  await back.result(1_000);
});

test('a streaming sender with a session id hears from the relay every 2 s; one without (curl) gets only the usual lines', async (t) => {
  // Heartbeats ride the relay's once-a-second sweep (a setInterval): its clock is mocked, so the test
  // steps through sweeps instead of sleeping through them. Sockets and everything else stay real.
  t.mock.timers.enable({ apis: ['setInterval'] });
  const { url } = await startRelay(t);
  const port = Number(url.port);
  for (const session of [SESSION, undefined]) {
    const name = uniqueName();
    const receiver = await open(port, get(name));
    const sender = await open(port, streamingPut(name, session) + chunk('audio'));
    await waitFor(() => receiver.text().includes('audio'), 'the chunk at the receiver');
    const beats = (): number => (sender.text().match(/\[INFO\] 5 bytes so far\n/g) ?? []).length;
    if (session !== undefined) {
      assert.match(sender.text(), /\r\nhoodycall-heartbeat-ms: 2000\r\n/i);
      t.mock.timers.tick(1_000);
      t.mock.timers.tick(1_000);
      await waitFor(() => beats() === 1, 'the first heartbeat, at the second sweep');
      t.mock.timers.tick(1_000);
      t.mock.timers.tick(1_000);
      await waitFor(() => beats() === 2, 'the second heartbeat, two sweeps later');
    } else {
      for (let sweep = 0; sweep < 4; sweep++) t.mock.timers.tick(1_000);
    }
    sender.socket.end('0\r\n\r\n');
    await waitFor(() => sender.text().includes('[INFO] done, 5 bytes'), "the sender's last line");
    await waitFor(() => receiver.text().endsWith('0\r\n\r\n'), "the receiver's clean end");
    const text = sender.text();
    if (session === undefined) {
      assert.doesNotMatch(text, /hoodycall-heartbeat-ms/i);
      assert.doesNotMatch(text, /so far/);
    } else {
      assert.equal(beats(), 2, `one heartbeat every second sweep: ${JSON.stringify(text)}`);
    }
    sender.socket.destroy();
    receiver.socket.destroy();
  }
});
