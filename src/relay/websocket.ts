/**
 * The WebSocket talker bridge: a browser cannot stream a fetch() upload over HTTP/1.1, so the page
 * talks over a WebSocket to the pipe's own URL, and the relay makes that socket the pipe's sender,
 * as if it had PUT. Listeners cannot tell: `hoodycall listen`, `curl | mpv` and other pages hear it.
 *
 * The protocol (subprotocols, messages, close codes) is written down once, for other clients, in
 * docs/protocol.md ("WebSocket talkers"); TALKER_PROTOCOLS and the CLOSE_ codes below are it in code.
 *
 * Origins: a talker's page must be the relay's own (its Origin names the host the request was sent
 * to) or one listed in `allowOrigins`; a client that sends no Origin (not a browser) may talk too.
 * Otherwise any page a visitor opens could use the visitor's browser to open talkers and spend the
 * per-client limits of everyone behind the visitor's address. A refused handshake gets 403.
 *
 * The relay's limits apply unchanged: the same per-client and total pipe caps, hold and idle timeouts,
 * and the same byte path and budgets as a PUT (pump.ts); messages larger than MAX_MESSAGE_BYTES close
 * the socket (1009). A talker held back by its budget is not read; while it waits, a ping every second
 * makes a gone peer's connection fail, as the 100 Continue probe does for a PUT.
 */
import { EventEmitter } from 'node:events';
import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { RelayHandler } from './handler.js';
import type { PartyRequest, PartyResponse } from './party.js';
import type { ByteSource, SourceHandlers } from './pump.js';
import { hostProblem } from './request-checks.js';
import { refuseOnSocket } from './respond.js';
import { parseTarget } from './target.js';

/** The subprotocols a talker may offer, and the Content-Type each gives the stream. */
export const TALKER_PROTOCOLS: Readonly<Record<string, string>> = Object.freeze({
  'hoodycall.ogg': 'audio/ogg',
  'hoodycall.webm': 'audio/webm',
  // A sealed call from the page (src/browser/sealed.ts): records only the code opens.
  'hoodycall.sealed': 'application/vnd.hoodycall.sealed+ogg',
});

/** A 20 ms Opus page is ~100 bytes and a MediaRecorder slice a few KiB; anything far larger is not a call. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Close codes the relay sends (see the file comment). */
export const CLOSE_DONE = 1000;
export const CLOSE_TORN_DOWN = 4000;

/** The talker's binary messages as the pump's source: each message a chunk, the socket paused to hold back. */
class WebSocketSource implements ByteSource {
  readonly #ws: WebSocket;
  #stopped = false;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    // Protocol errors (an oversized message: 1009, a malformed frame: 1002) are followed by 'close',
    // which aborts the pipe; without a listener they would be thrown.
    ws.on('error', () => undefined);
  }

  start(handlers: SourceHandlers): void {
    this.#ws.on('message', (data: RawData, isBinary: boolean) => {
      // Text messages carry nothing of the stream; the bytes are binary frames only.
      if (!isBinary || this.#stopped) return;
      handlers.chunk(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
    });
    this.#ws.once('close', (code: number) => {
      if (this.#stopped) return;
      if (code === CLOSE_DONE) handlers.end();
      else handlers.abort(new Error(`the talker's WebSocket closed with ${code}`));
    });
  }

  pause(): void {
    if (!this.#stopped) this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  probe(): boolean {
    if (this.#ws.readyState !== this.#ws.OPEN) return false;
    this.#ws.ping();
    return true;
  }

  stop(): void {
    this.#stopped = true;
    this.#ws.resume();
  }
}

/** What the handler reads of a talker's "request": its stream's type, its socket; nothing to drain. */
function talkerRequest(socket: Socket, contentType: string): PartyRequest {
  const headers: IncomingHttpHeaders = { 'content-type': contentType };
  return { headers, socket, complete: true, once: () => undefined };
}

/** The sender's response as the handler writes it, carried as text messages and a close frame. */
class WebSocketReply extends EventEmitter implements PartyResponse {
  headersSent = false;
  writableEnded = false;
  readonly #ws: WebSocket;
  #status = 200;
  #tornDown = false;

  constructor(ws: WebSocket) {
    super();
    this.#ws = ws;
    ws.once('close', () => this.emit('close'));
  }

  writeContinue(): void {
    // A WebSocket has no 100 Continue: the talker waits for the "connected" line instead.
  }

  /** The headers have no WebSocket counterpart: the subprotocol already fixed the stream's type. */
  writeHead(status: number): this {
    this.#status = status;
    this.headersSent = true;
    return this;
  }

  tearingDown(): void {
    this.#tornDown = true;
  }

  write(text: string): boolean {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(text);
    return true;
  }

  end(body?: string | Buffer, callback?: () => void): this {
    this.writableEnded = true;
    const text = body === undefined ? '' : body.toString();
    if (this.#ws.readyState !== this.#ws.OPEN) {
      if (callback !== undefined) setImmediate(callback);
      return this;
    }
    if (text !== '') this.#ws.send(text);
    const code = this.#status !== 200 ? CLOSE_TORN_DOWN + this.#status : this.#tornDown ? CLOSE_TORN_DOWN : CLOSE_DONE;
    if (callback !== undefined) this.#ws.once('close', callback);
    this.#ws.close(code, closeReason(text));
    return this;
  }

  destroy(): this {
    this.#ws.terminate();
    return this;
  }
}

/** A close reason is at most 123 bytes of UTF-8; the full line went as a text message before it. */
function closeReason(text: string): string {
  const line = text.replace(/^\[(ERROR|INFO)\] /, '').trim();
  let reason = line.slice(0, 120);
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

function chosenProtocol(header: string | undefined): string | undefined {
  for (const offered of (header ?? '').split(',')) {
    const protocol = offered.trim();
    if (Object.hasOwn(TALKER_PROTOCOLS, protocol)) return protocol;
  }
  return undefined;
}

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Whether a browser page of `origin` may open a talker: the relay's own page (its origin names the
 * host the request was sent to: the Host header, or the X-Forwarded-Host of a trusted proxy, the
 * scheme's default port dropped), or a listed one.
 */
export function originAllowed(origin: string, hosts: readonly (string | undefined)[], allowOrigins: readonly string[]): boolean {
  if (allowOrigins.includes('*')) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (allowOrigins.some((allowed) => allowed.toLowerCase() === url.origin)) return true;
  const defaultPort = url.protocol === 'https:' ? ':443' : ':80';
  return hosts.some((host) => {
    if (host === undefined) return false;
    const lower = host.trim().toLowerCase();
    return url.host === (lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower);
  });
}

/** The hosts a request was addressed to: its Host, and behind a trusted proxy the first X-Forwarded-Host. */
function requestedHosts(handler: RelayHandler, req: IncomingMessage): (string | undefined)[] {
  const forwarded = req.headers['x-forwarded-host'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0];
  return handler.clients.fromTrustedProxy(req.socket) && first !== undefined ? [req.headers.host, first] : [req.headers.host];
}

/**
 * The server's `upgrade` listener. A request that asks another upgrade than websocket (curl
 * `--http2` over http asks h2c) is answered as the plain HTTP/1.1 request it also is: listening on
 * `upgrade` would otherwise change what those clients get.
 */
export function createUpgradeListener(handler: RelayHandler, options: { maxReceivers: number; allowOrigins: readonly string[] }): UpgradeListener {
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => chosenProtocol([...protocols].join(',')) ?? false,
  });
  return (req, socket, head) => {
    // Node hands an upgrade over even when it comes pipelined behind a request still being answered.
    if (handler.owesResponse(req.socket)) {
      handler.metrics.rejected('pipelined');
      socket.destroy();
      return;
    }
    const badHost = hostProblem(req);
    if (badHost !== undefined) return refuseOnSocket(socket, 400, 'Bad Request', badHost);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return answerAsPlainHttp(handler, req, socket, head);
    const target = parseTarget(req.url ?? '/', options.maxReceivers);
    if (target.kind === 'invalid') return refuseOnSocket(socket, 400, 'Bad Request', target.reason);
    if (target.kind !== 'pipe') return refuseOnSocket(socket, 404, 'Not Found', 'a talker WebSocket goes to /api/v1/pipe/NAME');
    if (req.method !== 'GET') return refuseOnSocket(socket, 405, 'Method Not Allowed', 'a WebSocket handshake is a GET');
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, requestedHosts(handler, req), options.allowOrigins)) {
      handler.metrics.rejected('origin');
      return refuseOnSocket(socket, 403, 'Forbidden', "a talker's page must come from this relay (or an origin the relay allows)");
    }
    const protocol = chosenProtocol(req.headers['sec-websocket-protocol']);
    if (protocol === undefined) {
      return refuseOnSocket(socket, 400, 'Bad Request', `a talker offers the subprotocol ${Object.keys(TALKER_PROTOCOLS).join(' or ')}`);
    }
    const contentType = TALKER_PROTOCOLS[protocol] ?? 'application/octet-stream';
    server.handleUpgrade(req, socket, head, (ws) => {
      const source = new WebSocketSource(ws);
      handler.acceptSender(req, talkerRequest(req.socket, contentType), new WebSocketReply(ws), source, target);
    });
  };
}

/** Bytes an upgrade request that is served as plain HTTP may still send: it has no body. */
const MAX_UNREAD_AFTER_UPGRADE = 64 * 1024;

/**
 * An upgrade the relay does not do: serve the request as HTTP/1.1 on its socket, then close it. Node's
 * parser has let go of the socket, so it is read here: what arrives is dropped (the request has no
 * body), and the peer's FIN ends the socket, so a waiting receiver that leaves frees its name at once.
 */
function answerAsPlainHttp(handler: RelayHandler, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return refuseOnSocket(socket, 400, 'Bad Request', 'this relay upgrades only to WebSocket; send the request without Upgrade');
  }
  let unread = head.length;
  socket.on('data', (chunk: Buffer) => {
    unread += chunk.length;
    if (unread > MAX_UNREAD_AFTER_UPGRADE) socket.destroy();
  });
  socket.once('end', () => socket.destroy());
  socket.on('error', () => undefined);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  handler.handleRequest(req, res);
}
