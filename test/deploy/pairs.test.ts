/**
 * Pipes through the shipped nginx and HAProxy configs in front of three real relays: many pairs with
 * random names all intact and spread over every relay; the query never moves a pipe; both directions
 * stream page by page (no buffering); a vanished side and a leaving side travel through the proxy as
 * they do without it; the pages, /healthz and the TLS listener work, and /metrics is not public.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { abandon, fetchReply, open, readReply, responseOf, type Reply } from '../helpers/http.js';
import { startPacedStream } from '../helpers/paced-stream.js';
import { PROXIES, startCluster, type Cluster } from '../helpers/proxy-cluster.js';
import { sleep, waitFor } from '../helpers/relay.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const randomName = (): string => randomBytes(12).toString('base64url');
const DONE = 'hoodycall_pipes_ended_total{outcome="done"}';

/** One pair: receiver first, then a sender with `body`; both replies, or an error after `timeoutMs`. */
async function pair(receiverUrl: string, senderUrl: string, body: Buffer, options: { ca?: Buffer; timeoutMs?: number } = {}): Promise<{ received: Reply; sent: Reply }> {
  const ca = options.ca === undefined ? {} : { ca: options.ca };
  const receiverReq = open(receiverUrl, ca);
  receiverReq.end();
  const received = responseOf(receiverReq).then(readReply);
  const senderReq = open(senderUrl, { method: 'PUT', ...ca });
  senderReq.end(body);
  const sent = responseOf(senderReq).then(readReply);
  // What each side was told by then, for the failure message.
  const heard = { receiver: 'nothing', sender: 'nothing' };
  void received.then((reply) => (heard.receiver = `${reply.status} ${reply.body.subarray(0, 120).toString()}`), () => undefined);
  void sent.then((reply) => (heard.sender = `${reply.status} ${reply.body.subarray(0, 120).toString()}`), () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandon(receiverReq);
      abandon(senderReq);
      reject(new Error(`the pair ${receiverUrl} / ${senderUrl} did not meet within ${options.timeoutMs ?? 10_000} ms (receiver: ${heard.receiver}; sender: ${heard.sender})`));
    }, options.timeoutMs ?? 10_000);
  });
  try {
    const [r, s] = await Promise.race([Promise.all([received, sent]), timeout]);
    return { received: r, sent: s };
  } finally {
    clearTimeout(timer);
  }
}

async function donePerRelay(cluster: Cluster): Promise<number[]> {
  return Promise.all(cluster.relays.map((relay) => relay.metric(DONE)));
}

async function manyPairs(t: TestContext, cluster: Cluster): Promise<void> {
  const pairs = 300;
  const inFlight = 50;
  const before = await donePerRelay(cluster);
  let next = 0;
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    while (next < pairs) {
      next += 1;
      const name = randomName();
      const body = randomBytes(randomInt(1, 256 * 1024));
      const { received, sent } = await pair(cluster.pipeUrl(name), cluster.pipeUrl(name), body);
      if (received.status !== 200 || !received.complete || sha256(received.body) !== sha256(body) || sent.status !== 200) {
        failures.push(`${name}: receiver ${received.status} complete=${received.complete} ${received.body.length}/${body.length} bytes, sender ${sent.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  assert.deepEqual(failures, [], failures.slice(0, 5).join('\n'));
  const after = await donePerRelay(cluster);
  const spread = after.map((count, i) => count - (before[i] ?? 0));
  t.diagnostic(`${cluster.proxy}: ${pairs} pairs spread ${spread.join('/')} over the three relays`);
  assert.equal(spread.reduce((a, b) => a + b, 0), pairs, 'every pair completed on some relay');
  for (const [i, count] of spread.entries()) assert.ok(count >= pairs / 10, `relay ${i} carried ${count} of ${pairs} pairs`);
}

async function queryNeverMoves(cluster: Cluster): Promise<void> {
  // If the proxy hashed the query too, about two thirds of these would wait on different relays.
  for (let i = 0; i < 24; i++) {
    const name = randomName();
    const body = randomBytes(1000);
    const [receiverUrl, senderUrl] = i % 2 === 0 ? [cluster.pipeUrl(name, 'n=1&wait=60'), cluster.pipeUrl(name)] : [cluster.pipeUrl(name), cluster.pipeUrl(name, `wait=${i}&n=1`)];
    const { received } = await pair(receiverUrl, senderUrl, body, { timeoutMs: 5_000 });
    assert.equal(received.status, 200);
    assert.equal(sha256(received.body), sha256(body));
  }
}

async function streamsPageByPage(t: TestContext, cluster: Cluster): Promise<void> {
  const stream = await startPacedStream(cluster.pipeUrl(randomName()));
  await waitFor(() => stream.received() >= 50, '50 pages through the proxy', 5_000);
  const end = await stream.stop();
  assert.equal(end.problem, undefined);
  assert.ok(end.complete, 'both sides ended cleanly');
  assert.equal(end.received, end.sent);
  const sorted = [...end.latenciesMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Infinity;
  t.diagnostic(`${cluster.proxy}: 100-byte pages every 20 ms, write to arrival median ${median.toFixed(2)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`);
  // A buffering proxy holds pages for hundreds of ms (HAProxy without http-no-delay: ~300 ms each).
  assert.ok(median < 20, `median ${median} ms`);
}

async function abortsTravel(cluster: Cluster): Promise<void> {
  // The sender vanishes mid-stream: the receiver's body ends incomplete, never as a clean end.
  {
    const url = cluster.pipeUrl(randomName());
    const receiverReq = open(url);
    receiverReq.end();
    const sender = open(url, { method: 'PUT' });
    sender.on('error', () => undefined);
    sender.write(randomBytes(1000));
    const res = await responseOf(receiverReq);
    assert.equal(res.statusCode, 200);
    const ended = new Promise<boolean>((resolve) => {
      let complete = false;
      res.on('end', () => (complete = res.complete));
      res.on('error', () => undefined);
      res.on('close', () => resolve(complete));
    });
    await new Promise((resolve) => res.once('data', resolve));
    sender.destroy();
    assert.equal(await ended, false, 'a vanished sender shows as an incomplete body');
  }
  // The receiver leaves mid-stream: the sender is torn down at once and told why.
  {
    const url = cluster.pipeUrl(randomName());
    const receiverReq = open(url);
    receiverReq.end();
    const sender = open(url, { method: 'PUT' });
    sender.on('error', () => undefined);
    sender.write(randomBytes(1000));
    // Listened for before anything is awaited: the sender's answer may come before the receiver's.
    const senderReply = responseOf(sender).then(readReply);
    const res = await responseOf(receiverReq);
    await new Promise((resolve) => res.once('data', resolve));
    const leftAt = Date.now();
    abandon(receiverReq);
    const reply = await senderReply;
    assert.ok(Date.now() - leftAt < 2_000, `the sender was ended ${Date.now() - leftAt} ms after the receiver left`);
    assert.match(reply.body.toString(), /\[ERROR\] the receiver left after \d+ bytes\n$/);
  }
  // A waiting receiver that leaves frees its name at once: the proxy passes its leaving on.
  {
    const name = randomName();
    const relay = cluster.relays[await cluster.homeOf(name)];
    assert.ok(relay !== undefined);
    const waiter = open(cluster.pipeUrl(name));
    waiter.on('error', () => undefined);
    waiter.end();
    assert.equal(await relay.metric('hoodycall_pipes{state="waiting"}'), 1, 'the receiver waits at its home relay');
    abandon(waiter);
    assert.equal(await relay.metric('hoodycall_pipes{state="waiting"}'), 0, 'a second after it left, its name is free');
  }
}

/**
 * A sender that sent more than its pipe's buffer before its receiver came is held back; the relay
 * probes held senders with an interim 100 Continue once a second, which nginx turns into a response of
 * its own with Connection: close (a Node client then failed: "Data after Connection: close"). Behind a
 * trusted proxy the relay does not probe: held 2.5 s (two probe periods), both sides get everything.
 */
async function heldSenderThroughProxy(cluster: Cluster): Promise<void> {
  const url = cluster.pipeUrl(randomName());
  const body = randomBytes(600 * 1024);
  const senderReq = open(url, { method: 'PUT' });
  const sent = responseOf(senderReq).then(readReply);
  senderReq.end(body);
  await sleep(2_500);
  const received = await fetchReply(url);
  assert.equal(received.status, 200);
  assert.ok(received.complete && received.body.equals(body), `the receiver got ${received.body.length} of ${body.length} bytes`);
  const reply = await sent;
  assert.equal(reply.status, 200);
  assert.match(reply.body.toString(), /\[INFO\] done, 614400 bytes\n$/);
}

async function pagesAndTls(cluster: Cluster): Promise<void> {
  const help = await fetchReply(`${cluster.origin}/`);
  assert.equal(help.status, 200);
  // The relay sees the Host the client sent (port included): its help names the proxy, not itself.
  assert.ok(help.body.toString().includes(`${cluster.origin}/api/v1/pipe/NAME`), help.body.toString().slice(0, 300));
  const health = await fetchReply(`${cluster.origin}/healthz`);
  assert.deepEqual([health.status, health.body.toString()], [200, 'ok\n']);
  const metrics = await fetchReply(`${cluster.origin}/metrics`);
  assert.equal(metrics.status, 404, '/metrics is not public');
  assert.doesNotMatch(metrics.body.toString(), /hoodycall_/);
  assert.match((await cluster.relays[0]?.metrics()) ?? '', /^hoodycall_pipes\{state="waiting"\} \d+$/m, 'each relay still serves it directly, with its token');

  const tlsHealth = await fetchReply(`${cluster.tlsOrigin}/healthz`, { ca: cluster.ca });
  assert.equal(tlsHealth.status, 200);
  // One side over TLS, the other over plain HTTP: the same path, so the same relay.
  const name = randomName();
  const body = randomBytes(100_000);
  const receiverReq = open(`${cluster.tlsOrigin}/api/v1/pipe/${name}`, { ca: cluster.ca });
  receiverReq.end();
  const received = responseOf(receiverReq).then(readReply);
  await sleep(100);
  const sent = await fetchReply(cluster.pipeUrl(name), { method: 'PUT', body });
  assert.equal(sent.status, 200);
  const reply = await received;
  assert.equal(reply.status, 200);
  assert.equal(sha256(reply.body), sha256(body));
}

for (const proxy of PROXIES) {
  test(`${proxy}: 300 pairs intact and spread over three relays; query-blind routing; live streaming; aborts; pages, TLS, no public /metrics`, async (t) => {
    // All clients here share one address, and so does the proxy: the per-client cap is not the subject.
    const cluster = await startCluster(t, proxy, { relayArgs: ['--max-pipes-per-client', '1000'] });
    if (cluster === undefined) return;
    await t.test('300 pairs with random names, all intact, spread over all three relays', (t) => manyPairs(t, cluster));
    await t.test('?n= and ?wait= never move a pipe to another relay', () => queryNeverMoves(cluster));
    await t.test('100-byte pages every 20 ms arrive one by one (nothing buffered either way)', (t) => streamsPageByPage(t, cluster));
    await t.test('a vanished sender, a leaving receiver and a leaving waiter travel through the proxy', () => abortsTravel(cluster));
    await t.test('a sender held back before its receiver came is served intact (no interim 100 through the proxy)', () => heldSenderThroughProxy(cluster));
    await t.test('the page, /healthz and TLS work; /metrics is not public', () => pagesAndTls(cluster));
  });
}
