import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a GET is a browser opening the URL as a page (typing it, following a link) rather than a
 * player or a script fetching the bytes. Chromium's navigation to a one-shot pipe would consume it:
 * it reads a little, drops the connection, then its built-in player GETs again and finds nothing.
 * Such requests get the listen page, which makes the one pipe GET itself.
 *
 * - `Sec-Fetch-Dest: document` (or a frame) is sent by every current browser on navigation, and never
 *   by fetch(), `<audio>`, curl, mpv or ffmpeg.
 * - Without Fetch Metadata (old browsers), `Accept` naming text/html marks a navigation; a media
 *   element's request carries `Range`, curl/mpv/ffmpeg send `Accept: *\/*`.
 */
export function isBrowserNavigation(headers: IncomingHttpHeaders): boolean {
  const dest = headerValue(headers['sec-fetch-dest']);
  if (dest !== undefined) return dest === 'document' || dest === 'iframe' || dest === 'frame';
  if (headers.range !== undefined) return false;
  const accept = headerValue(headers.accept);
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
