import type { OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { textHeaders } from './headers.js';
import type { PartyRequest, PartyResponse } from './party.js';

/**
 * After refusing a request whose body is still arriving, Node drains (reads and discards) the body so the
 * connection can be reused. A client that keeps sending is cut after this long. Closing at once instead
 * would reset the connection before the client reads the refusal (curl then reports a send failure and the
 * status is lost), so the answer goes first and the close comes after a short linger.
 */
const REFUSED_BODY_LINGER_MS = 1_000;

export function respondText(res: PartyResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = Buffer.from(text);
  res.writeHead(status, textHeaders({ ...headers, 'content-length': String(body.length) }));
  res.end(body);
}

/**
 * Answers with an `[ERROR]` line and makes sure an unwanted upload cannot keep the connection busy.
 * `Connection: close` among the headers ends the connection after the answer: for requests after which
 * nothing more on that connection can be trusted (a missing or doubled Host, pipelining).
 */
export function refuse(
  req: PartyRequest,
  res: PartyResponse,
  status: number,
  reason: string,
  headers: OutgoingHttpHeaders = {},
): void {
  respondText(res, status, `[ERROR] ${reason}\n`, headers);
  if (req.complete) return;
  const socket = req.socket;
  const linger = setTimeout(() => socket.destroy(), REFUSED_BODY_LINGER_MS);
  linger.unref();
  const clear = (): void => clearTimeout(linger);
  req.once('end', clear);
  socket.once('close', clear);
}

/**
 * A refusal written straight on a socket Node's HTTP layer does not answer (a parse error, an
 * upgrade refused before its handshake), then the socket is closed.
 */
export function refuseOnSocket(socket: Duplex, status: number, statusText: string, reason: string): void {
  const body = `[ERROR] ${reason}\n`;
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
