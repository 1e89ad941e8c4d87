import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What the handler uses of a side's request: an IncomingMessage, or the WebSocket bridge's stand-in
 * (websocket.ts). A sender's bytes come from its ByteSource (pump.ts), not from here.
 */
export interface PartyRequest {
  readonly headers: IncomingHttpHeaders;
  /** The request (its body included) has been read to its end: a refusal need not wait for more. */
  readonly complete: boolean;
  readonly socket: Socket;
  once(event: 'end', listener: () => void): unknown;
}

/**
 * What the handler uses of a sender's response: a ServerResponse, or the WebSocket bridge's stand-in,
 * which turns status lines into text messages and the end into a close frame.
 */
export interface PartyResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  writeContinue(): void;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(text: string): unknown;
  end(body?: string | Buffer, callback?: () => void): unknown;
  /**
   * The relay is about to end this sender's response with a reason: it tore the pipe down. An HTTP
   * response needs no word of it (the reason line says it); a WebSocket closes with 4000, not 1000.
   */
  tearingDown?(): void;
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}
