import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/**
 * What the handler uses of a sender's request: an IncomingMessage, or the WebSocket bridge's
 * stand-in (websocket.ts), whose body is the socket's binary messages.
 */
export type PartyRequest = Readable & {
  readonly headers: IncomingHttpHeaders;
  readonly complete: boolean;
  readonly socket: Socket;
};

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
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}
