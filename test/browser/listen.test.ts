/**
 * A browser listens: Debian's headless Chromium opens the relay's page or the pipe URL itself, presses
 * Listen, and hears `hoodycall talk --tone 440` (WebCodecs decoding, Web Audio playback, the output
 * analysed in the page).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { runCli, startServe, type CliProcess } from '../helpers/cli.js';
import { sleep, uniqueName } from '../helpers/relay.js';
import { audioClock, launchChromium, playedPeakHz, screenshot, waitForState } from './chromium.js';

/** One FFT bin of the page's analyser (48 kHz / 4096) either side. */
const PEAK_TOLERANCE_HZ = 12;

async function assertPlaysTone(page: Page, label: string): Promise<void> {
  const before = await audioClock(page);
  await sleep(1_500);
  const after = await audioClock(page);
  assert.ok(after.time - before.time > 1.2, `${label}: the audio clock advanced ${after.time - before.time} s in 1.5 s`);
  assert.ok(after.scheduled - before.scheduled > 1.2, `${label}: ${after.scheduled - before.scheduled} s of audio were scheduled in 1.5 s`);
  const { peakHz, levelDb } = await playedPeakHz(page);
  assert.ok(Math.abs(peakHz - 440) <= PEAK_TOLERANCE_HZ, `${label}: the played sound peaks at ${peakHz} Hz (${levelDb} dB), not near 440`);
  assert.ok(levelDb > -40, `${label}: the 440 Hz peak is only ${levelDb} dB`);
}

async function hangUp(talker: CliProcess): Promise<void> {
  talker.child.kill('SIGINT');
  const exit = await talker.exited;
  assert.equal(exit.code, 0, talker.stderr());
}

test('the relay page: enter a name, press Listen, wait, hear talk --tone 440, see "call ended"', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const page = await browser.newPage();
  const name = uniqueName('browser');
  await page.goto(relay.url.href);
  assert.equal(await page.title(), 'hoodycall');
  await screenshot(page, 'listen-1-empty');
  await page.fill('#name', name);
  await page.click('#listen');
  await waitForState(page, 'listenState', ['waiting']);
  await sleep(1_200);
  assert.match(await page.locator('#listen-status').innerText(), /Waiting for the talker… 0:0[1-9]/);
  await screenshot(page, 'listen-2-waiting');

  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  await waitForState(page, 'listenState', ['listening']);
  assert.equal(await page.evaluate(() => (globalThis as { hoodycall?: { listenMode: string } }).hoodycall?.listenMode), 'webcodecs');
  await assertPlaysTone(page, 'page');
  assert.match(await page.locator('#listen-status').innerText(), /Listening 0:0[1-9]/);
  await screenshot(page, 'listen-3-playing');

  await hangUp(talker);
  await waitForState(page, 'listenState', ['ended']);
  assert.match(await page.locator('#listen-status').innerText(), /Call ended: the talker hung up after 0:0\d/);
  await screenshot(page, 'listen-4-ended');
});

test('the pipe URL opened in the browser plays, listener first', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const page = await browser.newPage();
  const name = uniqueName('direct');
  const response = await page.goto(relay.pipeUrl(name));
  assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);
  assert.equal(await page.inputValue('#name'), name);
  await page.click('#listen');
  await waitForState(page, 'listenState', ['waiting']);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  await waitForState(page, 'listenState', ['listening']);
  await assertPlaysTone(page, 'pipe URL, listener first');
  await screenshot(page, 'direct-listener-first');
  await hangUp(talker);
  await waitForState(page, 'listenState', ['ended']);
});

test('the pipe URL opened in the browser plays, talker first: the navigation does not take the call', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName('direct');
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  await sleep(500);
  const page = await browser.newPage();
  await page.goto(relay.pipeUrl(name));
  await sleep(500);
  assert.equal(talker.hasExited(), false, `the navigation ended the talker: ${talker.stderr()}`);
  await page.click('#listen');
  await waitForState(page, 'listenState', ['listening']);
  await assertPlaysTone(page, 'pipe URL, talker first');
  await screenshot(page, 'direct-talker-first');
  await hangUp(talker);
  await waitForState(page, 'listenState', ['ended']);
});
