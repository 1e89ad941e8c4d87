/**
 * Browser navigations of a pipe URL get the listen page and take no slot; players and tools get bytes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { isBrowserNavigation } from '../../src/relay/navigation.js';
import { ASSET_NAMES, relativeRoot } from '../../src/relay/page.js';
import { curl, fetchReply } from '../helpers/http.js';
import { startRelay, uniqueName } from '../helpers/relay.js';

const CHROME_NAVIGATION = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'sec-fetch-dest': 'document',
  'sec-fetch-mode': 'navigate',
};

test('isBrowserNavigation: documents and frames yes; fetch, media elements, curl, mpv, ffmpeg no', () => {
  assert.equal(isBrowserNavigation(CHROME_NAVIGATION), true);
  assert.equal(isBrowserNavigation({ 'sec-fetch-dest': 'iframe' }), true);
  // Fetch Metadata decides when present, whatever Accept says.
  assert.equal(isBrowserNavigation({ 'sec-fetch-dest': 'empty', accept: 'text/html' }), false);
  assert.equal(isBrowserNavigation({ 'sec-fetch-dest': 'audio', accept: '*/*', range: 'bytes=0-' }), false);
  // Older browsers: Accept with text/html and no Range.
  assert.equal(isBrowserNavigation({ accept: 'text/html,*/*;q=0.8' }), true);
  assert.equal(isBrowserNavigation({ accept: 'text/html', range: 'bytes=0-' }), false);
  assert.equal(isBrowserNavigation({ accept: 'audio/webm,audio/ogg,audio/*;q=0.9,application/ogg;q=0.7,*/*;q=0.5' }), false);
  assert.equal(isBrowserNavigation({ accept: '*/*' }), false);
  assert.equal(isBrowserNavigation({}), false);
  assert.equal(isBrowserNavigation({ accept: 'text/htmlx' }), false);
});

test('relativeRoot climbs from any request path to the relay root', () => {
  assert.equal(relativeRoot('/'), './');
  assert.equal(relativeRoot('/?name=x'), './');
  assert.equal(relativeRoot('/api/v1/pipe/x'), '../../../');
  assert.equal(relativeRoot('/api/v1/pipe/room/a?n=2'), '../../../../');
});

test('a navigation of a pipe URL gets the page and takes no slot; the next GET is the receiver', async (t) => {
  const { pipeUrl, relay } = await startRelay(t);
  const url = pipeUrl(uniqueName());
  const page = await fetchReply(url, { headers: CHROME_NAVIGATION });
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.match(page.body.toString(), /<script type="module" src="\.\.\/\.\.\/\.\.\/_hoodycall\/browser\/app\.js">/);
  assert.deepEqual(relay.stats(), { waiting: 0, streaming: 0 });
  const receiver = fetchReply(url, { headers: { accept: '*/*' } });
  await fetchReply(url, { method: 'PUT', body: 'bytes', headers: { 'content-type': 'audio/ogg' } });
  const reply = await receiver;
  assert.equal(reply.body.toString(), 'bytes');
  assert.equal(reply.headers['content-type'], 'audio/ogg');
});

test('curl keeps the plain-text help on / and raw bytes on a pipe; a browser gets the page on /', async (t) => {
  const { url, pipeUrl } = await startRelay(t);
  const help = await curl(['-sS', `${url.origin}/`]);
  assert.match(help.stdout.toString(), /^hoodycall relay: a plain HTTP pipe/);
  const page = await fetchReply(`${url.origin}/`, { headers: CHROME_NAVIGATION });
  assert.match(page.body.toString(), /<title>hoodycall<\/title>/);
  assert.match(page.body.toString(), /src="\.\/_hoodycall\/browser\/app\.js"/);
  const name = uniqueName();
  const receiving = curl(['-sS', pipeUrl(name)]);
  await fetchReply(pipeUrl(name), { method: 'PUT', body: 'raw' });
  assert.equal((await receiving).stdout.toString(), 'raw');
});

test('the page scripts are served from the build; nothing else under /_hoodycall/', async (t) => {
  const { url } = await startRelay(t);
  for (const name of ASSET_NAMES) {
    const reply = await fetchReply(`${url.origin}/_hoodycall/${name}`);
    assert.equal(reply.status, 200, name);
    assert.match(String(reply.headers['content-type']), /^text\/javascript/);
    assert.ok(reply.body.length > 500, `${name} is ${reply.body.length} bytes`);
  }
  assert.equal((await fetchReply(`${url.origin}/_hoodycall/index.js`)).status, 404);
  assert.equal((await fetchReply(`${url.origin}/_hoodycall/app.js`)).status, 404);
  assert.equal((await fetchReply(`${url.origin}/_hoodycall/ogg/page.d.ts`)).status, 404);
  assert.equal((await fetchReply(`${url.origin}/_hoodycall/..%2F..%2Fpackage.json`)).status, 404);
  assert.equal((await fetchReply(`${url.origin}/_hoodycall/browser/app.js`, { method: 'PUT', body: 'x' })).status, 405);
});
