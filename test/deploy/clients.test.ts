/**
 * Per-client limits behind the shipped proxies count people, not the proxy: the relays run as the
 * shipped unit runs them (`--trust-proxy 127.0.0.1/32`), every connection reaches them from the proxy,
 * and the client is the address the proxy appended to X-Forwarded-For. Clients bind their own loopback
 * address (127.0.0.x) to look like different people.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { fetchReply, open, responseOf, readReply } from '../helpers/http.js';
import { PROXIES, startCluster, type Cluster } from '../helpers/proxy-cluster.js';

const PER_CLIENT = 2;
const CROWDER = '127.0.0.7';
const STRANGER = '127.0.0.8';

/** Waiting receivers from `localAddress` on relay 0, once the relay counts them. */
async function holdReceivers(t: test.TestContext, cluster: Cluster, localAddress: string, count: number): Promise<void> {
  const relay = cluster.relays[0];
  assert.ok(relay !== undefined);
  const waiting = await relay.metric('hoodycall_pipes{state="waiting"}');
  const held: http.ClientRequest[] = [];
  t.after(() => {
    for (const req of held) req.destroy();
  });
  for (let i = 0; i < count; i++) {
    const req = open(cluster.pipeUrl(await cluster.nameOn(0, 'held')), { localAddress });
    req.on('error', () => undefined);
    req.end();
    held.push(req);
  }
  const deadline = Date.now() + 10_000;
  while ((await relay.metric('hoodycall_pipes{state="waiting"}')) < waiting + count) {
    if (Date.now() > deadline) throw new Error(`relay 0 did not hold ${count} waiting receivers within 10 s`);
  }
}

for (const proxy of PROXIES) {
  test(`${proxy}: --max-pipes-per-client counts the client the proxy names, not the proxy; a made-up X-Forwarded-For changes nothing`, async (t) => {
    const cluster = await startCluster(t, proxy, { relayArgs: ['--max-pipes-per-client', String(PER_CLIENT)] });
    if (cluster === undefined) return;
    await holdReceivers(t, cluster, CROWDER, PER_CLIENT);

    const name = await cluster.nameOn(0, 'over');
    const over = await fetchReply(cluster.pipeUrl(name), { localAddress: CROWDER });
    assert.equal(over.status, 429, `the crowding client's third pipe end: ${over.body.toString()}`);
    assert.ok(over.headers['retry-after'] !== undefined, 'a 429 says when to retry');

    // What a client writes itself stays to the left of what the proxy appends: it is never believed.
    const forged = await fetchReply(cluster.pipeUrl(name), { localAddress: CROWDER, headers: { 'x-forwarded-for': '198.51.100.9', forwarded: 'for=198.51.100.9' } });
    assert.equal(forged.status, 429, 'a made-up X-Forwarded-For or Forwarded does not make a new client');

    // Someone else, through the same proxy to the same relay, is not affected.
    const body = randomBytes(50_000);
    const receiverReq = open(cluster.pipeUrl(name), { localAddress: STRANGER });
    receiverReq.end();
    const received = responseOf(receiverReq).then(readReply);
    const sent = await fetchReply(cluster.pipeUrl(name), { method: 'PUT', body, localAddress: STRANGER });
    assert.equal(sent.status, 200);
    const reply = await received;
    assert.equal(reply.status, 200);
    assert.ok(reply.complete && reply.body.equals(body), 'the other client streams intact');
  });
}
