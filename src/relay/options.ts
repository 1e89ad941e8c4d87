/**
 * Every limit and timer of the relay, with the reason for its default. A call lasts hours, so no timer
 * here may cut a stream that is moving; the only timers that touch an established pipe are idle ones.
 */

export interface RelayOptions {
  /** How long the first side of a pipe waits for the other side, in ms. */
  holdMs?: number;
  /** An established pipe where no byte moves for this long is aborted (a dead peer), in ms; 0 = never. */
  idleTimeoutMs?: number;
  /** Total time a client has to send its request headers (slowloris), in ms. */
  headersTimeoutMs?: number;
  /** Pipes (waiting or streaming) the relay holds in all. */
  maxPipes?: number;
  /** Pipe ends (senders plus receivers, waiting or streaming) one client address may hold. */
  maxPipesPerClient?: number;
  /** Open TCP connections in all, idle ones included. */
  maxConnections?: number;
  /** Largest request head (request line plus headers), in bytes. */
  maxHeaderSize?: number;
  /** Largest `?n=` fan-out. */
  maxReceivers?: number;
  /** HTTPS: PEM certificate and key. Without them the relay speaks plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** One access-log line per pipe; nothing is logged when absent. */
  log?: (line: string) => void;
}

export type ResolvedRelayOptions = Required<Omit<RelayOptions, 'tls' | 'log'>> & Pick<RelayOptions, 'tls' | 'log'>;

export const DEFAULT_RELAY_OPTIONS = Object.freeze({
  // The product promise: either side may arrive first and is held for five minutes.
  holdMs: 300_000,
  // Opus in Ogg moves a page every 20 ms; a minute of nothing is a vanished peer, whose half-open TCP
  // connection would otherwise hold the name for up to 15 minutes (tcp_retries2).
  idleTimeoutMs: 60_000,
  // Node's default is 60 s, and `requestTimeout: 0` would silently make it 0; 10 s bounds slowloris.
  headersTimeoutMs: 10_000,
  maxPipes: 2_000,
  // Enough for an office behind one NAT address to hold a few calls and a bridge, not a whole relay.
  maxPipesPerClient: 32,
  // Below the usual 20,000 fd limit with room for the process's own files.
  maxConnections: 10_000,
  // Pipe requests are small; Node's default is 16 KiB.
  maxHeaderSize: 8_192,
  maxReceivers: 64,
} satisfies Required<Omit<RelayOptions, 'tls' | 'log'>>);

export function resolveRelayOptions(options: RelayOptions = {}): ResolvedRelayOptions {
  const resolved: ResolvedRelayOptions = { ...DEFAULT_RELAY_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) Object.assign(resolved, { [key]: value });
  }
  for (const key of Object.keys(DEFAULT_RELAY_OPTIONS) as (keyof typeof DEFAULT_RELAY_OPTIONS)[]) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${key} must be a whole number >= 0, got ${value}`);
  }
  if (resolved.maxReceivers < 1) throw new RangeError('maxReceivers must be at least 1');
  return resolved;
}
