import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fetchReply, open, responseOf } from '../helpers/http.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function openConnections(server: { getConnections(cb: (error: Error | null, count: number) => void): void }): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

test('1,000 simultaneous pairs of 64 KiB: every one intact, first bytes fast', async (t) => {
  const { pipeUrl, relay } = await startRelay(t, { maxPipesPerClient: 5_000, maxPipes: 5_000, maxConnectionsPerClient: 10_000 });
  const payload = randomBytes(64 * 1024);
  const expected = sha256(payload);
  const firstByteMs: number[] = [];
  const started = Date.now();
  const pairs = Array.from({ length: 1_000 }, async () => {
    const url = pipeUrl(uniqueName());
    const receiver = open(url);
    receiver.end();
    const sentAt = Date.now();
    const sending = fetchReply(url, { method: 'PUT', body: payload });
    const res = await responseOf(receiver);
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => {
      if (chunks.length === 0) firstByteMs.push(Date.now() - sentAt);
      chunks.push(chunk);
    });
    await once(res, 'end');
    assert.equal((await sending).status, 200);
    return sha256(Buffer.concat(chunks));
  });
  const digests = await Promise.all(pairs);
  const took = Date.now() - started;
  assert.equal(digests.filter((digest) => digest === expected).length, 1_000);
  assert.ok(took < 10_000, `1,000 pairs took ${took} ms`);
  firstByteMs.sort((a, b) => a - b);
  const p99 = firstByteMs[Math.floor(firstByteMs.length * 0.99)] ?? Infinity;
  // Every pair starts at once here, so this includes queueing behind the other 999.
  assert.ok(p99 < 2_000, `time to first byte p99 ${p99} ms`);
  assert.deepEqual(relay.stats(), { waiting: 0, streaming: 0 });
});

test('random aborts on both sides leave no pipe, no connection and no error behind', async (t) => {
  const { pipeUrl, relay, log } = await startRelay(t, { maxPipesPerClient: 5_000, maxConnectionsPerClient: 10_000 });
  let unexpected = 0;
  const countUnexpected = (): void => {
    unexpected += 1;
  };
  process.on('uncaughtException', countUnexpected);
  process.on('unhandledRejection', countUnexpected);
  t.after(() => {
    process.off('uncaughtException', countUnexpected);
    process.off('unhandledRejection', countUnexpected);
  });
  const block = randomBytes(16 * 1024);
  const rounds = Array.from({ length: 300 }, async (_, i) => {
    await sleep(i * 3);
    const url = pipeUrl(uniqueName());
    const receiver = open(url);
    receiver.on('error', () => undefined);
    receiver.end();
    const sender = open(url, { method: 'PUT' });
    sender.on('error', () => undefined);
    sender.flushHeaders();
    const fate = i % 10; // 0: sender dies, 1: receiver dies, 2: receiver leaves while waiting, else clean
    if (fate === 2) {
      await sleep(5);
      receiver.destroy();
      sender.destroy();
      return;
    }
    const res = await responseOf(receiver).catch(() => undefined);
    res?.on('error', () => undefined);
    res?.resume();
    const cutAt = Math.floor(Math.random() * 8);
    for (let chunk = 0; chunk < 8; chunk += 1) {
      if (chunk === cutAt && fate === 0) return void sender.destroy();
      if (chunk === cutAt && fate === 1) return void receiver.destroy();
      if (!sender.write(block)) await Promise.race([once(sender, 'drain'), sleep(200)]);
    }
    sender.end();
    if (res !== undefined) await once(res, 'close');
  });
  await Promise.all(rounds);
  await waitFor(() => relay.stats().waiting === 0 && relay.stats().streaming === 0, 'every pipe to end', 5_000);
  const deadline = Date.now() + 6_000;
  let connections = await openConnections(relay.server);
  // Clean pairs leave keep-alive sockets behind, which the client (agent: false) closes itself.
  while (connections > 0 && Date.now() < deadline) {
    await sleep(100);
    connections = await openConnections(relay.server);
  }
  assert.equal(connections, 0, 'connections left open');
  assert.equal(unexpected, 0, 'uncaught exceptions or unhandled rejections');
  const outcomes = new Set(log.map((line) => /outcome=(\S+)/.exec(line)?.[1]));
  for (const outcome of ['done', 'sender-aborted', 'receiver-left']) assert.ok(outcomes.has(outcome), `no ${outcome} in ${[...outcomes].join(',')}`);
});
