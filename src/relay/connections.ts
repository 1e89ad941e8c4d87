/**
 * What the relay knows of each HTTP connection, for the pipelining rule and for parse errors: the
 * response it owes now, whether it carries a pipe side, whether it is being closed. Kept in a WeakMap
 * keyed by socket, so a connection that goes takes its record with it.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Connection {
  /** The response this connection owes now (its request is the one not pipelined). */
  response: ServerResponse | undefined;
  /** The connection carries a pipe side, from its admission until it ends. */
  pipeSide: boolean;
  /** An answer with `Connection: close` is queued: nothing more on this connection is answered. */
  closing: boolean;
  /** Pipelined requests left unanswered behind `closing`. */
  ignored: number;
}

/**
 * Requests left unanswered behind a pipelined one, before the connection is closed at once: a client
 * that sends more without reading is flooding, and Node holds what it parsed per connection until the
 * connection closes.
 */
export const MAX_IGNORED_PIPELINED = 16;

/**
 * What to do with a request that came while its connection still owes a response (HTTP pipelining):
 * - `close`: close the connection at once. Behind a pipe side, whose connection must stay read (or its
 *   peer's FIN goes unseen), and past MAX_IGNORED_PIPELINED.
 * - `ignore`: leave it unanswered; an answer with `Connection: close` is already queued.
 * - `refuse`: answer it `400` with `Connection: close` after the owed answer, and read no more.
 */
export function pipelinedAction(connection: Connection): 'close' | 'ignore' | 'refuse' {
  if (connection.pipeSide) return 'close';
  if (!connection.closing) return 'refuse';
  connection.ignored += 1;
  return connection.ignored > MAX_IGNORED_PIPELINED ? 'close' : 'ignore';
}

export class Connections {
  readonly #records = new WeakMap<Socket, Connection>();
  /** The 'finish' and 'close' listener of every owed response (`this` is the response), no closure each. */
  readonly #settled: (this: ServerResponse) => void;

  constructor() {
    const records = this.#records;
    this.#settled = function settled(this: ServerResponse): void {
      const connection = records.get(this.req.socket);
      if (connection?.response === this) connection.response = undefined;
    };
  }

  /** The record of a connection, created on first use. */
  of(socket: Socket): Connection {
    let connection = this.#records.get(socket);
    if (connection === undefined) {
      connection = { response: undefined, pipeSide: false, closing: false, ignored: 0 };
      this.#records.set(socket, connection);
    }
    return connection;
  }

  /** The record of a connection, if a request came on it. */
  peek(socket: Socket): Connection | undefined {
    return this.#records.get(socket);
  }

  /**
   * Notes `res` as the response its connection owes until it finishes. Returns false when the request
   * is pipelined (Node queued its response behind another), for `pipelinedAction` to decide.
   */
  owe(socket: Socket, res: ServerResponse): boolean {
    if (res.socket === null) return false;
    this.of(socket).response = res;
    res.once('finish', this.#settled);
    res.once('close', this.#settled);
    return true;
  }
}
