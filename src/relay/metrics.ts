import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export type Rejection =
  | 'bad-request'
  | 'not-found'
  | 'method'
  | 'busy'
  | 'receivers-mismatch'
  | 'hold-expired'
  | 'client-limit'
  | 'relay-limit'
  /** A request sent before the answer to the one before it (HTTP pipelining). */
  | 'pipelined'
  /** A WebSocket talker from a page of another origin. */
  | 'origin'
  | 'shutdown';

export type PipeOutcome =
  | 'done'
  | 'sender-aborted'
  | 'receiver-left'
  | 'idle-timeout'
  | 'hold-expired'
  | 'left-waiting'
  /** The same caller dialled again (its session id) while the relay still held its old connection. */
  | 'replaced'
  /** A side came with another `n`: the waiting pipe was closed for everyone (it cannot be probed silently). */
  | 'mismatch'
  /** The relay was full and a client holding fewer pipe ends took this waiting pipe's place. */
  | 'evicted'
  | 'shutdown';

export interface MetricSource {
  waiting(): number;
  streaming(): number;
  relayedBytes(): number;
  bufferedBytes(): number;
}

export interface RelayMetrics {
  readonly registry: Registry;
  rejected(reason: Rejection): void;
  ended(outcome: PipeOutcome): void;
  /**
   * The exposition text, rendered at most once per RENDER_INTERVAL_MS and shared: a scrape costs a
   * string copy, whatever the request rate. A string when the cached text is fresh, else a promise of it.
   */
  render(): string | Promise<string>;
}

/** How old the served metrics text may be: Prometheus scrapes every 15 s or more. */
export const RENDER_INTERVAL_MS = 1_000;

/** A registry of its own per relay, so several relays in one process (tests, embedding) do not clash. */
export function createRelayMetrics(source: MetricSource): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hoodycall_' });
  new Gauge({
    name: 'hoodycall_pipes',
    help: 'Pipes held by the relay, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'waiting' }, source.waiting());
      this.set({ state: 'streaming' }, source.streaming());
    },
  });
  new Gauge({
    name: 'hoodycall_buffered_bytes',
    help: 'Bytes the pipes hold for their receivers, as counted against --relay-buffer.',
    registers: [registry],
    collect() {
      this.set(source.bufferedBytes());
    },
  });
  let reportedBytes = 0;
  new Counter({
    name: 'hoodycall_relayed_bytes_total',
    help: 'Body bytes received from senders and passed on to receivers.',
    registers: [registry],
    collect() {
      const bytes = source.relayedBytes();
      this.inc(bytes - reportedBytes);
      reportedBytes = bytes;
    },
  });
  const rejections = new Counter({
    name: 'hoodycall_rejections_total',
    help: 'Requests refused, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'hoodycall_pipes_ended_total',
    help: 'Pipes that ended, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  let cached: { text: string; at: number } | undefined;
  let rendering: Promise<string> | undefined;
  return {
    registry,
    rejected: (reason) => rejections.inc({ reason }),
    ended: (outcome) => outcomes.inc({ outcome }),
    render() {
      if (cached !== undefined && Date.now() - cached.at < RENDER_INTERVAL_MS) return cached.text;
      rendering ??= registry.metrics().then(
        (text) => {
          cached = { text, at: Date.now() };
          rendering = undefined;
          return text;
        },
        (error: unknown) => {
          rendering = undefined;
          throw error;
        },
      );
      return rendering;
    },
  };
}
