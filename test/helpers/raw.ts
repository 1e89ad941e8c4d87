/**
 * Raw sockets with timings: for what an HTTP client would hide or refuse to send (smuggling, slow
 * heads, idle connections), over TCP or TLS. Every socket is destroyed by the time a helper returns.
 */
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';

export interface RawOptions {
  /** Give up waiting for the server to close after this long. */
  waitMs?: number;
  /** Connect with TLS, trusting this CA (the test's self-signed certificate). */
  ca?: string | Buffer;
  /** Bind the client side to this address (127.0.0.x), to look like another client. */
  localAddress?: string;
}

export interface RawResult {
  /** Everything the server sent, as latin1. */
  readonly text: string;
  /** The status of the first response in `text`, if any. */
  readonly status: number | undefined;
  /** The server closed (or reset) the connection within `waitMs`. */
  readonly closed: boolean;
  /** Milliseconds from the request's first byte to the first byte of the answer. */
  readonly firstByteMs: number | undefined;
  /** Milliseconds from the request's first byte to the close. */
  readonly closedMs: number | undefined;
}

/** Connects over TCP, or TLS when `ca` is given; resolves once connected (handshake done). */
export async function connectRaw(port: number, options: RawOptions = {}): Promise<net.Socket> {
  if (options.ca !== undefined) {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: options.ca,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    await once(socket, 'secureConnect');
    return socket;
  }
  const socket = net.connect({
    host: '127.0.0.1',
    port,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  });
  await once(socket, 'connect');
  return socket;
}

/** Statistics on a socket the test writes to as it likes; `result()` waits for the close (or `waitMs`). */
export interface WatchedSocket {
  readonly socket: net.Socket;
  readonly isClosed: () => boolean;
  readonly text: () => string;
  /** Waits up to `waitMs` from now for the close, then destroys the socket and reports. */
  result(waitMs: number): Promise<RawResult>;
}

export function watch(socket: net.Socket, startedAt = Date.now()): WatchedSocket {
  const chunks: Buffer[] = [];
  let firstByteMs: number | undefined;
  let closedMs: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    firstByteMs ??= Date.now() - startedAt;
    chunks.push(chunk);
  });
  // A reset is a close too; the error itself is expected here.
  socket.on('error', () => undefined);
  const closed = once(socket, 'close').then(() => {
    closedMs = Date.now() - startedAt;
  });
  const text = (): string => Buffer.concat(chunks).toString('latin1');
  return {
    socket,
    isClosed: () => closedMs !== undefined,
    text,
    async result(waitMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
      const wasClosed = closedMs !== undefined;
      socket.destroy();
      const all = text();
      const match = /^HTTP\/1\.[01] ([0-9]{3})/.exec(all);
      return {
        text: all,
        status: match?.[1] === undefined ? undefined : Number(match[1]),
        closed: wasClosed,
        firstByteMs,
        closedMs: wasClosed ? closedMs : undefined,
      };
    },
  };
}

/** Sends `request` in one write and collects the answer until the server closes or `waitMs` passes. */
export async function rawRequest(port: number, request: string | Buffer, options: RawOptions = {}): Promise<RawResult> {
  const socket = await connectRaw(port, options);
  const watched = watch(socket);
  socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
  return watched.result(options.waitMs ?? 2_000);
}

/** The header block of the first response in raw text, lower-cased names, for assertions. */
export function rawHeaders(text: string): Map<string, string> {
  const head = text.split('\r\n\r\n', 1)[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}
