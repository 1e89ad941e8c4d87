/**
 * The real CLI and a real browser through the shipped nginx and HAProxy configs, three relays behind
 * each: `talk`/`listen` and `call` with test tones (the decoded output's frequency is checked), and
 * the relay's page talking from Chromium over a WebSocket on the proxy's TLS listener into `listen`
 * on its plain HTTP listener (same path, so the same relay).
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseWavHeader } from '../../src/audio/wav.js';
import { launchChromium, waitForState } from '../browser/chromium.js';
import { tempDir, toneOf, wavSamples } from '../helpers/calls.js';
import { hangUpBoth, runCli } from '../helpers/cli.js';
import { s16leToFloat } from '../helpers/goertzel.js';
import { PROXIES, startCluster, type Cluster } from '../helpers/proxy-cluster.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

async function talkAndListen(t: TestContext, cluster: Cluster): Promise<void> {
  const dir = await tempDir(t);
  const name = uniqueName('proxied');
  const out = path.join(dir, 'out.wav');
  const listener = runCli(t, ['listen', name, '--server', cluster.origin, '--output', out]);
  const talker = runCli(t, ['talk', name, '--server', cluster.origin, '--tone', '440']);
  await waitFor(() => /on air/.test(talker.stderr()), 'talker on air', 15_000);
  await sleep(2_000);
  await hangUpBoth(talker, listener);
  assert.match(listener.stderr(), /the talker hung up/);
  const samples = wavSamples(await readFile(out));
  assert.ok(samples.length / 48_000 > 1.5, `${samples.length / 48_000} s heard`);
  assert.equal(toneOf(samples), 440);
}

async function call(t: TestContext, cluster: Cluster): Promise<void> {
  const dir = await tempDir(t);
  const room = uniqueName('proxied-room');
  const outA = path.join(dir, 'a.wav');
  const outB = path.join(dir, 'b.wav');
  const first = runCli(t, ['call', room, '--server', cluster.origin, '--tone', '440', '--output', outA]);
  await sleep(300);
  const second = runCli(t, ['call', room, '--server', cluster.origin, '--tone', '1000', '--output', outB]);
  await waitFor(() => /in a call/.test(first.stderr()) && /in a call/.test(second.stderr()), 'both in the call', 15_000);
  await sleep(2_500);
  first.child.kill('SIGINT');
  const [a, b] = await Promise.all([first.exited, second.exited]);
  assert.equal(a.code, 0, first.stderr());
  assert.equal(b.code, 0, second.stderr());
  assert.equal(toneOf(wavSamples(await readFile(outA))), 1000, 'the first caller hears the second');
  assert.equal(toneOf(wavSamples(await readFile(outB))), 440, 'the second caller hears the first');
}

/** Loudest 20 ms window (RMS) of a WAV, and its length in seconds. */
function loudness(wav: Buffer): { seconds: number; peakRms: number } {
  const header = parseWavHeader(wav);
  assert.ok(header !== null, 'the output is a WAV');
  const samples = s16leToFloat(wav.subarray(header.dataOffset), header.channels);
  let peakRms = 0;
  for (let start = 0; start + 960 <= samples.length; start += 960) {
    let sum = 0;
    for (let i = start; i < start + 960; i++) sum += (samples[i] ?? 0) ** 2;
    peakRms = Math.max(peakRms, Math.sqrt(sum / 960));
  }
  return { seconds: samples.length / header.sampleRate, peakRms };
}

async function browserTalks(t: TestContext, cluster: Cluster): Promise<void> {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const dir = await tempDir(t);
  const out = path.join(dir, 'out.wav');
  // The proxy's TLS listener with its self-signed certificate: the page is a secure context (the
  // microphone needs one) and the WebSocket goes through the TLS termination.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const name = uniqueName('proxied-page');
  await page.goto(`${cluster.tlsOrigin}/#${name}`);
  await page.click('#talk');
  await waitForState(page, 'talkState', ['waiting']);
  const listener = runCli(t, ['listen', name, '--server', cluster.origin, '--output', out]);
  await waitForState(page, 'talkState', ['talking']);
  const talkingAt = Date.now();
  await sleep(2_500);
  await page.click('#hangup');
  const talkedMs = Date.now() - talkingAt;
  await waitForState(page, 'talkState', ['ended']);
  const exit = await listener.exited;
  assert.equal(exit.code, 0, listener.stderr());
  assert.match(listener.stderr(), /the talker hung up/);
  const { seconds, peakRms } = loudness(await readFile(out));
  t.diagnostic(`${cluster.proxy}: ${seconds.toFixed(2)} s of the page's microphone for ${talkedMs} ms of talking, loudest 20 ms RMS ${peakRms.toFixed(3)}`);
  assert.ok(Math.abs(seconds - talkedMs / 1000) < 0.8, `${seconds} s of audio for ${talkedMs} ms of talking`);
  // Chromium's fake microphone beeps: loud windows, far above silence.
  assert.ok(peakRms > 0.05, `the loudest 20 ms has RMS ${peakRms}`);
}

for (const proxy of PROXIES) {
  test(`${proxy}: talk/listen, call and a browser page talker through the proxy`, { timeout: 180_000 }, async (t) => {
    const cluster = await startCluster(t, proxy);
    if (cluster === undefined) return;
    await t.test('hoodycall talk --tone 440 into hoodycall listen: 440 Hz heard, both exit 0', (t) => talkAndListen(t, cluster));
    await t.test('hoodycall call ROOM from two processes: each hears the other\'s tone', (t) => call(t, cluster));
    await t.test('the page talks over a WebSocket through the TLS listener; hoodycall listen hears it', (t) => browserTalks(t, cluster));
  });
}
