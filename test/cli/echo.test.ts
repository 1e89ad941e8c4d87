import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { runCli } from '../helpers/cli.js';
import { sleep, waitFor } from '../helpers/relay.js';

test('echo --tone: no server, no configuration; the tone comes back through an embedded relay and the measured delay is reported', async (t) => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'echo.wav');
  const echo = runCli(t, ['echo', '--tone', '440', '--output', out]);
  await waitFor(() => /speak and hear yourself/.test(echo.stderr()), 'echo running', 10_000);
  await sleep(2_500);
  echo.child.kill('SIGINT');
  const exit = await echo.exited;
  assert.equal(exit.code, 0, echo.stderr());
  const delay = Number(/you heard yourself (\d+) ms late/.exec(echo.stderr())?.[1]);
  // Encoder, 20 ms pages, the relay and the decoder: tens of ms on one machine, never seconds.
  assert.ok(delay >= 10 && delay <= 250, `measured ${delay} ms: ${echo.stderr()}`);
  const samples = wavSamples(await readFile(out));
  assert.equal(toneOf(samples), 440);
  assert.ok(samples.length / 48_000 > 1.5, `${samples.length / 48_000} s`);
});
