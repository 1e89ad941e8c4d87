/**
 * The page takes its call name from `#NAME`; a fragment that is not valid percent-encoding (`/#100%`,
 * a link cut short) made decodeURIComponent throw and left a page whose buttons did nothing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, uniqueName } from '../helpers/relay.js';
import { launchChromium, waitForState } from './chromium.js';

test('a malformed #fragment neither kills the page nor becomes the name; a name typed in still works', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const running = await startRelay(t);
  for (const fragment of ['100%', '%E0%A4%A', 'a%zz']) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${running.url.origin}/#${fragment}`);
    await page.waitForFunction(() => (globalThis as { hoodycall?: unknown }).hoodycall !== undefined);
    const name = uniqueName('typed');
    await page.fill('#name', name);
    await page.click('#listen');
    await waitForState(page, 'listenState', ['waiting']);
    assert.deepEqual(errors, [], `#${fragment}: the page threw`);
    assert.equal(running.relay.stats().waiting, 1, `#${fragment}: the page's Listen made its GET`);
    await page.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // A well-formed encoded fragment still names the call.
  const page = await browser.newPage();
  await page.goto(`${running.url.origin}/#room%2Fa`);
  assert.equal(await page.inputValue('#name'), 'room/a');
});

test("the page checks a typed name by the relay's own rule: a '..' part is refused before any request", async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const running = await startRelay(t);
  const page = await browser.newPage();
  await page.goto(`${running.url.origin}/`);
  await page.waitForFunction(() => (globalThis as { hoodycall?: unknown }).hoodycall !== undefined);
  await page.fill('#name', `${uniqueName('room')}/..`);
  await page.click('#listen');
  assert.match(await page.textContent('#note') ?? '', /'\.' or '\.\.' part/);
  assert.equal(running.relay.stats().waiting, 0, 'no GET was made');
});
