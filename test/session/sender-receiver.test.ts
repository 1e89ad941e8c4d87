/**
 * The session layer's two ends without ffmpeg: a PipeSender fed units from a stream and a
 * PipeReceiver reading them, through each relay dialect, ending each way a call can end.
 */
import assert from 'node:assert/strict';
import { PassThrough, type Readable } from 'node:stream';
import test from 'node:test';
import { PipeReceiver } from '../../src/session/receiver.js';
import { PipeSender, type Restreamer } from '../../src/session/sender.js';
import { startFreezingProxy } from '../helpers/freezing-proxy.js';
import { uniqueName, waitFor } from '../helpers/relay.js';
import { DIALECTS, startTestRelay } from '../helpers/relays.js';

/** Units are Buffers sent as they are; each connection starts over with a marker. */
const plain: Restreamer<Buffer> = { restart: () => undefined, bytesOf: (unit) => unit };

/** Writes a 100-byte unit every 20 ms (a talker's pace) until stopped. */
function pacedSource(): { source: PassThrough; stop(): void } {
  const source = new PassThrough({ objectMode: true });
  const timer = setInterval(() => source.write(Buffer.alloc(100, 7)), 20);
  return { source, stop: () => (clearInterval(timer), source.end()) };
}

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

for (const dialect of DIALECTS) {
  test(`${dialect}: the source ends → the sender finishes and the receiver sees a clean end (the talker hung up)`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true });
    const name = uniqueName();
    const url = new URL(relay.pipeUrl(name));
    const hangUp = new AbortController();
    const receiver = new PipeReceiver({ url, name, signal: hangUp.signal, reconnect: false });
    let received = 0;
    const receiving = receiver.run(async (stream) => {
      received = await drain(stream);
    });
    const sender = new PipeSender<Buffer>({ url, name, contentType: 'audio/ogg', signal: hangUp.signal, reconnect: false });
    await sender.dial();
    const { source, stop } = pacedSource();
    const sending = sender.stream(source, plain);
    await waitFor(() => receiver.bytesReceived >= 1_000, 'bytes through', 5_000);
    stop();
    assert.deepEqual(await sending, { kind: 'finished' });
    assert.deepEqual(await receiving, { kind: 'finished' });
    assert.equal(received, sender.bytesSent);
  });

  test(`${dialect}: the receiver hangs up → the sender ends as listener-left, even with reconnect on`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true });
    const name = uniqueName();
    const url = new URL(relay.pipeUrl(name));
    const listening = new AbortController();
    const receiver = new PipeReceiver({ url, name, signal: listening.signal, reconnect: true });
    const receiving = receiver.run((stream) => drain(stream).then(() => undefined));
    const sender = new PipeSender<Buffer>({ url, name, contentType: 'audio/ogg', signal: new AbortController().signal, reconnect: true });
    await sender.dial();
    const { source, stop } = pacedSource();
    t.after(stop);
    const sending = sender.stream(source, plain);
    await waitFor(() => receiver.bytesReceived >= 1_000, 'bytes through', 5_000);
    listening.abort();
    assert.deepEqual(await receiving, { kind: 'hung-up' });
    assert.deepEqual(await sending, { kind: 'listener-left' });
  });

  test(`${dialect}: the sender's connection is cut → without reconnect both ends say "lost", with the reason`, async (t) => {
    const relay = await startTestRelay(t, dialect, { inProcess: true });
    const proxy = await startFreezingProxy(t, Number(relay.url.port));
    const name = uniqueName();
    const signal = new AbortController().signal;
    const receiver = new PipeReceiver({ url: new URL(relay.pipeUrl(name)), name, signal, reconnect: false });
    const receiving = receiver.run((stream) => drain(stream).then(() => undefined));
    const sender = new PipeSender<Buffer>({ url: new URL(`http://127.0.0.1:${proxy.port}/api/v1/pipe/${name}`), name, contentType: 'audio/ogg', signal, reconnect: false });
    await sender.dial();
    const { source, stop } = pacedSource();
    t.after(stop);
    const sending = sender.stream(source, plain);
    await waitFor(() => receiver.bytesReceived >= 1_000, 'bytes through', 5_000);
    proxy.cut();
    const [sent, heard] = await Promise.all([sending, receiving]);
    assert.equal(sent.kind, 'lost');
    assert.equal(heard.kind, 'lost');
    assert.match(sent.kind === 'lost' ? sent.error.message : '', /the connection dropped/);
    assert.match(heard.kind === 'lost' ? heard.error.message : '', /the stream was cut/);
  });
}
