/**
 * What the voice-shaped case's load-generator workers (voice-worker.ts) and the bench process
 * (relay-voice.ts) say to each other over IPC, the page format on the wire, and the latency histogram.
 *
 * A page is 100 bytes, as a 20 ms Opus page of a talker is: the send time (float64, performance.now()
 * of the worker that holds both ends of the call), the page's sequence number (uint32) and the call's
 * index (uint32), then filler. Over HTTP each page is one chunk of a chunked PUT, as `curl -T -` and
 * `hoodycall talk` send them.
 */
import type { Endpoint } from './clients.js';

export const PAGE_BYTES = 100;
export const PAGE_MS = 20;

/** Latency histogram: 0.05 ms buckets up to 2 s, the last bucket for everything later. */
export const BUCKET_MS = 0.05;
export const BUCKETS = 40_001;

export interface CallSpec {
  readonly name: string;
  /** Global index of the call: the page carries it. */
  readonly index: number;
  /** Which 1 ms slot of the 20 ms period the call's pages go out in (the stagger). */
  readonly slot: number;
}

export type ToWorker =
  | { kind: 'setup'; endpoint: Endpoint; calls: readonly CallSpec[] }
  | { kind: 'connect' }
  | { kind: 'start' }
  | { kind: 'mark' }
  | { kind: 'report' }
  | { kind: 'stop' };

export interface WindowReport {
  readonly sent: number;
  readonly received: number;
  /** Non-zero buckets only, as [bucket, count] pairs. */
  readonly histogram: ReadonlyArray<readonly [number, number]>;
  readonly maxMs: number;
  /** This worker's CPU in the window, in seconds (user + system). */
  readonly cpuSeconds: number;
  /** Of which in the kernel. */
  readonly systemSeconds: number;
  /** Event-loop utilization of this worker in the window (0–1): near 1, its timing is suspect. */
  readonly elu: number;
}

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'connected'; failures: readonly string[] }
  /** Paging started; `stuck` calls had delivered no page after 30 s. */
  | { kind: 'started'; stuck: number }
  | { kind: 'marked' }
  | { kind: 'report'; report: WindowReport }
  | { kind: 'stopped'; sent: number; received: number; lost: number; unclean: number; errors: readonly string[] };

/** Merges workers' sparse histograms and reads percentiles (nearest rank) and counts. */
export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  total = 0;
  maxMs = 0;

  add(sparse: ReadonlyArray<readonly [number, number]>, maxMs: number): void {
    for (const [bucket, count] of sparse) {
      this.counts[bucket] = (this.counts[bucket] ?? 0) + count;
      this.total += count;
    }
    this.maxMs = Math.max(this.maxMs, maxMs);
  }

  /** The upper edge of the bucket holding the p-th percentile, in ms. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket] ?? 0;
      if (seen >= rank) return bucket === BUCKETS - 1 ? this.maxMs : (bucket + 1) * BUCKET_MS;
    }
    return this.maxMs;
  }
}
