import type { IncomingMessage } from 'node:http';

/**
 * The base URL as the client addressed this relay. The Host header is the client's own text, so only
 * host-name characters pass; anything else falls back to a placeholder rather than echoing it.
 */
export function baseUrlOf(req: IncomingMessage, secure: boolean): string {
  const host = req.headers.host;
  const scheme = secure ? 'https' : 'http';
  return host !== undefined && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(host) ? `${scheme}://${host}` : `${scheme}://RELAY`;
}

export function helpText(base: string): string {
  const pipe = `${base}/api/v1/pipe`;
  return `hoodycall relay: a plain HTTP pipe for voice calls (and any other bytes).

A sender PUTs or POSTs to ${pipe}/NAME; whoever GETs the same URL receives the bytes
as they are sent. Either side may come first and is held for a while. Nothing is stored.

Talk (microphone -> Opus in Ogg -> pipe):
  ffmpeg -f pulse -i default -c:a libopus -b:a 32k -application voip -page_duration 20000 -f ogg - \\
    | curl -T - ${pipe}/NAME

Listen:
  curl -sN ${pipe}/NAME | mpv --no-video -
  or open ${pipe}/NAME in a browser

Or with hoodycall itself:
  hoodycall talk NAME --server ${base}
  hoodycall listen NAME --server ${base}

Any bytes:
  curl -T file.bin ${pipe}/NAME        curl ${pipe}/NAME > file.bin
  Several receivers: add ?n=K on every side (all K must connect).

Pick a NAME nobody can guess: whoever knows it can listen.
Status codes: 400 bad name or n, 404 no such page, 405 method, 408 nobody came in time,
409 the pipe already has that side, 429/503 a limit was reached.
`;
}
