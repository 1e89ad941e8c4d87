/**
 * What a page of another origin can do with the relay, in headless Chromium:
 * - embed a pipe URL with <object>/<embed> while the sender claims a type a browser would run
 *   (`text/plain, text/html`: browsers use the last; `text/xsl`; `text/html`): no script may run on the
 *   relay's origin, the origin its page asks microphone permission for;
 * - open a WebSocket talker: refused, while the relay's own page still can.
 * The other origin is a small server on another port; a beacon on it records what ran where, and the
 * other page's own script beacons first, to prove the beacon works.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { fetchReply } from '../helpers/http.js';
import { startRelay, uniqueName, waitFor, type RunningRelay } from '../helpers/relay.js';
import { launchChromium } from './chromium.js';

interface OtherOrigin {
  readonly origin: string;
  /** Query strings the beacon received, in order. */
  readonly beacons: string[];
  /** Serves `html` at /page for the next navigation. */
  page(html: string): string;
}

async function otherOrigin(t: TestContext): Promise<OtherOrigin> {
  const beacons: string[] = [];
  let html = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/beacon') {
      beacons.push(url.search.slice(1));
      res.writeHead(204, { 'access-control-allow-origin': '*' });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    beacons,
    page(content) {
      html = content;
      return `${origin}/page`;
    },
  };
}

/** A script that reports where it ran: location.origin, sent to the other origin's beacon. */
function beaconScript(beaconOrigin: string, label: string): string {
  return `new Image().src = '${beaconOrigin}/beacon?${label}=' + encodeURIComponent(location.origin);`;
}

const HOSTILE: readonly { contentType: string; body: (script: string) => string }[] = [
  { contentType: 'text/plain, text/html', body: (script) => `<html><body><script>${script}</script></body></html>` },
  {
    contentType: 'text/xsl',
    body: (script) => `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><script>${script}</script></body></html>`,
  },
  { contentType: 'text/html', body: (script) => `<script>${script}</script>` },
];

async function sendTo(running: RunningRelay, name: string, contentType: string, body: string): Promise<void> {
  const reply = await fetchReply(running.pipeUrl(name), { method: 'PUT', body, headers: { 'content-type': contentType } });
  assert.equal(reply.status, 200, `the sender of ${contentType}: ${reply.body.toString()}`);
}

test('a page of another origin embeds pipe URLs with <object> and <embed>: no script runs on the relay origin', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const running = await startRelay(t);
  const other = await otherOrigin(t);
  const embeds = HOSTILE.flatMap(({ contentType, body }, i) =>
    (['object', 'embed'] as const).map((tag) => ({ tag, contentType, body, name: uniqueName(`embed${i}${tag}`) })),
  );
  const markup = embeds
    .map(({ tag, name }) =>
      tag === 'object' ? `<object data="${running.pipeUrl(name)}" width="200" height="50"></object>` : `<embed src="${running.pipeUrl(name)}" width="200" height="50">`,
    )
    .join('\n');
  const page = await browser.newPage();
  // Not waiting for 'load': it waits for the embedded pipes, which wait for their senders.
  await page.goto(other.page(`<!doctype html><body>${markup}<script>${beaconScript(other.origin, 'control')}</script></body>`), { waitUntil: 'commit' });
  await waitFor(() => other.beacons.some((beacon) => beacon.startsWith('control=')), 'the control beacon from the other page itself', 10_000);
  await waitFor(() => running.relay.stats().waiting === embeds.length, 'every <object> and <embed> to wait on its pipe', 10_000);
  for (const { name, contentType, body } of embeds) await sendTo(running, name, contentType, body(beaconScript(other.origin, 'ran')));
  await waitFor(() => running.relay.stats().streaming === 0 && running.relay.stats().waiting === 0, 'every pipe to be delivered');
  // Loading and running what arrived: give any script the time it would need.
  await page.waitForTimeout(1_500);
  const ran = other.beacons.filter((beacon) => beacon.startsWith('ran='));
  assert.deepEqual(ran, [], `script ran from a pipe: ${ran.map((beacon) => decodeURIComponent(beacon)).join(', ')}`);
  assert.equal(other.beacons.length, 1, 'only the control beacon');
});

test('WebSocket talkers: a page of another origin cannot open one; the relay’s own page can; a client without Origin can', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const running = await startRelay(t);
  const other = await otherOrigin(t);
  const wsUrl = (name: string): string => running.pipeUrl(name).replace(/^http/, 'ws');

  const page = await browser.newPage();
  const foreignName = uniqueName('foreign');
  await page.goto(
    other.page(`<!doctype html><script>
      const ws = new WebSocket('${wsUrl(foreignName)}', 'hoodycall.ogg');
      ws.onopen = () => { ${beaconScript(other.origin, 'opened')} };
      ws.onclose = (event) => { new Image().src = '${other.origin}/beacon?closed=' + event.code; };
    </script>`),
  );
  await waitFor(() => other.beacons.some((beacon) => beacon.startsWith('closed=')), 'the foreign talker to be closed', 10_000);
  assert.ok(!other.beacons.some((beacon) => beacon.startsWith('opened=')), `the foreign page opened a talker: ${other.beacons.join(' ')}`);
  assert.deepEqual(running.relay.stats(), { waiting: 0, streaming: 0 }, 'it took no pipe');

  // The relay's own page: same origin as the relay.
  await page.goto(`${running.url.origin}/`);
  const ownName = uniqueName('own');
  const opened = await page.evaluate(
    (url) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url, 'hoodycall.ogg');
        ws.onopen = () => resolve('open');
        ws.onclose = (event) => resolve(`closed ${event.code}`);
      }),
    wsUrl(ownName),
  );
  assert.equal(opened, 'open');
  await waitFor(() => running.relay.stats().waiting === 1, 'the page’s talker to wait');

  // A client that is not a browser sends no Origin: allowed.
  const plain = new WebSocket(wsUrl(uniqueName('plain')), 'hoodycall.ogg');
  plain.on('error', () => undefined);
  await once(plain, 'open');
  plain.close(1000);
});
