/**
 * The benchmark's clients: one sender and one receiver implementation, used identically against every
 * relay. They are deliberately cheap, because they share two cores with the relay under test:
 * - raw `net` sockets; the HTTP request head is written by hand, the response read by ResponseReader;
 * - every socket reads into one shared preallocated buffer (`onread`), so receiving allocates nothing;
 * - the sender writes views of the preallocated pattern (see pattern.ts) with backpressure;
 * - an HTTP sender uses `Transfer-Encoding: chunked` as `curl -T -` does, one chunk per write.
 * No `Expect: 100-continue` is sent. Against the raw relay the same code speaks the raw protocol instead:
 * a fixed 64-byte header (role, pipe name), then the bytes; no HTTP framing at all.
 */
import net from 'node:net';
import { ResponseReader } from './http-response.js';
import { RAW_RECEIVER, RAW_SENDER, rawHeader } from './raw-protocol.js';

export type Protocol = 'http' | 'raw';

export interface Endpoint {
  readonly protocol: Protocol;
  readonly host: string;
  readonly port: number;
}

export const PIPE_PATH = '/api/v1/pipe/';

/**
 * One read buffer for every client socket: `onread` fills it and the callback consumes it synchronously
 * (nothing keeps a reference past the callback), so sockets can share it.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Socket reads done by all clients so far: how finely a relay cuts what it forwards. */
export const clientReads = { count: 0 };

/** All sockets of one measurement, so a timeout or an error can tear everything down at once. */
export class ClientScope {
  readonly #sockets = new Set<net.Socket>();

  add(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  get size(): number {
    return this.#sockets.size;
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Failures are reported through whoever awaits; an unawaited `connected` must not crash the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export interface ReceiverResult {
  readonly status: number;
  readonly bytes: number;
}

export interface Receiver {
  /** TCP connected and the request (or raw header) written. */
  readonly connected: Promise<void>;
  /** The body arrived completely (HTTP: status 200 and a complete response; raw: the relay closed). */
  readonly done: Promise<ReceiverResult>;
  readonly bytes: () => number;
  destroy(): void;
}

/**
 * Opens a receiver for `name`. `onBody` gets the body as it arrives, as views valid only during the call,
 * and `now` (performance.now() taken once per socket read) for latency measurements.
 */
export function openReceiver(
  endpoint: Endpoint,
  name: string,
  scope: ClientScope,
  onBody: (data: Buffer, now: number) => void,
): Receiver {
  const connected = deferred<undefined>();
  const done = deferred<ReceiverResult>();
  let bytes = 0;
  let settled = false;
  let errorText = '';
  let now = 0;
  const fail = (error: Error): void => {
    if (settled) return;
    settled = true;
    connected.reject(error);
    done.reject(error);
    socket.destroy();
  };
  const succeed = (status: number): void => {
    if (settled) return;
    settled = true;
    done.resolve({ status, bytes });
    socket.destroy();
  };

  let consume: (data: Buffer) => void;
  let onEnd: () => void;
  if (endpoint.protocol === 'http') {
    const reader = new ResponseReader({
      head(status) {
        if (status !== 200) errorText = `HTTP ${status}: `;
      },
      body(data) {
        if (errorText !== '') {
          if (errorText.length < 300) errorText += data.toString('utf8', 0, Math.min(data.length, 300));
          return;
        }
        bytes += data.length;
        onBody(data, now);
      },
      end() {
        if (errorText !== '') fail(new Error(`receiver ${name}: ${errorText.trim()}`));
        else succeed(200);
      },
    });
    consume = (data) => reader.feed(data);
    onEnd = () => reader.eof();
  } else {
    consume = (data) => {
      bytes += data.length;
      onBody(data, now);
    };
    onEnd = () => succeed(0);
  }

  const socket = net.connect({
    host: endpoint.host,
    port: endpoint.port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback(nread: number, buffer: Uint8Array): boolean {
        if (settled) return false;
        clientReads.count += 1;
        now = performance.now();
        try {
          consume(Buffer.from(buffer.buffer, buffer.byteOffset, nread));
        } catch (error) {
          fail(error as Error);
        }
        return true;
      },
    },
  });
  scope.add(socket);
  socket.once('connect', () => {
    socket.write(
      endpoint.protocol === 'http'
        ? `GET ${PIPE_PATH}${name} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\n\r\n`
        : rawHeader(RAW_RECEIVER, name),
    );
    connected.resolve(undefined);
  });
  socket.once('end', () => {
    try {
      onEnd();
    } catch (error) {
      fail(new Error(`receiver ${name}: ${errorText}${(error as Error).message}`));
    }
  });
  socket.once('error', (error) => fail(new Error(`receiver ${name}: ${error.message} after ${bytes} bytes${errorText === '' ? '' : ` (${errorText})`}`)));
  socket.once('close', () => fail(new Error(`receiver ${name}: closed after ${bytes} bytes, before the body ended`)));
  return { connected: connected.promise, done: done.promise, bytes: () => bytes, destroy: () => socket.destroy() };
}

/** What a producer writes to: one call of `write` is one write (one HTTP chunk). */
export interface BodyWriter {
  /** Returns false when the caller should `await drained()` before writing more. */
  write(data: Buffer): boolean;
  drained(): Promise<void>;
  end(): void;
}

export type Producer = (writer: BodyWriter) => Promise<void>;

export interface SenderResult {
  readonly status: number;
  readonly bytes: number;
  /** The sender's response body (HTTP), for the record. */
  readonly response: string;
}

export interface Sender {
  readonly connected: Promise<void>;
  /** HTTP: the body was written and the response (status 200) ended. Raw: written and closed by the relay. */
  readonly done: Promise<SenderResult>;
  destroy(): void;
}

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const chunkHeads = new Map<number, Buffer>();

function chunkHead(size: number): Buffer {
  let head = chunkHeads.get(size);
  if (head === undefined) {
    head = Buffer.from(`${size.toString(16)}\r\n`);
    if (chunkHeads.size < 4096) chunkHeads.set(size, head);
  }
  return head;
}

/**
 * Opens a sender for `name` and runs `produce` once connected. With `contentLength` an HTTP sender
 * announces the length and writes the bytes as they are, instead of `Transfer-Encoding: chunked`.
 */
export function openSender(endpoint: Endpoint, name: string, scope: ClientScope, produce: Producer, contentLength?: number): Sender {
  const connected = deferred<undefined>();
  const done = deferred<SenderResult>();
  let settled = false;
  let written = 0;
  let produced = false;
  let responseEnded = false;
  let closedByPeer = false;
  let status = 0;
  let response = '';
  const fail = (error: Error): void => {
    if (settled) return;
    settled = true;
    connected.reject(error);
    done.reject(error);
    socket.destroy();
  };
  const maybeSucceed = (): void => {
    if (settled || !produced) return;
    if (endpoint.protocol === 'http' ? !responseEnded : !closedByPeer) return;
    settled = true;
    done.resolve({ status, bytes: written, response });
    socket.destroy();
  };

  let consume: (data: Buffer) => void = () => undefined;
  let onEnd: () => void;
  if (endpoint.protocol === 'http') {
    const reader = new ResponseReader({
      head(code) {
        status = code;
      },
      body(data) {
        if (response.length < 2000) response += data.toString('utf8', 0, Math.min(data.length, 2000));
      },
      end() {
        if (status !== 200) {
          fail(new Error(`sender ${name}: HTTP ${status}: ${response.trim().slice(0, 300)}`));
          return;
        }
        if (!produced) {
          fail(new Error(`sender ${name}: the response ended before the upload did: ${response.trim().slice(0, 300)}`));
          return;
        }
        responseEnded = true;
        maybeSucceed();
      },
    });
    consume = (data) => reader.feed(data);
    onEnd = () => {
      reader.eof();
      if (!responseEnded) throw new Error('the connection ended before the response');
    };
  } else {
    onEnd = () => {
      closedByPeer = true;
      maybeSucceed();
    };
  }

  const socket = net.connect({
    host: endpoint.host,
    port: endpoint.port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback(nread: number, buffer: Uint8Array): boolean {
        if (settled) return false;
        try {
          consume(Buffer.from(buffer.buffer, buffer.byteOffset, nread));
        } catch (error) {
          fail(new Error(`sender ${name}: ${(error as Error).message}`));
        }
        return true;
      },
    },
  });
  scope.add(socket);

  const drained = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (!socket.writableNeedDrain) {
        resolve();
        return;
      }
      const onDrain = (): void => {
        socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        socket.off('drain', onDrain);
        reject(new Error(`sender ${name}: the connection closed while writing`));
      };
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    });

  const writer: BodyWriter =
    endpoint.protocol === 'http' && contentLength === undefined
      ? {
          write(data) {
            written += data.length;
            socket.cork();
            socket.write(chunkHead(data.length));
            socket.write(data);
            const ok = socket.write(CRLF);
            socket.uncork();
            return ok;
          },
          drained,
          end() {
            socket.write(LAST_CHUNK);
          },
        }
      : {
          write(data) {
            written += data.length;
            return socket.write(data);
          },
          drained,
          end() {
            if (endpoint.protocol === 'raw') socket.end();
            else if (written !== contentLength) throw new Error(`wrote ${written} bytes, announced ${contentLength}`);
          },
        };

  socket.once('connect', () => {
    socket.write(
      endpoint.protocol === 'http'
        ? `PUT ${PIPE_PATH}${name} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\n` +
            'Content-Type: application/octet-stream\r\n' +
            (contentLength === undefined ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${contentLength}\r\n\r\n`)
        : rawHeader(RAW_SENDER, name),
    );
    connected.resolve(undefined);
    produce(writer).then(
      () => {
        produced = true;
        maybeSucceed();
      },
      (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
    );
  });
  socket.once('end', () => {
    try {
      onEnd();
    } catch (error) {
      fail(new Error(`sender ${name}: ${(error as Error).message}`));
    }
  });
  socket.once('error', (error) =>
    fail(new Error(`sender ${name}: ${error.message} after writing ${written} bytes` + (status === 0 ? '' : `, response ${status} ${JSON.stringify(response.slice(0, 200))}`))),
  );
  socket.once('close', () => fail(new Error(`sender ${name}: closed after writing ${written} bytes, before it was done`)));
  return { connected: connected.promise, done: done.promise, destroy: () => socket.destroy() };
}
