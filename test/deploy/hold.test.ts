/**
 * Either side may wait 90 s through the proxy before the other comes, past the 60 s that nginx's
 * defaults give a silent upstream (proxy_read_timeout) and a silent request body (client_body_timeout)
 * and the 50 s of Debian's stock haproxy.cfg: a receiver that comes first, and a sender that comes
 * first and, like `hoodycall talk`, sends nothing until its receiver is there. Both proxies at once,
 * so the wait is paid once; nothing here uses CPU while it waits.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readReply, responseOf } from '../helpers/http.js';
import { PROXIES, startCluster, type Cluster } from '../helpers/proxy-cluster.js';
import { sleep, uniqueName } from '../helpers/relay.js';

const HOLD_MS = 90_000;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A receiver that waits HOLD_MS, then a sender with a body: the receiver gets it intact. */
async function receiverWaits(cluster: Cluster): Promise<string> {
  const url = cluster.pipeUrl(uniqueName('held-receiver'));
  const body = randomBytes(100_000);
  const receiverReq = open(url);
  receiverReq.end();
  const received = responseOf(receiverReq).then(readReply);
  received.catch(() => undefined);
  await sleep(HOLD_MS);
  const senderReq = open(url, { method: 'PUT' });
  senderReq.end(body);
  const [reply, sent] = await Promise.all([received, responseOf(senderReq).then(readReply)]);
  assert.equal(reply.status, 200, `${cluster.proxy}: ${reply.body.toString().slice(0, 200)}`);
  assert.ok(reply.complete);
  assert.equal(sha256(reply.body), sha256(body), `${cluster.proxy}: the held receiver got the body intact`);
  assert.equal(sent.status, 200);
  return `${cluster.proxy}: receiver held ${HOLD_MS / 1000} s, then ${reply.body.length} bytes intact`;
}

/** A sender that sends nothing until its 200, waits HOLD_MS for its receiver, then streams a body. */
async function senderWaits(cluster: Cluster): Promise<string> {
  const url = cluster.pipeUrl(uniqueName('held-sender'));
  const body = randomBytes(100_000);
  const senderReq = open(url, { method: 'PUT', headers: { 'content-type': 'audio/ogg' } });
  senderReq.flushHeaders();
  const answered = responseOf(senderReq);
  answered.catch(() => undefined);
  await sleep(HOLD_MS);
  const receiverReq = open(url);
  receiverReq.end();
  const received = responseOf(receiverReq).then(readReply);
  const senderRes = await answered;
  assert.equal(senderRes.statusCode, 200, `${cluster.proxy}: the held sender's answer`);
  const sent = readReply(senderRes);
  senderReq.end(body);
  const reply = await received;
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'audio/ogg');
  assert.equal(sha256(reply.body), sha256(body), `${cluster.proxy}: the receiver got the held sender's body intact`);
  assert.match((await sent).body.toString(), /\[INFO\] done, 100000 bytes/);
  return `${cluster.proxy}: sender held ${HOLD_MS / 1000} s silent, then ${reply.body.length} bytes intact`;
}

test('a receiver, and a silent sender, each held 90 s through nginx and through HAProxy, then served intact', { timeout: HOLD_MS + 60_000 }, async (t) => {
  const clusters = (await Promise.all(PROXIES.map((proxy) => startCluster(t, proxy)))).filter((cluster): cluster is Cluster => cluster !== undefined);
  if (clusters.length === 0) return;
  const outcomes = await Promise.allSettled(clusters.flatMap((cluster) => [receiverWaits(cluster), senderWaits(cluster)]));
  for (const outcome of outcomes) if (outcome.status === 'fulfilled') t.diagnostic(outcome.value);
  const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
  assert.deepEqual(failures, []);
});
