/**
 * A thin uplink, as a link emulator makes it (bench/network/link.ts: a 32 kbit/s cap that counts TCP/IP
 * headers): talk's default stream does not fit, so without adapting the listener falls further behind
 * every second. talk must see the backlog in the relay's byte count and step down its send ladder.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { startLinkProxy } from '../../bench/network/link.js';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { runCli, startServe } from '../helpers/cli.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

test('talk on a 32 kbit/s uplink steps down its send ladder and the listener stays live (it would fall ~0.5 s behind every second)', { timeout: 60_000 }, async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const origin = performance.now();
  const link = await startLinkProxy({ targetPort: relay.port, spec: { up: { rateBps: 32_000 }, down: {} }, seed: 1, horizonMs: 120_000, now: () => performance.now(), origin: () => origin });
  t.after(() => link.close());
  const dir = await tempDir(t);
  const name = uniqueName();
  const out = path.join(dir, 'out.wav');
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
  const talker = runCli(t, ['talk', name, '--server', `http://127.0.0.1:${link.port}`, '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'on air', 10_000);
  const onAirAt = Date.now();
  await waitFor(() => /the link cannot carry the call: sending \d+ kbit\/s in \d+ ms pages/.test(talker.stderr()), 'a step down', 15_000);
  const steppedAfter = Date.now() - onAirAt;
  await sleep(6_000);
  const callMs = Date.now() - onAirAt;
  talker.child.kill('SIGINT');
  assert.equal((await talker.exited).code, 0, talker.stderr());
  assert.equal((await listener.exited).code, 0, listener.stderr());
  const samples = wavSamples(await readFile(out));
  const heard = samples.length / 48_000;
  // Within the first report or two, as the issue asks (within 10 s of the call's start).
  assert.ok(steppedAfter < 6_000, `stepped down after ${steppedAfter} ms`);
  // From the step on the listener hears it all, but the gap of the new connection; what the link
  // could carry of the first rung (32/69 of real time) would leave under half of it heard.
  const afterStep = (callMs - steppedAfter) / 1000;
  assert.ok(heard > afterStep - 1, `heard ${heard.toFixed(1)} s of a ${(callMs / 1000).toFixed(1)} s call that stepped down after ${steppedAfter} ms`);
  assert.equal(toneOf(samples, heard - 2, heard - 0.2), 440);
});
