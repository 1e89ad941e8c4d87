/**
 * A browser talks: Chromium's fake microphone (it beeps) through the page, over the WebSocket bridge,
 * into `hoodycall listen --output out.wav`. Once with WebCodecs' AudioEncoder muxed into Ogg in the
 * page, once with MediaRecorder's WebM (AudioEncoder removed from the page), which listen must play too.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseWavHeader } from '../../src/audio/wav.js';
import { tempDir } from '../helpers/calls.js';
import { runCli, startServe } from '../helpers/cli.js';
import { s16leToFloat } from '../helpers/goertzel.js';
import { sleep, uniqueName } from '../helpers/relay.js';
import { launchChromium, screenshot, waitForState } from './chromium.js';

const TALK_MS = 3_000;

/** Loudest 20 ms window (RMS) and the length, in seconds. */
function measure(wav: Buffer): { seconds: number; peakRms: number } {
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

async function browserTalks(t: TestContext, variant: 'ogg' | 'webm'): Promise<void> {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const out = path.join(dir, 'out.wav');
  const page = await browser.newPage();
  // The fallback where AudioEncoder is missing (Firefox without MediaStreamTrackProcessor, Safari).
  if (variant === 'webm') await page.addInitScript(() => Reflect.deleteProperty(globalThis, 'AudioEncoder'));
  const name = uniqueName(`talk-${variant}`);
  await page.goto(`${relay.url.origin}/#${name}`);
  assert.equal(await page.inputValue('#name'), name);
  await page.click('#talk');
  await waitForState(page, 'talkState', ['waiting']);
  await screenshot(page, `talk-${variant}-1-waiting`);

  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
  await waitForState(page, 'talkState', ['talking']);
  assert.equal(await page.evaluate(() => (globalThis as { hoodycall?: { talkMode: string } }).hoodycall?.talkMode), variant);
  const talkingAt = Date.now();
  await sleep(TALK_MS);
  await screenshot(page, `talk-${variant}-2-talking`);
  await page.click('#hangup');
  const talkedMs = Date.now() - talkingAt;
  await waitForState(page, 'talkState', ['ended']);
  await screenshot(page, `talk-${variant}-3-hung-up`);

  const exit = await listener.exited;
  assert.equal(exit.code, 0, listener.stderr());
  assert.match(listener.stderr(), /the talker hung up/);
  const { seconds, peakRms } = measure(await readFile(out));
  t.diagnostic(`${variant}: ${seconds.toFixed(2)} s of audio for ${talkedMs} ms of talking, loudest 20 ms RMS ${peakRms.toFixed(3)}`);
  assert.ok(Math.abs(seconds - talkedMs / 1000) < 0.8, `${seconds} s of audio for ${talkedMs} ms of talking`);
  // The fake microphone beeps: loud windows, far above silence (an all-zero WAV would be 0).
  assert.ok(peakRms > 0.05, `the loudest 20 ms has RMS ${peakRms}`);
}

test('the page talks (WebCodecs AudioEncoder, Ogg muxed in the page) and hoodycall listen hears it', async (t) => {
  await browserTalks(t, 'ogg');
});

test('the page talks with MediaRecorder WebM where AudioEncoder is missing, and hoodycall listen plays WebM', async (t) => {
  await browserTalks(t, 'webm');
});
