/**
 * An HTTP sender's request body as the pump's source (pump.ts).
 *
 * Holding a sender back must stop the relay reading its socket: pausing the IncomingMessage is not
 * enough, because Node keeps reading into the message's buffer up to its high-water mark, counted in
 * bytes, i.e. up to 256 K one-byte Buffers from a sender that sends one-byte chunks. So the body is
 * always read as it comes (flowing), and holding back pauses the socket itself. The message's `_read`
 * is what Node calls to resume that socket when the message wants more; while held back it does
 * nothing (PipeRequest), so only `resume()` starts the socket again.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { ByteSource, SourceHandlers } from './pump.js';

const noop = (): void => undefined;

/**
 * The request class of the relay's server (server.ts): an IncomingMessage whose reading can be held
 * back. A field, not a property added later, so every request keeps one shape (V8 would otherwise
 * slow down every access to a message it had to reshape).
 */
export class PipeRequest extends IncomingMessage {
  heldBack = false;

  override _read(size: number): void {
    if (!this.heldBack) super._read(size);
  }
}

/** For a request from a server of someone else's (not a PipeRequest): the same guard, installed once. */
function holdable(req: IncomingMessage): { heldBack: boolean } {
  if (req instanceof PipeRequest) return req;
  const state = { heldBack: false };
  const read = req._read.bind(req);
  Object.defineProperty(req, '_read', {
    value: (size: number): void => {
      if (!state.heldBack) read(size);
    },
  });
  return state;
}

export class RequestSource implements ByteSource {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #viaProxy: boolean;
  #hold: { heldBack: boolean } | undefined;
  #paused = false;
  #stopped = false;

  /**
   * `viaProxy`: the sender came through a trusted proxy. It is never probed: nginx passes an interim
   * `100 Continue` on as a response of its own with `Connection: close`, and a client then fails on the
   * real response after it ("Data after Connection: close", Node's parser). Such a sender that leaves
   * while held back is noticed at the hold instead.
   */
  constructor(req: IncomingMessage, res: ServerResponse, viaProxy = false) {
    this.#req = req;
    this.#res = res;
    this.#viaProxy = viaProxy;
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
    this.#hold ??= holdable(this.#req);
    this.#hold.heldBack = true;
    this.#req.socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#hold !== undefined) this.#hold.heldBack = false;
    // A socket already closed has nothing to resume.
    if (!this.#req.socket.destroyed) this.#req.socket.resume();
  }

  probe(): boolean {
    if (this.#viaProxy) return false;
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
