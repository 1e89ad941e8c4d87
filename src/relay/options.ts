/**
 * Every limit and timer of the relay, with the reason for its default. A call lasts hours, so no timer
 * here may cut a stream that is moving; the only timers that touch an established pipe are idle ones.
 */
import { parseTrustedProxies } from './client-address.js';

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
  /** Open TCP connections one client address may hold (connections from a trusted proxy are not counted). */
  maxConnectionsPerClient?: number;
  /** IPv6 clients are counted per network of this prefix length (a host usually gets a whole /64). */
  ipv6PrefixLength?: number;
  /** Largest request head (request line plus headers), in bytes. */
  maxHeaderSize?: number;
  /** Largest `?n=` fan-out. */
  maxReceivers?: number;
  /** Bytes one pipe may hold for its receivers (queued, or in Node's socket buffers) before its sender is held back. */
  pipeBufferBytes?: number;
  /** Bytes all pipes together may hold; past it, each pipe is held back at PIPE_MIN_SHARE (pump.ts). */
  relayBufferBytes?: number;
  /**
   * Proxies (CIDRs or addresses) whose `X-Forwarded-For` / `Forwarded` header names the client. Requests
   * from anywhere else are counted by their own address, whatever they claim.
   */
  trustProxy?: readonly string[];
  /**
   * Page origins (`https://app.example`) whose pages may open a WebSocket talker, besides the relay's own
   * page; `*` allows any. A client that sends no Origin (not a browser) is always allowed.
   */
  allowOrigins?: readonly string[];
  /** When set, `/metrics` is served on the relay's own listener to `Authorization: Bearer <token>` only. */
  metricsToken?: string;
  /** HTTPS: PEM certificate and key. Without them the relay speaks plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** One access-log line per pipe; nothing is logged when absent. A throwing logger is ignored. */
  log?: (line: string) => void;
}

type NumericOption = Exclude<keyof RelayOptions, 'trustProxy' | 'allowOrigins' | 'metricsToken' | 'tls' | 'log'>;

export type ResolvedRelayOptions = Required<Pick<RelayOptions, NumericOption | 'trustProxy' | 'allowOrigins'>> &
  Pick<RelayOptions, 'metricsToken' | 'tls' | 'log'>;

const KiB = 1024;
const MiB = 1024 * KiB;

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
  // Twice the pipe ends an address may hold, for its page loads and kept-alive connections: one address
  // cannot take the relay's connections (an idle connection costs ~10 KiB and a file descriptor).
  maxConnectionsPerClient: 64,
  // RFC 6177 and common practice: one subscriber or host gets a /64, which holds 2^64 addresses.
  ipv6PrefixLength: 64,
  // Pipe requests are small; Node's default is 16 KiB.
  maxHeaderSize: 8_192,
  maxReceivers: 64,
  // As much as Node's own socket buffers held per pipe before (256 KiB high-water mark): a fast bulk
  // transfer keeps its pace, and a call stalled behind a slow receiver (64 s of 32 kbit/s Opus) is
  // held back well before it costs memory.
  pipeBufferBytes: 256 * KiB,
  // 1,000 pipes stalled at their full buffer; --max-pipes stalled pipes at the minimum share fit too.
  relayBufferBytes: 256 * MiB,
} satisfies Required<Pick<RelayOptions, NumericOption>>);

const LIMITS: Partial<Record<NumericOption, readonly [number, number]>> = {
  maxReceivers: [1, 1_000],
  ipv6PrefixLength: [1, 128],
  pipeBufferBytes: [16 * KiB, 64 * MiB],
  relayBufferBytes: [16 * KiB, 64 * 1024 * MiB],
};

/** The origins `allowOrigins` may list: `*`, or a scheme and host with an optional port, nothing else. */
const ORIGIN = /^https?:\/\/[^/?#@\s]+$/;

export function resolveRelayOptions(options: RelayOptions = {}): ResolvedRelayOptions {
  const resolved: ResolvedRelayOptions = { ...DEFAULT_RELAY_OPTIONS, trustProxy: [], allowOrigins: [] };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) Object.assign(resolved, { [key]: value });
  }
  for (const key of Object.keys(DEFAULT_RELAY_OPTIONS) as NumericOption[]) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${key} must be a whole number >= 0, got ${value}`);
    const [min, max] = LIMITS[key] ?? [0, Number.MAX_SAFE_INTEGER];
    if (value < min || value > max) throw new RangeError(`${key} must be from ${min} to ${max}, got ${value}`);
  }
  // Throws a RangeError naming the entry that is not a CIDR or an address.
  parseTrustedProxies(resolved.trustProxy);
  for (const origin of resolved.allowOrigins) {
    if (origin !== '*' && !ORIGIN.test(origin)) throw new RangeError(`allowOrigins: ${JSON.stringify(origin)} is not an origin such as https://app.example`);
  }
  if (resolved.metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(resolved.metricsToken)) {
    throw new RangeError('metricsToken must be 16-256 visible ASCII characters');
  }
  return resolved;
}
