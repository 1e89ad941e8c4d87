/**
 * Every end-to-end call behaviour a user meets, run against one relay dialect: our relay,
 * piping-server (an early 200 and status lines, 400 for busy, no hold), or the hosted pipe's
 * documented contract. The same command lines, the same lines on the terminal and the same exit codes
 * must hold on each; one test file per dialect (hoodycall.test.ts, …) runs this suite.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { execa } from 'execa';
import { buildWav, floatToS16le, testFfmpeg } from '../../helpers/audio.js';
import { tempDir, toneOf, wavSamples } from '../../helpers/calls.js';
import { BIN, hangUpBoth, runCli, untilBothBack } from '../../helpers/cli.js';
import { startFreezingProxy } from '../../helpers/freezing-proxy.js';
import { sine } from '../../helpers/goertzel.js';
import { curl } from '../../helpers/http.js';
import { sleep, uniqueName, waitFor } from '../../helpers/relay.js';
import { type DialectName, startTestRelay } from '../../helpers/relays.js';
import { generateCode } from '../../../src/wire.js';

export function dialectSuite(dialect: DialectName): void {
  test(`${dialect}: talk waits without going on air; a late curl | ffmpeg listener hears the call live, not a backlog; the talker's end ends it cleanly`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const dir = await tempDir(t);
    const name = uniqueName();
    const out = path.join(dir, 'late.wav');
    const talker = execa(process.execPath, [BIN, 'talk', name, '--server', relay.url.origin, '--input', '-'], { stdin: 'pipe', reject: false });
    t.after(() => talker.kill('SIGKILL'));
    let talkErr = '';
    talker.stderr.setEncoding('utf8').on('data', (chunk: string) => (talkErr += chunk));
    // 300 Hz, written in real time; the listener joins after 2.5 s of it, and hears the rest.
    talker.stdin.write(buildWav(Buffer.alloc(0), { dataSizeField: 0xffffffff, riffSizeField: 0xffffffff }));
    const tenth = floatToS16le(sine(300, 48_000, 0.1));
    const ffmpeg = await testFfmpeg();
    let listener: Promise<{ readonly exitCode?: number | undefined; readonly stderr: unknown }> | undefined;
    let joinedAt = 0;
    for (let i = 0; i < 50; i += 1) {
      talker.stdin.write(tenth);
      if (i === 25) {
        assert.doesNotMatch(talkErr, /on air|joined/, 'on air with nobody there');
        joinedAt = Date.now();
        listener = execa('bash', ['-c', `curl -sSN ${relay.pipeUrl(name)} | ${ffmpeg} -v error -f ogg -i - -y ${out}`], { reject: false });
      }
      await sleep(100);
    }
    talker.stdin.end();
    const talkEnd = await talker;
    assert.equal(talkEnd.exitCode, 0, talkErr);
    assert.match(talkErr, /a listener joined .*: on air/);
    assert.ok(listener !== undefined);
    const listened = await listener;
    assert.equal(listened.exitCode, 0, String(listened.stderr));
    const heardFor = (Date.now() - joinedAt) / 1000;
    const samples = wavSamples(await readFile(out));
    const seconds = samples.length / 48_000;
    assert.equal(toneOf(samples), 300);
    // Joined after 2.5 s of talk: a backlog would make it about 5 s; live, it is what came after.
    assert.ok(seconds < 3.2 && seconds <= heardFor + 0.3, `the late listener got ${seconds} s in ${heardFor} s: a backlog was sent`);
    assert.ok(seconds > 1.5, `the late listener got only ${seconds} s`);
  });

  test(`${dialect}: the listener hanging up ends talk with "the listener hung up", exit 0; the listener leaves with exit 0`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const dir = await tempDir(t);
    const name = uniqueName();
    const out = path.join(dir, 'out.wav');
    const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
    await sleep(300);
    const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
    await waitFor(() => /on air/.test(talker.stderr()) && /connected to/.test(listener.stderr()), 'both connected', 10_000);
    await sleep(1_500);
    listener.child.kill('SIGINT');
    const [listenExit, talkExit] = await Promise.all([listener.exited, talker.exited]);
    assert.equal(listenExit.code, 0, listener.stderr());
    assert.equal(talkExit.code, 0, talker.stderr());
    assert.match(listener.stderr(), new RegExp(`left ${name} after 0:0\\d`));
    assert.match(talker.stderr(), /the listener hung up after 0:0\d/);
    assert.equal(toneOf(wavSamples(await readFile(out))), 440);
  });

  test(`${dialect}: busy and nobody came end with the same codes everywhere (6 and 7), in one line each`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const taken = uniqueName();
    const stranger = curl(['-o', '/dev/null', relay.pipeUrl(taken)]);
    await sleep(300);
    const busyListener = runCli(t, ['listen', taken, '--server', relay.url.origin, '--output', '/dev/null']);
    assert.equal((await busyListener.exited).code, 6, busyListener.stderr());
    assert.match(busyListener.stderr(), new RegExp(`^hoodycall: the pipe ${taken} is busy`, 'm'));
    const sending = uniqueName();
    const first = runCli(t, ['talk', sending, '--server', relay.url.origin, '--tone', '440']);
    await waitFor(() => /waiting for a listener/.test(first.stderr()), 'the first talker waiting', 10_000);
    await sleep(300);
    const second = runCli(t, ['talk', sending, '--server', relay.url.origin, '--tone', '440']);
    assert.equal((await second.exited).code, 6, second.stderr());
    const lonely = runCli(t, ['listen', uniqueName(), '--server', relay.url.origin, '--output', '/dev/null', '--wait', '1']);
    const lonelyExit = await lonely.exited;
    assert.equal(lonelyExit.code, 7, lonely.stderr());
    assert.ok(lonelyExit.afterMs < 5_000, `${lonelyExit.afterMs} ms for a 1 s wait`);
    for (const cli of [busyListener, second, lonely]) {
      assert.equal(cli.stderr().split('\n').filter((line) => line.startsWith('hoodycall:')).length, 1, cli.stderr());
      assert.doesNotMatch(cli.stderr(), /^\s+at /m, 'no stack trace');
    }
    first.child.kill('SIGINT');
    assert.equal((await first.exited).code, 130);
    stranger.catch(() => undefined);
  });

  test(`${dialect}: --reconnect: the talker's connection cut mid-call, both sides dial again and the tone is heard again`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const proxy = await startFreezingProxy(t, Number(relay.url.port));
    const dir = await tempDir(t);
    const name = uniqueName();
    const out = path.join(dir, 'out.wav');
    const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--reconnect', '--output', out]);
    const talker = runCli(t, ['talk', name, '--server', `http://127.0.0.1:${proxy.port}`, '--reconnect', '--tone', '440']);
    await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
    await sleep(1_500);
    proxy.cut();
    await untilBothBack(talker, listener, 20_000);
    await sleep(2_000);
    await hangUpBoth(talker, listener);
    assert.match(listener.stderr(), /the talker hung up/);
    const samples = wavSamples(await readFile(out));
    const seconds = samples.length / 48_000;
    assert.equal(toneOf(samples, seconds - 1.5, seconds - 0.2), 440, 'heard again after the cut');
  });

  test(`${dialect}: a sealed call (talk CODE, listen CODE): the tone is heard, the talker's connection cut mid-call is redialed with a fresh salt and heard again`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const proxy = await startFreezingProxy(t, Number(relay.url.port));
    const dir = await tempDir(t);
    const code = generateCode();
    const out = path.join(dir, 'out.wav');
    const listener = runCli(t, ['listen', code, '--server', relay.url.origin, '--output', out]);
    const talker = runCli(t, ['talk', code, '--server', `http://127.0.0.1:${proxy.port}`, '--tone', '440']);
    await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 10_000);
    await sleep(1_500);
    proxy.cut();
    // The redial is a new stream: the listener opens it only from a header (a salt) of its own, read
    // anew; its records under the first connection's key would fail (test/protocol/sealed.test.ts).
    await untilBothBack(talker, listener, 20_000);
    await sleep(2_000);
    await hangUpBoth(talker, listener);
    assert.match(listener.stderr(), /the talker hung up/);
    const samples = wavSamples(await readFile(out));
    const seconds = samples.length / 48_000;
    assert.equal(toneOf(samples, 0.2, 1.2), 440, 'heard before the cut');
    assert.equal(toneOf(samples, seconds - 1.5, seconds - 0.2), 440, 'heard again after the cut');
  });

  test(`${dialect}: echo --server: the tone comes back through this relay, with its delay measured`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const dir = await tempDir(t);
    const out = path.join(dir, 'echo.wav');
    const echo = runCli(t, ['echo', '--server', relay.url.origin, '--tone', '440', '--output', out]);
    await waitFor(() => /speak and hear yourself/.test(echo.stderr()), 'echo running', 10_000);
    await sleep(2_000);
    echo.child.kill('SIGINT');
    const exit = await echo.exited;
    assert.equal(exit.code, 0, echo.stderr());
    const delay = Number(/you heard yourself (\d+) ms late/.exec(echo.stderr())?.[1]);
    assert.ok(delay >= 5 && delay <= 250, `measured ${delay} ms: ${echo.stderr()}`);
    assert.equal(toneOf(wavSamples(await readFile(out))), 440);
  });

  test(`${dialect}: call ROOM from two processes: roles a and b, each hears the other; a third finds the room full; one hang-up ends both with 0`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    const dir = await tempDir(t);
    const room = uniqueName('room');
    const outA = path.join(dir, 'a.wav');
    const outB = path.join(dir, 'b.wav');
    const first = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '440', '--output', outA]);
    await sleep(300);
    const second = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '1000', '--output', outB]);
    await waitFor(() => /in a call/.test(first.stderr()) && /in a call/.test(second.stderr()), 'both in the call', 10_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nfirst: ${first.stderr()}\nsecond: ${second.stderr()}`);
    });
    assert.match(first.stderr(), /you are a/);
    assert.match(second.stderr(), /you are b/);
    const third = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '300', '--output', '/dev/null']);
    const thirdExit = await third.exited;
    assert.equal(thirdExit.code, 6, third.stderr());
    assert.match(third.stderr(), new RegExp(`^hoodycall: the room ${room} is full`, 'm'));
    assert.equal(first.hasExited() || second.hasExited(), false, 'the call of the two goes on');
    await sleep(1_000);
    first.child.kill('SIGINT');
    const [a, b] = await Promise.all([first.exited, second.exited]);
    assert.equal(a.code, 0, first.stderr());
    assert.equal(b.code, 0, second.stderr());
    assert.match(first.stderr(), /call ended after/);
    assert.match(second.stderr(), /the other side hung up/);
    assert.equal(toneOf(wavSamples(await readFile(outA))), 1000, 'a hears b');
    assert.equal(toneOf(wavSamples(await readFile(outB))), 440, 'b hears a');
  });

  test(`${dialect}: both callers arriving in the same instant: one "a" and one "b", never a deadlock`, async (t) => {
    const relay = await startTestRelay(t, dialect);
    for (let round = 0; round < 3; round++) {
      const room = uniqueName('race');
      const sides = [0, 1].map(() => runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '440', '--output', '/dev/null']));
      const [one, two] = sides;
      assert.ok(one !== undefined && two !== undefined);
      await waitFor(() => /in a call/.test(one.stderr()) && /in a call/.test(two.stderr()), `round ${round}: both in the call`, 15_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\none: ${one.stderr()}\ntwo: ${two.stderr()}`);
      });
      assert.deepEqual(sides.map((side) => /you are ([ab])/.exec(side.stderr())?.[1]).sort(), ['a', 'b'], `round ${round}`);
      one.child.kill('SIGINT');
      assert.deepEqual((await Promise.all(sides.map((side) => side.exited))).map((exit) => exit.code), [0, 0], `round ${round}: ${one.stderr()} / ${two.stderr()}`);
    }
  });
}
