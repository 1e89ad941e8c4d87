/**
 * The browser page: one HTML document (from here) and its scripts (src/browser and what it shares
 * with Node: the Ogg codec, src/ogg, and the name rule, src/protocol/names.ts; compiled by tsconfig.browser.json into dist/page/, read from there at
 * run time and served as /_hoodycall/browser/app.js, /_hoodycall/ogg/page.js and so on: the same
 * tree as the sources, so the modules' relative imports resolve as they were written). The same page answers a
 * browser opening `/` and a browser opening a pipe URL; it takes no pipe slot, its script makes the
 * one GET (or WebSocket) itself.
 */
import { readFile } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import { SAFETY_HEADERS } from './headers.js';

/** The scripts the page loads, and only these: the asset path is never mapped onto the file system. */
export const ASSET_NAMES: readonly string[] = [
  'browser/app.js',
  'browser/player.js',
  'browser/talker.js',
  'browser/ogg.js',
  'browser/sealed.js',
  'ogg/page.js',
  'ogg/opus.js',
  'ogg/stream.js',
  'ogg/writer.js',
  'protocol/names.js',
];

/** dist/page/ (this file runs from dist/src/relay/). */
const ASSET_DIR = new URL('../../page/', import.meta.url);

/**
 * The page runs the relay's own script and nothing else: no inline script, no other origin, no
 * framing. connect-src 'self' covers the pipe's fetch and its WebSocket (ws/wss of the same host).
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "style-src 'unsafe-inline'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function pageHeaders(length: number): OutgoingHttpHeaders {
  return {
    ...SAFETY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': PAGE_CSP,
    'x-frame-options': 'DENY',
    // The answer depends on Sec-Fetch-Dest/Accept: a cache in between must not give curl the page.
    vary: 'Sec-Fetch-Dest, Accept',
    'content-length': String(length),
  };
}

/**
 * `../` steps from the request path up to the relay's root, so the page works behind a proxy that
 * mounts the relay under a prefix. Only the count of '/' is used, never the path's text.
 */
export function relativeRoot(path: string): string {
  const depth = path.split('?')[0]?.split('/').length ?? 2;
  return depth <= 2 ? './' : '../'.repeat(depth - 2);
}

export function pageHtml(path: string): string {
  const root = relativeRoot(path);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="hoodycall-root" content="${root}">
<meta name="referrer" content="no-referrer">
<title>hoodycall</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  label { display: block; font-weight: 600; }
  input { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem; margin: .25rem 0 1rem; }
  button { font: inherit; font-size: 1.1rem; padding: .6rem 1.2rem; margin: 0 .5rem .5rem 0; border-radius: .4rem; border: 1px solid #555; background: #f4f4f4; cursor: pointer; }
  button#listen { background: #0b6e4f; color: #fff; border-color: #0b6e4f; }
  button#hangup { background: #b00020; color: #fff; border-color: #b00020; }
  button:disabled { opacity: .45; cursor: default; }
  .status { min-height: 1.5em; margin: .5rem 0; font-variant-numeric: tabular-nums; }
  body[data-listen="listening"] #listen-status, body[data-talk="talking"] #talk-status { color: #0b6e4f; font-weight: 600; }
  body[data-listen="cut"] #listen-status, body[data-listen="refused"] #listen-status,
  body[data-talk="cut"] #talk-status, body[data-talk="refused"] #talk-status,
  body[data-listen="unauthenticated"] #listen-status { color: #b00020; }
  meter { width: 100%; height: 1rem; }
  #note, footer { color: #666; font-size: .9rem; }
</style>
<script type="module" src="${root}_hoodycall/browser/app.js"></script>
</head>
<body>
<main>
  <h1>hoodycall</h1>
  <label for="name">Call name</label>
  <input id="name" autocomplete="off" spellcheck="false" placeholder="k7m2-9qxd-4ftz-8wnb">
  <div>
    <button id="listen" type="button">&#9654; Listen</button>
    <button id="talk" type="button">Talk</button>
    <button id="hangup" type="button" hidden>Hang up</button>
  </div>
  <p id="listen-status" class="status" role="status" aria-live="polite"></p>
  <p id="talk-status" class="status" role="status" aria-live="polite"></p>
  <meter id="level" min="0" max="1" value="0" aria-label="level"></meter>
  <p id="note"></p>
</main>
<footer>A name is the call's only secret: whoever knows it can listen.
From a shell: <code>hoodycall listen NAME</code> or <code>curl -sN URL | mpv --no-video -</code>.</footer>
<noscript>This page needs JavaScript to play the call; <code>curl -sN URL | mpv --no-video -</code> plays it without.</noscript>
</body>
</html>
`;
}

const assets = new Map<string, Promise<Buffer>>();

/** A compiled page script, read once and kept; rejects when the build did not produce it. */
export function readAsset(name: string): Promise<Buffer> | undefined {
  if (!ASSET_NAMES.includes(name)) return undefined;
  let asset = assets.get(name);
  if (asset === undefined) {
    asset = readFile(new URL(name, ASSET_DIR));
    // A failed read is not cached: a build that is being written may complete.
    asset.catch(() => assets.delete(name));
    assets.set(name, asset);
  }
  return asset;
}

export function assetHeaders(length: number): OutgoingHttpHeaders {
  return { ...SAFETY_HEADERS, 'content-type': 'text/javascript; charset=utf-8', 'content-length': String(length) };
}
