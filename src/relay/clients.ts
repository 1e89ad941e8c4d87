/**
 * The relay's view of its clients: the key each is counted under (client-address.ts), and how many
 * connections each key holds, against `maxConnectionsPerClient`. A connection from a trusted proxy is
 * not counted against the proxy's address: it carries many clients, and a request on it is counted
 * under the client it is forwarded for (pipe ends, in the handler). Such connections are bounded by the
 * relay's total, and per client by the proxy (nginx `limit_conn`, HAProxy `maxconn`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BlockList, Socket } from 'node:net';
import { clientAddress, clientKey, isTrusted, parseTrustedProxies } from './client-address.js';
import type { ResolvedRelayOptions } from './options.js';

/** The key a counted connection was counted under, kept on the socket itself. */
const COUNTED_AS = Symbol('hoodycall.countedAs');
type CountedSocket = Socket & { [COUNTED_AS]?: string };

export class Clients {
  readonly #trusted: BlockList;
  readonly #ipv6PrefixLength: number;
  readonly #maxConnections: number;
  readonly #connections = new Map<string, number>();
  /** The 'close' listener of every counted socket (`this` is the socket). */
  readonly #uncount: (this: CountedSocket) => void;

  constructor(options: ResolvedRelayOptions) {
    this.#trusted = parseTrustedProxies(options.trustProxy);
    this.#ipv6PrefixLength = options.ipv6PrefixLength;
    this.#maxConnections = options.maxConnectionsPerClient;
    const connections = this.#connections;
    this.#uncount = function uncount(this: CountedSocket): void {
      const key = this[COUNTED_AS];
      if (key === undefined) return;
      const left = (connections.get(key) ?? 1) - 1;
      if (left <= 0) connections.delete(key);
      else connections.set(key, left);
    };
  }

  /** The key the client of a request is counted under. */
  of(req: { readonly socket: { readonly remoteAddress?: string | undefined }; readonly headers: IncomingHttpHeaders }): string {
    return clientKey(clientAddress(req.socket.remoteAddress, req.headers, this.#trusted), this.#ipv6PrefixLength);
  }

  /** Whether a connection comes from a trusted proxy, whose forwarding headers are then believed. */
  fromTrustedProxy(socket: { readonly remoteAddress?: string | undefined }): boolean {
    return isTrusted(this.#trusted, socket.remoteAddress);
  }

  /**
   * Counts a new connection under its address; false (and nothing counted) when that address already
   * holds its limit. The count drops when the socket closes.
   */
  connected(socket: Socket): boolean {
    if (isTrusted(this.#trusted, socket.remoteAddress)) return true;
    const key = clientKey(socket.remoteAddress, this.#ipv6PrefixLength);
    const held = this.#connections.get(key) ?? 0;
    if (held >= this.#maxConnections) return false;
    this.#connections.set(key, held + 1);
    // One listener function for every socket, no closure per connection: an idle connection is cheap.
    (socket as CountedSocket)[COUNTED_AS] = key;
    socket.once('close', this.#uncount);
    return true;
  }

  /** Connections counted under the key of `address` (for tests and stats). */
  connectionsOf(address: string): number {
    return this.#connections.get(clientKey(address, this.#ipv6PrefixLength)) ?? 0;
  }
}
