import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { runCli, startServe } from '../helpers/cli.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

test('talk --mute sends silence of the same length (the call goes on, nothing of the mic is heard); unmuted, the same call carries the tone', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const run = async (extra: readonly string[]): Promise<{ samples: Float64Array; kbps: number }> => {
    const name = uniqueName();
    const out = path.join(dir, `${name}.wav`);
    const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
    const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440', ...extra]);
    await waitFor(() => /on air/.test(talker.stderr()), 'on air', 10_000);
    await sleep(2_000);
    talker.child.kill('SIGINT');
    assert.equal((await talker.exited).code, 0, talker.stderr());
    assert.equal((await listener.exited).code, 0, listener.stderr());
    const kib = Number(/(\d+) KiB sent/.exec(talker.stderr())?.[1]);
    return { samples: wavSamples(await readFile(out)), kbps: (kib * 8 * 1024) / 1000 / 2 };
  };
  const muted = await run(['--mute']);
  const open = await run([]);
  assert.ok(muted.samples.length / 48_000 > 1.5, `${muted.samples.length / 48_000} s of muted call`);
  assert.ok(
    muted.samples.every((value) => value === 0),
    'a muted call is digital silence',
  );
  assert.equal(toneOf(open.samples), 440);
  assert.ok(open.samples.some((value) => Math.abs(value) > 0.05));
  assert.ok(muted.kbps < open.kbps / 2, `muted ${muted.kbps} kbit/s vs ${open.kbps}`);
});
