/**
 * The byte path of a one-receiver pipe: the sender's body (an HTTP request, or the WebSocket bridge's
 * stand-in), chunk by chunk, onto the receiver's socket.
 *
 * `stream.pipeline(req, res)` costs a voice call more than it carries: every 100-byte Ogg page goes
 * through Readable's pipe, ServerResponse.write (chunk framing as three writes, the socket corked and
 * uncorked on the next tick) and a three-buffer writev. Here a chunk is framed into one buffer and
 * written to the socket at once (large chunks as three writes under one cork, so nothing big is
 * copied); ServerResponse still writes the head before and the end after, so framing, keep-alive and
 * the end of the response stay Node's. Measured with bench/relay-voice (bench/README.md).
 *
 * The same contract as pipeline(req, res, done): backpressure (the sender is paused while the
 * receiver's socket is full), a finished sender ends the response (`res.end()`: the final chunk), a
 * sender that fails destroys the response (the receiver sees an incomplete body), a receiver that
 * goes destroys the request; `done` once, with the error or nothing.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { PartyRequest } from './party.js';

/** Chunks up to this size are copied into one framed buffer; larger ones are written without a copy. */
const COPY_LIMIT = 16 * 1024;
const CRLF = Buffer.from('\r\n');

function chunkHead(length: number): string {
  return `${length.toString(16)}\r\n`;
}

export function forward(req: PartyRequest, res: ServerResponse, onBytes: (bytes: number) => void, done: (error?: Error) => void): void {
  const socket = res.socket as Socket | null;
  if (socket === null) {
    done(new Error('the receiver has no socket'));
    return;
  }
  // Headers went out (flushHeaders); from here the body bytes are ours to frame. With a Content-Length
  // (or an HTTP/1.0 receiver) the body is written as it is.
  const chunked = res.chunkedEncoding;
  let settled = false;
  const settle = (error?: Error): void => {
    if (settled) return;
    settled = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onFailure);
    req.off('close', onReqClose);
    res.off('close', onResClose);
    socket.off('drain', onDrain);
    done(error);
  };

  const onData = (chunk: Buffer): void => {
    onBytes(chunk.length);
    let flushed: boolean;
    if (!chunked) {
      flushed = socket.write(chunk);
    } else if (chunk.length <= COPY_LIMIT) {
      const head = chunkHead(chunk.length);
      const framed = Buffer.allocUnsafe(head.length + chunk.length + 2);
      framed.write(head, 0, 'latin1');
      chunk.copy(framed, head.length);
      framed[framed.length - 2] = 0x0d;
      framed[framed.length - 1] = 0x0a;
      flushed = socket.write(framed);
    } else {
      socket.cork();
      socket.write(chunkHead(chunk.length), 'latin1');
      socket.write(chunk);
      flushed = socket.write(CRLF);
      socket.uncork();
    }
    if (!flushed) {
      req.pause();
      socket.once('drain', onDrain);
    }
  };
  const onDrain = (): void => {
    req.resume();
  };
  const onEnd = (): void => {
    // The final chunk (or nothing, without chunked framing), written by Node after ours.
    res.end(() => settle());
  };
  const onFailure = (error: Error): void => {
    res.destroy();
    settle(error);
  };
  const onReqClose = (): void => {
    if (!req.complete) onFailure(new Error('the sender went away'));
  };
  const onResClose = (): void => {
    if (res.writableFinished) return;
    req.destroy();
    settle(new Error('the receiver went away'));
  };

  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onFailure);
  req.on('close', onReqClose);
  res.on('close', onResClose);
}
