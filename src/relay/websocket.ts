/**
 * The WebSocket talker bridge: a browser cannot stream a fetch() upload over HTTP/1.1, so the page
 * talks over a WebSocket to the pipe's own URL, and the relay makes that socket the pipe's sender,
 * as if it had PUT. Listeners cannot tell: `hoodycall listen`, `curl | mpv` and other pages hear it.
 *
 * Protocol: `GET /api/v1/pipe/NAME[?n=K]` with `Upgrade: websocket` and the subprotocol
 * `hoodycall.ogg` or `hoodycall.webm`, which fixes the Content-Type receivers get (audio/ogg,
 * audio/webm; nothing else can be sent this way). Binary messages are the stream's bytes. The relay
 * sends the sender's status lines as text messages (`[INFO] connected to the receiver, streaming` is
 * the go-ahead, as a PUT's 200). A close with 1000 from the talker ends the stream cleanly; any other
 * close, or a lost connection, aborts it (receivers see an incomplete body, as for a vanished PUT).
 * The relay closes with 1000 after `[INFO] done`, with 4000 + HTTP status for a refusal (4409 busy,
 * 4408 nobody came, 4429/4503 limits), and 4000 when it tore a streaming pipe down (listener left,
 * idle, shutdown); the last text message says why.
 *
 * No Origin check, on purpose: pipes carry no cookies or credentials, and a page of any origin may
 * already PUT into a pipe (CORS allows it), so a WebSocket from any origin gives nothing more. The
 * relay's limits apply unchanged: the same per-client and total pipe caps, hold and idle timeouts, and
 * messages larger than MAX_MESSAGE_BYTES close the socket (1009).
 */
import { EventEmitter } from 'node:events';
import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { RelayHandler } from './handler.js';
import type { PartyRequest, PartyResponse } from './party.js';
import { refuseOnSocket } from './respond.js';
import { parseTarget } from './target.js';

/** The subprotocols a talker may offer, and the Content-Type each gives the stream. */
export const TALKER_PROTOCOLS: Readonly<Record<string, string>> = Object.freeze({
  'hoodycall.ogg': 'audio/ogg',
  'hoodycall.webm': 'audio/webm',
});

/** A 20 ms Opus page is ~100 bytes and a MediaRecorder slice a few KiB; anything far larger is not a call. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Close codes the relay sends (see the file comment). */
export const CLOSE_DONE = 1000;
export const CLOSE_TORN_DOWN = 4000;

/** The talker's bytes as a request body: binary messages in, with backpressure on the socket. */
class WebSocketBody extends Readable implements PartyRequest {
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
  complete = false;
  readonly #ws: WebSocket;

  constructor(ws: WebSocket, socket: Socket, contentType: string) {
    super({ highWaterMark: MAX_MESSAGE_BYTES });
    this.#ws = ws;
    this.socket = socket;
    this.headers = { 'content-type': contentType };
    // Once piped, pipeline() hears the error and aborts the pipe; a body still waiting (or refused)
    // has nobody to tell, and an unheard 'error' would crash the relay.
    this.on('error', () => undefined);
    // Protocol errors (an oversized message: 1009, a malformed frame: 1002) are followed by 'close',
    // which aborts the pipe; without a listener they would be thrown.
    ws.on('error', () => undefined);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Text messages carry nothing of the stream; the bytes are binary frames only.
      if (!isBinary || this.destroyed) return;
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!this.push(chunk)) ws.pause();
    });
    ws.on('close', (code: number) => {
      if (this.destroyed || this.readableEnded) return;
      if (code === CLOSE_DONE) {
        this.complete = true;
        this.push(null);
      } else {
        this.destroy(new Error(`the talker's WebSocket closed with ${code}`));
      }
    });
  }

  override _read(): void {
    this.#ws.resume();
  }
}

/** The sender's response as the handler writes it, carried as text messages and a close frame. */
class WebSocketReply extends EventEmitter implements PartyResponse {
  headersSent = false;
  writableEnded = false;
  readonly #ws: WebSocket;
  #status = 200;

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
    const code = this.#status !== 200 ? CLOSE_TORN_DOWN + this.#status : text.startsWith('[ERROR]') ? CLOSE_TORN_DOWN : CLOSE_DONE;
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
 * The server's `upgrade` listener. A request that asks another upgrade than websocket (curl
 * `--http2` over http asks h2c) is answered as the plain HTTP/1.1 request it also is: listening on
 * `upgrade` would otherwise change what those clients get.
 */
export function createUpgradeListener(handler: RelayHandler, maxReceivers: number): UpgradeListener {
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => chosenProtocol([...protocols].join(',')) ?? false,
  });
  return (req, socket, head) => {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return answerAsPlainHttp(handler, req, socket, head);
    const target = parseTarget(req.url ?? '/', maxReceivers);
    if (target.kind === 'invalid') return refuseOnSocket(socket, 400, 'Bad Request', target.reason);
    if (target.kind !== 'pipe') return refuseOnSocket(socket, 404, 'Not Found', 'a talker WebSocket goes to /api/v1/pipe/NAME');
    if (req.method !== 'GET') return refuseOnSocket(socket, 405, 'Method Not Allowed', 'a WebSocket handshake is a GET');
    const protocol = chosenProtocol(req.headers['sec-websocket-protocol']);
    if (protocol === undefined) {
      return refuseOnSocket(socket, 400, 'Bad Request', `a talker offers the subprotocol ${Object.keys(TALKER_PROTOCOLS).join(' or ')}`);
    }
    const contentType = TALKER_PROTOCOLS[protocol] ?? 'application/octet-stream';
    server.handleUpgrade(req, socket, head, (ws) => {
      handler.acceptSender(new WebSocketBody(ws, req.socket, contentType), new WebSocketReply(ws), target.name, target.receivers);
    });
  };
}

/** An upgrade the relay does not do: serve the request as HTTP/1.1 on its socket, then close it. */
function answerAsPlainHttp(handler: RelayHandler, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return refuseOnSocket(socket, 400, 'Bad Request', 'this relay upgrades only to WebSocket; send the request without Upgrade');
  }
  if (head.length > 0) socket.unshift(head);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  handler.handleRequest(req, res);
}
