/**
 * A userspace link emulator (this VM has no netem): a TCP proxy whose two directions each behave like
 * a bad mobile link — a one-way delay with jitter, a rate cap, stalls and blackouts.
 *
 * Deterministic for a given seed: everything random (each jitter value, each stall's start and
 * length) is drawn from a seeded PRNG as a function of *time since the link's t0*, never of how the
 * kernel happened to cut the byte stream into reads. Two proxies made from the same spec, seed and t0
 * impair their connections identically, which is what lets hoodycall and the tuned shell pipeline
 * live through the very same stalls in one run.
 *
 * How bytes move through one direction (`LinkDirection`):
 * - a read is queued; it starts on the wire when the wire is free (rate cap: a token bucket of one
 *   packet, i.e. each read takes bytes × 8 / rate to serialise, back to back), never during a stall;
 * - it arrives a one-way delay later (base ± jitter at its departure time), never during a stall,
 *   and never before the bytes sent before it (TCP does not reorder);
 * - the proxy reads from its source only while less than `queueBytes` wait in it: past that it stops
 *   reading, so the backlog piles up where a slow link piles it up, in the sender's kernel (its socket
 *   send buffer), which a talker cannot see from `write()` — exactly what issue 13 describes.
 */
import net from 'node:net';
import { prng } from '../latency/signal.js';

export const HOST = '127.0.0.1';

/** An interval, ms since the link's t0, during which the link carries nothing (a stall or a blackout). */
export interface Outage {
  readonly fromMs: number;
  readonly toMs: number;
  readonly kind: 'stall' | 'blackout';
}

export interface DirectionSpec {
  /** One-way delay, ms. */
  readonly delayMs?: number;
  /** Uniform jitter: each delay is delayMs ± jitterMs (drawn anew every JITTER_SLOT_MS of time). */
  readonly jitterMs?: number;
  /** Rate cap, bit/s (undefined: no cap), counting TCP/IP headers too (see SEGMENT_OVERHEAD_BYTES). */
  readonly rateBps?: number;
  /** Whether this direction stops during the link's outages. */
  readonly outages?: boolean;
}

export interface OutagePlan {
  readonly kind: 'stall' | 'blackout';
  /** Time of the first outage's start, ms after t0 (default: one interval). */
  readonly firstMs?: number;
  /** Gap between the starts of consecutive outages, ms, drawn uniformly in [min, max]. */
  readonly everyMs: readonly [number, number];
  /** Length of each outage, ms, drawn uniformly in [min, max]. */
  readonly lengthMs: readonly [number, number];
}

export interface LinkSpec {
  /** Talker → relay. */
  readonly up: DirectionSpec;
  /** Relay → talker. */
  readonly down: DirectionSpec;
  readonly outages?: OutagePlan;
  /** How many bytes the proxy holds per direction before it stops reading (default 16 KiB). */
  readonly queueBytes?: number;
}

/**
 * A rate cap is a cap on what the radio carries, headers included: each read is charged 52 bytes (IPv4
 * + TCP with timestamps, as tcpdump showed for the talker's segments) per 1448-byte segment it would
 * take. Small writes (one page each) go as one segment each; a backlog goes in full segments.
 */
export const SEGMENT_OVERHEAD_BYTES = 52;
export const SEGMENT_PAYLOAD_BYTES = 1448;

/** Jitter changes every this many ms (a link's queueing delay drifts; it does not flip per byte). */
export const JITTER_SLOT_MS = 20;
export const DEFAULT_QUEUE_BYTES = 16 * 1024;

const between = (random: () => number, [low, high]: readonly [number, number]): number => low + random() * (high - low);

/** The outages of a plan up to `untilMs`, in order, from its own PRNG stream. */
export function planOutages(plan: OutagePlan | undefined, seed: number, untilMs: number): Outage[] {
  if (plan === undefined) return [];
  const random = prng(seed ^ 0x7a6e);
  const outages: Outage[] = [];
  let start = plan.firstMs ?? between(random, plan.everyMs);
  while (start < untilMs) {
    const length = between(random, plan.lengthMs);
    outages.push({ fromMs: Math.round(start), toMs: Math.round(start + length), kind: plan.kind });
    // The next one starts an interval after this one's start, but never before this one ended.
    start = Math.max(start + between(random, plan.everyMs), start + length + 1);
  }
  return outages;
}

/**
 * The pure timing model of one direction: given when a read came in and its size, when it is
 * delivered. Times are absolute (any monotonic clock, ms); `origin()` is the clock's reading at the
 * link's t0, which the jitter slots and outages count from. The origin may move forward before the
 * call starts (it is set when the first sound is made): what was scheduled stays put.
 */
export class DirectionModel {
  readonly #spec: DirectionSpec;
  readonly #outages: readonly Outage[];
  readonly #jitter: number[] = [];
  readonly #random: () => number;
  readonly #origin: () => number;
  #wireFreeAt = -Infinity;
  #lastDelivery = -Infinity;

  constructor(spec: DirectionSpec, outages: readonly Outage[], seed: number, origin: () => number = () => 0) {
    this.#spec = spec;
    this.#outages = spec.outages === true ? outages : [];
    this.#random = prng(seed);
    this.#origin = origin;
  }

  /** The one-way delay for bytes that leave at `atMs`. */
  delayAt(atMs: number): number {
    const base = this.#spec.delayMs ?? 0;
    const spread = this.#spec.jitterMs ?? 0;
    if (spread === 0) return base;
    const slot = Math.max(0, Math.floor((atMs - this.#origin()) / JITTER_SLOT_MS));
    // Draw slots in order, so slot k's value depends on the seed and k only.
    while (this.#jitter.length <= slot) this.#jitter.push((this.#random() * 2 - 1) * spread);
    return Math.max(0, base + (this.#jitter[slot] ?? 0));
  }

  /** The first time at or after `atMs` outside every outage. */
  openAt(atMs: number): number {
    const origin = this.#origin();
    let t = atMs - origin;
    for (const outage of this.#outages) {
      if (t >= outage.fromMs && t < outage.toMs) t = outage.toMs;
    }
    return t + origin;
  }

  /** When `bytes` read at `nowMs` reach the far end. */
  schedule(nowMs: number, bytes: number): number {
    const start = this.openAt(Math.max(nowMs, this.#wireFreeAt));
    const rate = this.#spec.rateBps;
    const onWire = bytes + SEGMENT_OVERHEAD_BYTES * Math.max(1, Math.ceil(bytes / SEGMENT_PAYLOAD_BYTES));
    const sent = rate === undefined ? start : start + (onWire * 8 * 1000) / rate;
    this.#wireFreeAt = sent;
    const arrival = this.openAt(sent + this.delayAt(sent));
    this.#lastDelivery = Math.max(this.#lastDelivery, arrival);
    return this.#lastDelivery;
  }
}

export interface LinkCounters {
  /** Bytes read from the talker (up) and delivered to the relay. */
  upIn: number;
  upOut: number;
  downIn: number;
  downOut: number;
  /** The most bytes waiting in the proxy, per direction. */
  upQueuedMax: number;
  downQueuedMax: number;
}

export interface LinkProxy {
  readonly port: number;
  readonly counters: LinkCounters;
  readonly outages: readonly Outage[];
  close(): void;
}

export interface LinkProxyOptions {
  readonly targetPort: number;
  readonly spec: LinkSpec;
  readonly seed: number;
  /** Plan outages this far ahead, ms. */
  readonly horizonMs: number;
  /** The clock, ms (performance.now). */
  readonly now: () => number;
  /** The clock's reading at the link's t0 (may move forward until the call starts): proxies that share it and the seed share one schedule. */
  readonly origin: () => number;
}

/** One direction of one connection: a bounded queue of reads, each released at its delivery time. */
class Pipe {
  readonly #model: DirectionModel;
  readonly #from: net.Socket;
  readonly #to: net.Socket;
  readonly #limit: number;
  readonly #now: () => number;
  readonly #onMoved: (inBytes: number, outBytes: number, queued: number) => void;
  readonly #queue: { chunk: Buffer; due: number }[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | null = null;
  #ended = false;

  constructor(model: DirectionModel, from: net.Socket, to: net.Socket, limit: number, now: () => number, onMoved: (inBytes: number, outBytes: number, queued: number) => void) {
    this.#model = model;
    this.#from = from;
    this.#to = to;
    this.#limit = limit;
    this.#now = now;
    this.#onMoved = onMoved;
    from.on('data', (chunk: Buffer) => this.#take(chunk));
    from.on('end', () => {
      this.#ended = true;
      this.#release();
    });
  }

  #take(chunk: Buffer): void {
    // Segment by segment, as a link carries a large read: its first bytes arrive long before its last.
    const now = this.#now();
    for (let at = 0; at < chunk.length; at += SEGMENT_PAYLOAD_BYTES) {
      const segment = chunk.subarray(at, at + SEGMENT_PAYLOAD_BYTES);
      this.#queue.push({ chunk: segment, due: this.#model.schedule(now, segment.length) });
    }
    this.#queued += chunk.length;
    this.#onMoved(chunk.length, 0, this.#queued);
    // Hold no more than the link's queue: the rest stays in the kernel, on the sender's side.
    if (this.#queued >= this.#limit) this.#from.pause();
    this.#release();
  }

  #release(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const now = this.#now();
    while (this.#queue.length > 0 && (this.#queue[0]?.due ?? Infinity) <= now) {
      const item = this.#queue.shift();
      if (item === undefined) break;
      this.#queued -= item.chunk.length;
      if (!this.#to.destroyed) this.#to.write(item.chunk);
      this.#onMoved(0, item.chunk.length, this.#queued);
    }
    if (this.#queued < this.#limit && this.#from.isPaused()) this.#from.resume();
    const next = this.#queue[0];
    if (next !== undefined) this.#timer = setTimeout(() => this.#release(), Math.max(0, next.due - now));
    else if (this.#ended && !this.#to.destroyed) this.#to.end();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Starts the proxy on a free loopback port; every connection to it goes to `targetPort` through the link. */
export async function startLinkProxy(options: LinkProxyOptions): Promise<LinkProxy> {
  const { spec, seed } = options;
  const outages = planOutages(spec.outages, seed, options.horizonMs);
  const counters: LinkCounters = { upIn: 0, upOut: 0, downIn: 0, downOut: 0, upQueuedMax: 0, downQueuedMax: 0 };
  const sockets = new Set<net.Socket>();
  const pipes = new Set<Pipe>();
  const limit = spec.queueBytes ?? DEFAULT_QUEUE_BYTES;
  const now = options.now;
  let connection = 0;
  const server = net.createServer((client) => {
    connection += 1;
    const upstream = net.connect({ host: HOST, port: options.targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    // Each connection's jitter comes from its own stream of the seed; outages are the link's own.
    const up = new Pipe(new DirectionModel(spec.up, outages, seed * 7919 + connection * 2, options.origin), client, upstream, limit, now, (i, o, q) => {
      counters.upIn += i;
      counters.upOut += o;
      counters.upQueuedMax = Math.max(counters.upQueuedMax, q);
    });
    const down = new Pipe(new DirectionModel(spec.down, outages, seed * 7919 + connection * 2 + 1, options.origin), upstream, client, limit, now, (i, o, q) => {
      counters.downIn += i;
      counters.downOut += o;
      counters.downQueuedMax = Math.max(counters.downQueuedMax, q);
    });
    pipes.add(up);
    pipes.add(down);
    const teardown = (): void => {
      up.stop();
      down.stop();
      pipes.delete(up);
      pipes.delete(down);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        port,
        counters,
        outages,
        close: () => {
          for (const pipe of pipes) pipe.stop();
          for (const socket of sockets) socket.destroy();
          server.close();
        },
      });
    });
  });
}
