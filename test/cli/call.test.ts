import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { runCli, startServe } from '../helpers/cli.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

test('call ROOM from two processes: each hears the other’s tone; hanging up one side ends both with exit 0', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const room = uniqueName('room');
  const outA = path.join(dir, 'a.wav');
  const outB = path.join(dir, 'b.wav');
  const first = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '440', '--output', outA]);
  await sleep(300);
  const second = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '1000', '--output', outB]);
  await waitFor(() => /in a call/.test(first.stderr()) && /in a call/.test(second.stderr()), 'both in the call', 10_000);
  assert.match(first.stderr(), /you are a/);
  assert.match(second.stderr(), /you are b/);
  await sleep(2_500);
  first.child.kill('SIGINT');
  const [a, b] = await Promise.all([first.exited, second.exited]);
  assert.equal(a.code, 0, first.stderr());
  assert.equal(b.code, 0, second.stderr());
  assert.match(first.stderr(), /call ended after/);
  assert.match(second.stderr(), /the other side hung up/);
  const heardByFirst = wavSamples(await readFile(outA));
  const heardBySecond = wavSamples(await readFile(outB));
  assert.equal(toneOf(heardByFirst), 1000, 'the first caller hears the second');
  assert.equal(toneOf(heardBySecond), 440, 'the second caller hears the first');
  assert.ok(heardByFirst.length / 48_000 > 1.5, `${heardByFirst.length / 48_000} s heard`);
  assert.ok(heardBySecond.length / 48_000 > 1.5, `${heardBySecond.length / 48_000} s heard`);
});

test('both callers arriving in the same instant, many times: always one "a" and one "b", never a deadlock', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const rounds = 6;
  for (let round = 0; round < rounds; round++) {
    const room = uniqueName('race');
    const sides = [0, 1].map(() => runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '440', '--output', '/dev/null']));
    const [one, two] = sides;
    assert.ok(one !== undefined && two !== undefined);
    await waitFor(() => /in a call/.test(one.stderr()) && /in a call/.test(two.stderr()), `round ${round}: both in the call`, 15_000);
    const roles = sides.map((side) => /you are ([ab])/.exec(side.stderr())?.[1]).sort();
    assert.deepEqual(roles, ['a', 'b'], `round ${round}`);
    (round % 2 === 0 ? one : two).child.kill('SIGINT');
    const exits = await Promise.all(sides.map((side) => side.exited));
    assert.deepEqual(
      exits.map((exit) => exit.code),
      [0, 0],
      `round ${round}: ${one.stderr()} / ${two.stderr()}`,
    );
  }
});

test('a third caller in a room finds it full: one line, the busy code, and the call of the two goes on', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const room = uniqueName('room');
  const one = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '440', '--output', '/dev/null']);
  const two = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '1000', '--output', '/dev/null']);
  await waitFor(() => /in a call/.test(one.stderr()) && /in a call/.test(two.stderr()), 'both in the call', 10_000);
  const three = runCli(t, ['call', room, '--server', relay.url.origin, '--tone', '300', '--output', '/dev/null']);
  const exit = await three.exited;
  assert.equal(exit.code, 6, three.stderr());
  assert.match(three.stderr(), /^hoodycall: the room \S+ is full/m);
  assert.equal(one.hasExited() || two.hasExited(), false, 'the call of the two goes on');
  one.child.kill('SIGINT');
  assert.deepEqual((await Promise.all([one.exited, two.exited])).map((e) => e.code), [0, 0]);
});
