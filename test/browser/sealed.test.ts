/**
 * Sealed calls in the page, Chromium against the real CLI: the page opened at `/#CODE` (the code in the
 * fragment, never sent) plays `hoodycall talk CODE` and talks to `hoodycall listen CODE`, both with
 * WebCrypto; and a stream it cannot authenticate is said, not played.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseWavHeader } from '../../src/audio/wav.js';
import { generateCode, openCode } from '../../src/wire.js';
import { tempDir } from '../helpers/calls.js';
import { runCli, startServe } from '../helpers/cli.js';
import { s16leToFloat } from '../helpers/goertzel.js';
import { sleep } from '../helpers/relay.js';
import { audioClock, launchChromium, playedPeakHz, screenshot, waitForState } from './chromium.js';

test('the page at /#CODE plays a sealed talk CODE --tone 440 (WebCrypto in the page), and the code never reaches the relay', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const page = await browser.newPage();
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  const code = generateCode();
  const talker = runCli(t, ['talk', code, '--server', relay.url.origin, '--tone', '440']);
  await page.goto(`${relay.url.origin}/#${code}`);
  assert.equal(await page.inputValue('#name'), code);
  await page.click('#listen');
  await waitForState(page, 'listenState', ['listening']);
  assert.match(await page.locator('#listen-status').innerText(), /Listening \(sealed\)/);
  const before = await audioClock(page);
  await sleep(1_500);
  const after = await audioClock(page);
  assert.ok(after.scheduled - before.scheduled > 1.2, `${after.scheduled - before.scheduled} s of audio scheduled in 1.5 s`);
  const { peakHz, levelDb } = await playedPeakHz(page);
  assert.ok(Math.abs(peakHz - 440) <= 12, `the played sound peaks at ${peakHz} Hz (${levelDb} dB), not near 440`);
  await screenshot(page, 'sealed-listen-playing');
  talker.child.kill('SIGINT');
  assert.equal((await talker.exited).code, 0, talker.stderr());
  await waitForState(page, 'listenState', ['ended']);
  // The page fetched the derived pipe; no request carried the code (fragments are never sent).
  const pipe = (await openCode(code)).pipeName;
  assert.ok(requested.some((url) => url.endsWith(`/api/v1/pipe/${pipe}`)), requested.join(' '));
  assert.ok(requested.every((url) => !url.includes(code.slice('sealed-'.length, 'sealed-'.length + 9))), requested.join(' '));
});

test('the page talks sealed (WebCodecs Ogg, sealed with WebCrypto) and hoodycall listen CODE hears it', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const out = path.join(dir, 'out.wav');
  const page = await browser.newPage();
  const code = generateCode();
  await page.goto(`${relay.url.origin}/#${code}`);
  await page.click('#talk');
  await waitForState(page, 'talkState', ['waiting']);
  const listener = runCli(t, ['listen', code, '--server', relay.url.origin, '--output', out]);
  await waitForState(page, 'talkState', ['talking']);
  assert.equal(await page.evaluate(() => (globalThis as { hoodycall?: { talkMode: string } }).hoodycall?.talkMode), 'ogg');
  const talkingAt = Date.now();
  await sleep(3_000);
  await page.click('#hangup');
  const talkedMs = Date.now() - talkingAt;
  await waitForState(page, 'talkState', ['ended']);
  const exit = await listener.exited;
  assert.equal(exit.code, 0, listener.stderr());
  assert.match(listener.stderr(), /the talker hung up/);
  const wav = await readFile(out);
  const header = parseWavHeader(wav);
  assert.ok(header !== null);
  const samples = s16leToFloat(wav.subarray(header.dataOffset), header.channels);
  const seconds = samples.length / header.sampleRate;
  let peakRms = 0;
  for (let start = 0; start + 960 <= samples.length; start += 960) {
    let sum = 0;
    for (let i = start; i < start + 960; i++) sum += (samples[i] ?? 0) ** 2;
    peakRms = Math.max(peakRms, Math.sqrt(sum / 960));
  }
  assert.ok(Math.abs(seconds - talkedMs / 1000) < 0.8, `${seconds} s of audio for ${talkedMs} ms of talking`);
  // The fake microphone beeps: loud windows, far above silence.
  assert.ok(peakRms > 0.05, `the loudest 20 ms has RMS ${peakRms}`);
});

test('the page given a code whose pipe carries a plain stream says it cannot authenticate it and plays nothing', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const page = await browser.newPage();
  const code = generateCode();
  const talker = runCli(t, ['talk', (await openCode(code)).pipeName, '--server', relay.url.origin, '--tone', '440']);
  await page.goto(`${relay.url.origin}/#${code}`);
  await page.click('#listen');
  await waitForState(page, 'listenState', ['unauthenticated']);
  assert.match(await page.locator('#listen-status').innerText(), /could not be authenticated.*not a sealed call/);
  assert.equal((await audioClock(page)).scheduled, 0, 'nothing was played');
  talker.child.kill('SIGINT');
  await talker.exited;
});
