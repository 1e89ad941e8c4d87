import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { RelayHandler } from './handler.js';
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
   * Stops accepting connections; waiting sides get 503 at once; streaming pipes may finish within
   * `graceMs` (default 10 s) and are then aborted. Resolves when every connection is closed.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  stats(): { waiting: number; streaming: number };
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
export function serverOptions(options: ResolvedRelayOptions): http.ServerOptions {
  return {
    requestTimeout: 0,
    headersTimeout: options.headersTimeoutMs,
    connectionsCheckingInterval: 1_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: options.maxHeaderSize,
    keepAlive: true,
    keepAliveInitialDelay: 10_000,
    noDelay: true,
    requireHostHeader: true,
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
    highWaterMark: 256 * 1024,
  };
}

const CLIENT_ERRORS: Readonly<Record<string, readonly [number, string, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request headers took too long'],
};
const MALFORMED = [400, 'Bad Request', 'the request is malformed'] as const;

/**
 * Requests Node's parser refuses (malformed, ambiguous framing, headers too large or too slow) get a
 * reason line like every other refusal, then the connection is closed: after a framing error nothing
 * else on it can be trusted.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const [status, statusText, reason] = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED;
  refuseOnSocket(socket, status, statusText, reason);
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
  server.on('request', handler.handleRequest);
  server.on('checkContinue', handler.handleCheckContinue);
  const handleUpgrade = createUpgradeListener(handler, options.maxReceivers);
  server.on('upgrade', handleUpgrade);
  server.on('clientError', answerClientError);

  let closing: Promise<void> | undefined;
  return {
    server,
    options,
    handleRequest: handler.handleRequest,
    handleCheckContinue: handler.handleCheckContinue,
    handleUpgrade,
    async listen(port = 0, host = '127.0.0.1') {
      server.listen({ port, host, backlog: LISTEN_BACKLOG });
      await once(server, 'listening');
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return new URL(`${options.tls === undefined ? 'http' : 'https'}://${shownHost}:${address.port}`);
    },
    close({ graceMs = 10_000 } = {}) {
      closing ??= (async () => {
        const closed = server.listening ? once(server, 'close') : Promise.resolve();
        server.close();
        server.closeIdleConnections();
        await handler.shutdown(graceMs);
        server.closeIdleConnections();
        // What is left after the grace: finished responses on kept-alive sockets and refused uploads.
        setTimeout(() => server.closeAllConnections(), 500).unref();
        await closed;
      })();
      return closing;
    },
    stats: () => ({ waiting: handler.waitingCount, streaming: handler.streamingCount }),
  };
}
