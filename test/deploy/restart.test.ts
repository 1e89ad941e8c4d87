/**
 * A rolling restart behind the shipped nginx and HAProxy configs: one relay gets SIGTERM (as
 * `systemctl restart hoodycall-relay@PORT` sends) and is started again on its port. The calls on the
 * other relays lose nothing; the call on the restarted relay comes back through another relay after
 * its grace, and stays there when the relay returns; new pipes of the relay's names reach it again.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { hangUpBoth, runCli } from '../helpers/cli.js';
import { startPacedStream } from '../helpers/paced-stream.js';
import { PROXIES, startCluster, type Cluster } from '../helpers/proxy-cluster.js';
import { sleep, waitFor } from '../helpers/relay.js';

/** The restarted relay's --grace: how long its streaming pipes may go on after SIGTERM. */
const GRACE_S = 2;

async function rollOne(t: TestContext, cluster: Cluster): Promise<void> {
  const restarted = 1;
  const [first, relay, third] = cluster.relays;
  assert.ok(first !== undefined && relay !== undefined && third !== undefined);
  const dir = await tempDir(t);
  const steady = await Promise.all([0, 2].map(async (i) => startPacedStream(cluster.pipeUrl(await cluster.nameOn(i, 'steady')))));
  const talkName = await cluster.nameOn(restarted, 'talk');
  const laterName = await cluster.nameOn(restarted, 'later');
  const heard = path.join(dir, 'listen.wav');
  const listener = runCli(t, ['listen', talkName, '--server', cluster.origin, '--reconnect', '--output', heard]);
  const talker = runCli(t, ['talk', talkName, '--server', cluster.origin, '--reconnect', '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 20_000);
  assert.equal(await relay.metric('hoodycall_pipes{state="streaming"}'), 1, 'the talk pipe is on the relay to restart');
  await sleep(1_000);

  const terminatedAt = Date.now();
  const exit = await relay.stop('SIGTERM');
  assert.equal(exit.code, 0, relay.serve.stderr());
  // It waited for its streaming call (the grace) before it ended it.
  assert.ok(Date.now() - terminatedAt >= GRACE_S * 1000 - 100, `exited ${Date.now() - terminatedAt} ms after SIGTERM`);
  await waitFor(() => /back after a [\d.]+ s gap/.test(listener.stderr()) && /back on air after a [\d.]+ s gap/.test(talker.stderr()), 'the call back on another relay', 20_000);
  t.diagnostic(`${cluster.proxy}: SIGTERM with --grace ${GRACE_S}: the relay's call was back on another relay ${Date.now() - terminatedAt} ms later`);
  const moved = await Promise.all([first, third].map((other) => other.metric('hoodycall_pipes{state="streaming"}')));
  assert.equal(moved.reduce((a, b) => a + b, 0), 2 + 1, `streaming on the others: ${moved.join('/')}`);

  await relay.start();
  // Back in the ring: a new pipe of one of its names reaches it again (HAProxy: after two health checks).
  const deadline = Date.now() + 10_000;
  while ((await cluster.homeOf(laterName)) !== restarted) {
    assert.ok(Date.now() < deadline, 'the restarted relay did not get its names back within 10 s');
    await sleep(100);
  }
  await sleep(1_500);
  // The moved call stayed where it was: it was not cut a second time.
  assert.equal(listener.stderr().match(/back after a/g)?.length, 1, listener.stderr());
  assert.equal(await relay.metric('hoodycall_pipes{state="streaming"}'), 0);

  await hangUpBoth(talker, listener);
  const samples = wavSamples(await readFile(heard));
  const seconds = samples.length / 48_000;
  assert.equal(toneOf(samples, seconds - 1.5, seconds - 0.2), 440, 'heard again after the restart');

  for (const stream of steady) {
    const end = await stream.stop();
    t.diagnostic(`${cluster.proxy}: call on another relay: ${end.received}/${end.sent} pages, longest gap ${end.maxGapMs.toFixed(0)} ms`);
    assert.equal(end.problem, undefined);
    assert.ok(end.complete, 'it ended cleanly on both sides');
    assert.equal(end.received, end.sent);
    assert.match(end.senderLastLine, /^\[INFO\] done, \d+ bytes$/);
    assert.ok(end.maxGapMs < 1_000, `a gap of ${end.maxGapMs} ms`);
  }
}

for (const proxy of PROXIES) {
  test(`${proxy}: a rolling restart (SIGTERM, start again) loses no call on the other relays; its own call moves and stays moved`, { timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, proxy, { relayArgs: ['--grace', String(GRACE_S)] });
    if (cluster === undefined) return;
    await rollOne(t, cluster);
  });
}
