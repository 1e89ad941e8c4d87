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
  | 'shutdown';

export interface MetricSource {
  waiting(): number;
  streaming(): number;
  relayedBytes(): number;
}

export interface RelayMetrics {
  readonly registry: Registry;
  rejected(reason: Rejection): void;
  ended(outcome: PipeOutcome): void;
}

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
  return {
    registry,
    rejected: (reason) => rejections.inc({ reason }),
    ended: (outcome) => outcomes.inc({ outcome }),
  };
}
