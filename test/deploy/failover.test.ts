/**
 * One of three relays is SIGKILLed mid-call, behind the shipped nginx and HAProxy configs. Calls on
 * the other two relays do not notice (every page, in order, no gap, clean ends). A `talk --reconnect`
 * / `listen --reconnect` pair and a `call` (both of its pipes) on the killed relay come back through
 * another relay, both sides of each pipe on the same one (the tones are heard again), within a bound
 * measured here: from the kill to the last "back after" line of the five directions.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { fetchReply } from '../helpers/http.js';
import { startPacedStream } from '../helpers/paced-stream.js';
import { PROXIES, startCluster, type Cluster } from '../helpers/proxy-cluster.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

/** The measured bound: each side is back within this long after the kill (measured 0.3–0.9 s here). */
export const BACK_WITHIN_MS = 5_000;

/** A room whose two pipes (ROOM/a, ROOM/b) both reach relay `index`. */
async function roomOn(cluster: Cluster, index: number): Promise<string> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const room = uniqueName(`room${index}`);
    if ((await cluster.homeOf(`${room}/a`)) === index && (await cluster.homeOf(`${room}/b`)) === index) return room;
  }
  throw new Error(`no room had both pipes on relay ${index} in 60 tries`);
}

/** Polls every 20 ms for `pattern` in each process's stderr; resolves with when each first matched. */
async function whenEach(processes: readonly CliProcess[], pattern: RegExp, timeoutMs: number): Promise<number[]> {
  const seenAt: (number | undefined)[] = processes.map(() => undefined);
  await waitFor(
    () => {
      for (const [i, process] of processes.entries()) if (seenAt[i] === undefined && pattern.test(process.stderr())) seenAt[i] = Date.now();
      return seenAt.every((at) => at !== undefined);
    },
    `${pattern} from all of them`,
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${processes.map((p) => p.stderr()).join('\n---\n')}`);
  });
  return seenAt.map((at) => at ?? 0);
}

/** Every "back after a N s gap" a process printed, in seconds. */
function gapsOf(process: CliProcess): number[] {
  return [...process.stderr().matchAll(/back (?:on air )?after a ([\d.]+) s gap/g)].map((match) => Number(match[1]));
}

async function killMidCall(t: TestContext, cluster: Cluster): Promise<void> {
  const victim = 0;
  const dir = await tempDir(t);
  const steadyNames = [await cluster.nameOn(1, 'steady'), await cluster.nameOn(2, 'steady')];
  const talkName = await cluster.nameOn(victim, 'talk');
  const room = await roomOn(cluster, victim);

  const steady = await Promise.all(steadyNames.map((name) => startPacedStream(cluster.pipeUrl(name))));
  const heard = path.join(dir, 'listen.wav');
  const listener = runCli(t, ['listen', talkName, '--server', cluster.origin, '--reconnect', '--output', heard]);
  const talker = runCli(t, ['talk', talkName, '--server', cluster.origin, '--reconnect', '--tone', '440']);
  const [heardByA, heardByB] = [path.join(dir, 'a.wav'), path.join(dir, 'b.wav')];
  const callerA = runCli(t, ['call', room, '--server', cluster.origin, '--tone', '300', '--output', heardByA]);
  await sleep(300);
  const callerB = runCli(t, ['call', room, '--server', cluster.origin, '--tone', '1000', '--output', heardByB]);
  await waitFor(() => /on air/.test(talker.stderr()) && [callerA, callerB].every((c) => /in a call/.test(c.stderr())), 'every call up', 20_000);
  const [victimRelay] = cluster.relays;
  assert.ok(victimRelay !== undefined);
  assert.equal(await victimRelay.metric('hoodycall_pipes{state="streaming"}'), 3, 'the talk pipe and both pipes of the room are on the victim');
  await sleep(1_500);

  const killedAt = Date.now();
  await victimRelay.stop('SIGKILL');
  const [listenBack, talkBack] = await whenEach([listener, talker], /back (on air )?after a [\d.]+ s gap/, 20_000);
  const [aHears, bHears] = await whenEach([callerA, callerB], /hearing back after/, 20_000);
  const [aSends, bSends] = await whenEach([callerA, callerB], /sending back after/, 20_000);
  const since = (at: number | undefined): number => (at ?? Infinity) - killedAt;
  const backAfter = [listenBack, talkBack, aHears, bHears, aSends, bSends].map(since);
  const worst = Math.max(...backAfter);
  t.diagnostic(
    `${cluster.proxy}: relay SIGKILLed; every side back through another relay within ${worst} ms ` +
      `(listen ${since(listenBack)}, talk ${since(talkBack)}, call a/b hearing ${since(aHears)}/${since(bHears)}, sending ${since(aSends)}/${since(bSends)} ms; ` +
      `gaps the clients report: listen ${gapsOf(listener).join(',')} s, talk ${gapsOf(talker).join(',')} s, call ${gapsOf(callerA).join(',')} / ${gapsOf(callerB).join(',')} s)`,
  );
  assert.ok(worst < BACK_WITHIN_MS, `back after ${backAfter.join(', ')} ms`);
  // Both sides of each of the three pipes met on one surviving relay: three more pipes stream there.
  const streaming = await Promise.all(cluster.relays.slice(1).map((relay) => relay.metric('hoodycall_pipes{state="streaming"}')));
  assert.equal(streaming.reduce((a, b) => a + b, 0), 2 + 3, `streaming on the survivors: ${streaming.join('/')}`);

  // The pages and /healthz need no particular relay.
  assert.equal((await fetchReply(`${cluster.origin}/healthz`)).status, 200);
  assert.equal((await fetchReply(`${cluster.origin}/`)).status, 200);

  await sleep(2_000);
  talker.child.kill('SIGINT');
  callerA.child.kill('SIGINT');
  const exits = await Promise.all([talker, listener, callerA, callerB].map((process) => process.exited));
  assert.deepEqual(
    exits.map((exit) => exit.code),
    [0, 0, 0, 0],
    [talker, listener, callerA, callerB].map((process) => process.stderr()).join('\n---\n'),
  );
  // What was heard after the kill is the right tone: each pipe's two sides met again.
  for (const [file, tone] of [[heard, 440], [heardByA, 1000], [heardByB, 300]] as const) {
    const samples = wavSamples(await readFile(file));
    const seconds = samples.length / 48_000;
    assert.equal(toneOf(samples, seconds - 1.5, seconds - 0.2), tone, `${path.basename(file)}: ${tone} Hz heard again after the kill`);
  }

  // The calls on the other relays did not notice.
  for (const [i, stream] of steady.entries()) {
    const end = await stream.stop();
    t.diagnostic(`${cluster.proxy}: call on relay ${i + 1}: ${end.received}/${end.sent} pages, longest gap ${end.maxGapMs.toFixed(0)} ms`);
    assert.equal(end.problem, undefined);
    assert.ok(end.complete, 'it ended cleanly on both sides');
    assert.equal(end.received, end.sent);
    assert.match(end.senderLastLine, /^\[INFO\] done, \d+ bytes$/);
    assert.ok(end.maxGapMs < 1_000, `a gap of ${end.maxGapMs} ms`);
  }
}

for (const proxy of PROXIES) {
  test(`${proxy}: a relay SIGKILLed mid-call: calls elsewhere go on untouched; its calls come back through another relay`, { timeout: 120_000 }, async (t) => {
    const cluster = await startCluster(t, proxy);
    if (cluster === undefined) return;
    await killMidCall(t, cluster);
  });
}
