import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { RelayHandler } from './handler.js';
import { PipeRequest } from './request-source.js';
import { resolveRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './options.js';
import { refuseOnSocket } from './respond.js';
import { createUpgradeListener, type UpgradeListener } from './websocket.js';

export interface Relay {
  /** The Node server, already configured; `listen()` is the usual way to start it. */
  readonly server: http.Server | https.Server;
  readonly options: ResolvedRelayOptions;
  /** The request handlers, for mounting the pipe on a server of your own (then its timeouts are yours). */
  readonly handleRequest: http.RequestListener;
  readonly handleCheckContinue: http.RequestListener;
  /** The `upgrade` listener: a browser talker's WebSocket becomes the pipe's sender (websocket.ts). */
  readonly handleUpgrade: UpgradeListener;
  /** Listens and resolves with the base URL, e.g. `http://127.0.0.1:8080`. Port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<URL>;
  /**
   * Serves `/metrics` (and nothing else) on a listener of its own, plain HTTP, for a scraper on a private
   * address; resolves with its base URL. The token, when one is set, is required there too.
   */
  listenMetrics(port?: number, host?: string): Promise<URL>;
  /**
   * Stops accepting connections; waiting sides get 503 at once; streaming pipes may finish within
   * `graceMs` (default 10 s) and are then aborted. Resolves when every connection is closed.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  stats(): { waiting: number; streaming: number };
  /** Bytes the pipes hold for their receivers now, as counted against `relayBufferBytes`. */
  bufferedBytes(): number;
}

/**
 * Connections the kernel may queue before the relay accepts them (capped by net.core.somaxconn).
 * Node's default, 511, overflows on a burst such as 1,000 pairs connecting at once, and the overflow
 * reaches clients as connection resets.
 */
const LISTEN_BACKLOG = 4_096;

/** TLS handshakes that take longer are dropped; Node's default of 120 s lets idle sockets pile up. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Node's server options for a streaming relay. Each differs from the default on purpose:
 * - requestTimeout 0: the default 300 s answers 408 to every sender still uploading, i.e. every call
 *   longer than five minutes and every sender that waited the whole hold.
 * - headersTimeout explicit: `requestTimeout: 0` alone silently sets it to 0 too (no slowloris bound).
 * - connectionsCheckingInterval 1 s: otherwise the header deadline is enforced up to 30 s late.
 * - keepAlive (TCP): a waiting peer that vanished is noticed, so its name is freed before the hold ends.
 * - highWaterMark 256 KiB: fewer, larger writes per pipe. Measured with bench/relay, 200 concurrent
 *   8 MiB pipes: relay CPU 1.38 -> 1.26 s/GiB. Idle connections allocate nothing for it; a stalled
 *   pipe holds at most this much more.
 */
export function serverOptions(options: ResolvedRelayOptions): http.ServerOptions<typeof PipeRequest> {
  return {
    // Requests whose reading the byte path can hold back (request-source.ts).
    IncomingMessage: PipeRequest,
    requestTimeout: 0,
    headersTimeout: options.headersTimeoutMs,
    connectionsCheckingInterval: 1_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: options.maxHeaderSize,
    keepAlive: true,
    keepAliveInitialDelay: 10_000,
    noDelay: true,
    // The handler refuses a missing (and a doubled) Host itself, with a reason (request-checks.ts).
    requireHostHeader: false,
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
    highWaterMark: 256 * 1024,
  };
}

const CLIENT_ERRORS: Readonly<Record<string, readonly [number, string, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'the request headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Content Too Large', 'the chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request headers took too long'],
};
const MALFORMED = [400, 'Bad Request', 'the request is malformed'] as const;

/**
 * Requests Node's parser refuses (malformed, ambiguous framing, headers too large or too slow) get a
 * reason line like every other refusal, then the connection is closed: after a framing error nothing
 * else on it can be trusted. When a response has already begun on the connection (a sender whose
 * chunked body broke after its 200), no second status line may be written into it: the handler ends
 * it with the reason instead.
 */
function answerClientError(handler: RelayHandler, error: NodeJS.ErrnoException, socket: Duplex): void {
  const code = error.code ?? '';
  // The peer closed or reset mid-request (a sender that vanished mid-body): nobody to answer. Closing
  // the socket aborts the request, which the pipe sees as the sender's abort.
  if (code === 'HPE_INVALID_EOF_STATE' || !(code.startsWith('HPE_') || code.startsWith('ERR_HTTP'))) {
    socket.destroy();
    return;
  }
  const [status, statusText, reason] = CLIENT_ERRORS[code] ?? MALFORMED;
  if (socket instanceof net.Socket && handler.handleBrokenRequest(socket, `the request is malformed (${error.code ?? 'bad framing'})`)) return;
  refuseOnSocket(socket, status, statusText, reason);
}

/** The first bytes a connection over its address's limit gets, where it can be told (plain HTTP). */
function connectionLimitAnswer(limit: number): string {
  const body = `[ERROR] your address holds its limit of ${limit} open connections to this relay; close some first\n`;
  return (
    'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 10\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

export function createRelay(relayOptions: RelayOptions = {}): Relay {
  const options = resolveRelayOptions(relayOptions);
  const handler = new RelayHandler(options);
  const base = serverOptions(options);
  const server =
    options.tls === undefined
      ? http.createServer(base)
      : https.createServer({ ...base, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS });
  // Cut only by the relay's own hold and idle rules, never by a socket inactivity timer.
  server.timeout = 0;
  server.maxConnections = options.maxConnections;
  // One address may not take every connection (clients.ts). A refused connection is dropped at once,
  // told why where it can be: under a flood, lingering sockets would hold descriptors.
  const overLimit = connectionLimitAnswer(options.maxConnectionsPerClient);
  server.on('connection', (socket: net.Socket) => {
    if (handler.clients.connected(socket)) return;
    handler.metrics.rejected('client-limit');
    if (options.tls === undefined) socket.write(overLimit);
    socket.destroy();
  });
  server.on('request', handler.handleRequest);
  server.on('checkContinue', handler.handleCheckContinue);
  server.on('checkExpectation', handler.handleCheckExpectation);
  const handleUpgrade = createUpgradeListener(handler, options);
  server.on('upgrade', handleUpgrade);
  // Node treats CONNECT as an upgrade; without a listener it drops the connection without a word.
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    handler.metrics.rejected('method');
    refuseOnSocket(socket, 405, 'Method Not Allowed', 'CONNECT is not supported: this relay is not a proxy');
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(handler, error, socket));

  let metricsServer: http.Server | undefined;
  let closing: Promise<void> | undefined;
  const listenOn = async (target: http.Server | https.Server, port: number, host: string, secure: boolean): Promise<URL> => {
    target.listen({ port, host, backlog: LISTEN_BACKLOG });
    await Promise.race([once(target, 'listening'), once(target, 'error').then(([error]) => Promise.reject(error as Error))]);
    const address = target.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return new URL(`${secure ? 'https' : 'http'}://${shownHost}:${address.port}`);
  };
  return {
    server,
    options,
    handleRequest: handler.handleRequest,
    handleCheckContinue: handler.handleCheckContinue,
    handleUpgrade,
    listen(port = 0, host = '127.0.0.1') {
      return listenOn(server, port, host, options.tls !== undefined);
    },
    listenMetrics(port = 0, host = '127.0.0.1') {
      metricsServer ??= http.createServer({ headersTimeout: options.headersTimeoutMs, requestTimeout: 30_000, maxHeaderSize: options.maxHeaderSize }, handler.handleMetricsRequest);
      return listenOn(metricsServer, port, host, false);
    },
    close({ graceMs = 10_000 } = {}) {
      closing ??= (async () => {
        const closed = server.listening ? once(server, 'close') : Promise.resolve();
        server.close();
        server.closeIdleConnections();
        metricsServer?.close();
        metricsServer?.closeAllConnections();
        await handler.shutdown(graceMs);
        server.closeIdleConnections();
        // What is left after the grace: finished responses on kept-alive sockets and refused uploads.
        setTimeout(() => server.closeAllConnections(), 500).unref();
        await closed;
      })();
      return closing;
    },
    stats: () => ({ waiting: handler.waitingCount, streaming: handler.streamingCount }),
    bufferedBytes: () => handler.bufferedBytes,
  };
}
