/**
 * An HTTP sender's request body as the pump's source (pump.ts).
 *
 * Holding a sender back must stop the relay reading its socket: pausing the IncomingMessage is not
 * enough, because Node keeps reading into the message's buffer up to its high-water mark, counted in
 * bytes, i.e. up to 256 K one-byte Buffers from a sender that sends one-byte chunks. So the body is
 * always read as it comes (flowing), and holding back pauses the socket itself. The message's `_read`
 * is what Node calls to resume that socket when the message wants more; while held back it is a no-op
 * on this one message, so only `resume()` starts the socket again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ByteSource, SourceHandlers } from './pump.js';

const noop = (): void => undefined;

export class RequestSource implements ByteSource {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #paused = false;
  #stopped = false;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req;
    this.#res = res;
  }

  start(handlers: SourceHandlers): void {
    const req = this.#req;
    req.on('data', (chunk: Buffer) => {
      if (!this.#stopped) handlers.chunk(chunk);
    });
    req.once('end', () => {
      if (!this.#stopped) handlers.end();
    });
    // 'aborted' (ECONNRESET) when the connection closes mid-body; 'close' says the same, once.
    req.on('error', noop);
    req.once('close', () => {
      if (!req.complete && !this.#stopped) handlers.abort(new Error("the sender's connection closed before its body ended"));
    });
  }

  pause(): void {
    if (this.#paused || this.#stopped) return;
    this.#paused = true;
    Object.defineProperty(this.#req, '_read', { value: noop, configurable: true, writable: true });
    this.#req.socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    Reflect.deleteProperty(this.#req, '_read');
    // A socket already closed or handed elsewhere has nothing to resume.
    if (!this.#req.socket.destroyed) this.#req.socket.resume();
  }

  probe(): boolean {
    const res = this.#res;
    const http11 = this.#req.httpVersionMajor === 1 && this.#req.httpVersionMinor === 1;
    if (!http11 || res.headersSent || res.writableEnded || res.destroyed || res.socket === null) return false;
    res.writeContinue();
    return true;
  }

  stop(): void {
    this.#stopped = true;
    this.resume();
  }
}
