/**
 * The four measurements, each against one running relay. They use the same clients (clients.ts) for
 * every relay and verify every byte they move (pattern.ts); a failed check throws.
 */
import { clientReads, ClientScope, openReceiver, openSender, type Endpoint, type Producer, type Receiver, type Sender } from './clients.js';
import { PatternChecker, seedFor, windowAt } from './pattern.js';
import { cpuSeconds, openFds, settledRss, type RunningRelay } from './servers.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
const WRITE_SIZE = 64 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `bytes` of the stream `seed`, in writes of 64 KiB, with backpressure. */
export function bulkBody(seed: number, bytes: number): Producer {
  return async (writer) => {
    let offset = 0;
    while (offset < bytes) {
      const length = Math.min(WRITE_SIZE, bytes - offset);
      const ok = writer.write(windowAt(seed, offset, length));
      offset += length;
      if (!ok) await writer.drained();
    }
    writer.end();
  };
}

/** How bulk senders frame their uploads: chunked (the default, like `curl -T -`) or with a Content-Length. */
let uploadFraming: 'chunked' | 'length' = 'chunked';

export function setUploadFraming(framing: 'chunked' | 'length'): void {
  uploadFraming = framing;
}

export interface Transfer {
  readonly receiver: Receiver;
  readonly sender: Sender;
  /** Both sides done and the bytes verified; resolves with performance.now() of the receiver's end. */
  readonly verified: Promise<number>;
}

/** A receiver, then a sender, for one pipe carrying `bytes` of pattern `seed`; checks what arrives. */
export function transfer(endpoint: Endpoint, scope: ClientScope, name: string, seed: number, bytes: number): Transfer {
  const checker = new PatternChecker(seed);
  const receiver = openReceiver(endpoint, name, scope, (data) => checker.check(data));
  const sender = openSender(endpoint, name, scope, bulkBody(seed, bytes), uploadFraming === 'length' ? bytes : undefined);
  return { receiver, sender, verified: verify(name, receiver, sender, checker, bytes) };
}

async function verify(name: string, receiver: Receiver, sender: Sender, checker: PatternChecker, bytes: number): Promise<number> {
  const receivedAt = receiver.done.then((result) => {
    const at = performance.now();
    if (result.bytes !== bytes) throw new Error(`pipe ${name}: received ${result.bytes} bytes, expected ${bytes}`);
    if (!checker.ok) throw new Error(`pipe ${name}: wrong bytes at offset ${checker.firstMismatch}`);
    return at;
  });
  const [at] = await Promise.all([receivedAt, sender.done]);
  return at;
}

/** Runs a few pipes so the relay's code is warm (JIT, first-connection setup) before anything is measured. */
async function warmUp(endpoint: Endpoint, pipes: number, bytes: number): Promise<void> {
  const scope = new ClientScope();
  try {
    const transfers = Array.from({ length: pipes }, (_, i) => transfer(endpoint, scope, `warm-${i}`, seedFor(i), bytes));
    await Promise.all(transfers.map((t) => t.verified));
  } finally {
    scope.destroyAll();
  }
}

export interface OnePipeResult {
  readonly mibPerSecond: number;
  readonly serverCpuPerGiB: number;
  readonly clientCpuPerGiB: number;
  /** Mean bytes per socket read at the receivers: small when the relay forwards in small pieces. */
  readonly kibPerRead: number;
}

/** (a) One pipe of `bytes`: throughput, and the relay's CPU seconds per GiB relayed. */
export async function onePipe(relay: RunningRelay, scope: ClientScope, bytes: number): Promise<OnePipeResult> {
  await warmUp(relay.endpoint, 1, 16 * MiB);
  const cpuBefore = await cpuSeconds(relay.pid);
  const clientBefore = process.cpuUsage();
  const readsBefore = clientReads.count;
  const start = performance.now();
  const pipe = transfer(relay.endpoint, scope, 'one-pipe', seedFor(1), bytes);
  const end = await pipe.receiver.done.then(() => performance.now());
  const receiverReads = clientReads.count - readsBefore;
  await pipe.verified;
  const client = process.cpuUsage(clientBefore);
  const cpu = (await cpuSeconds(relay.pid)) - cpuBefore;
  return {
    mibPerSecond: bytes / MiB / ((end - start) / 1000),
    serverCpuPerGiB: cpu / (bytes / GiB),
    clientCpuPerGiB: (client.user + client.system) / 1e6 / (bytes / GiB),
    kibPerRead: bytes / 1024 / receiverReads,
  };
}

export interface SmallWritesResult {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
}

const RECORD_BYTES = 100;
const RECORD_HEAD = 12; // float64 send time (performance.now(), ms) + uint32 sequence number

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

/**
 * (b) 100-byte writes every `intervalMs` for `durationMs`: the sender stamps each record with
 * performance.now() just before writing it; the receiver (same process, same clock) subtracts that from
 * the time its socket read returned. Record 0 is a warm-up: timing starts once it has arrived.
 */
export async function smallWrites(relay: RunningRelay, scope: ClientScope, durationMs: number, intervalMs = 20): Promise<SmallWritesResult> {
  await warmUp(relay.endpoint, 1, MiB);
  const seed = seedFor(2);
  const count = Math.round(durationMs / intervalMs);
  const latencies: number[] = [];
  const partial = Buffer.alloc(RECORD_BYTES);
  let filled = 0;
  let expected = 0;
  let problem: string | undefined;
  let firstArrived: () => void = () => undefined;
  const warm = new Promise<void>((resolve) => {
    firstArrived = resolve;
  });

  const onRecord = (record: Buffer, now: number): void => {
    const sent = record.readDoubleLE(0);
    const sequence = record.readUInt32LE(8);
    if (sequence !== expected) problem ??= `record ${sequence} arrived, expected ${expected}`;
    expected = sequence + 1;
    if (!windowAt(seed, sequence * (RECORD_BYTES - RECORD_HEAD), RECORD_BYTES - RECORD_HEAD).equals(record.subarray(RECORD_HEAD))) {
      problem ??= `record ${sequence} is corrupt`;
    }
    if (sequence === 0) firstArrived();
    else latencies.push(now - sent);
  };
  const receiver = openReceiver(relay.endpoint, 'small-writes', scope, (data, now) => {
    let position = 0;
    while (position < data.length) {
      if (filled === 0 && data.length - position >= RECORD_BYTES) {
        onRecord(data.subarray(position, position + RECORD_BYTES), now);
        position += RECORD_BYTES;
        continue;
      }
      const take = Math.min(RECORD_BYTES - filled, data.length - position);
      data.copy(partial, filled, position, position + take);
      filled += take;
      position += take;
      if (filled === RECORD_BYTES) {
        filled = 0;
        onRecord(partial, now);
      }
    }
  });

  const record = (sequence: number): Buffer => {
    const buffer = Buffer.allocUnsafe(RECORD_BYTES);
    buffer.writeUInt32LE(sequence, 8);
    windowAt(seed, sequence * (RECORD_BYTES - RECORD_HEAD), RECORD_BYTES - RECORD_HEAD).copy(buffer, RECORD_HEAD);
    buffer.writeDoubleLE(performance.now(), 0);
    return buffer;
  };
  const sender = openSender(relay.endpoint, 'small-writes', scope, async (writer) => {
    writer.write(record(0));
    await warm;
    const start = performance.now();
    for (let sequence = 1; sequence <= count; sequence++) {
      const wait = start + sequence * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      if (!writer.write(record(sequence))) await writer.drained();
    }
    writer.end();
  });
  const [received] = await Promise.all([receiver.done, sender.done]);
  if (problem !== undefined) throw new Error(`small writes: ${problem}`);
  if (received.bytes !== (count + 1) * RECORD_BYTES || latencies.length !== count) {
    throw new Error(`small writes: ${latencies.length} of ${count} records, ${received.bytes} bytes`);
  }
  const sorted = [...latencies].sort((x, y) => x - y);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, samples: sorted.length };
}

export interface WaitingPipesResult {
  readonly pipes: number;
  readonly rssBeforeKiB: number;
  readonly rssAfterKiB: number;
  readonly kibPerPipe: number;
  /** Every receiver was accepted by the relay and none had been dropped when the senders came. */
  readonly held: boolean;
  /** Receivers that got their complete, correct body (and whose sender got its 200). */
  readonly delivered: number;
  readonly deliverSeconds: number;
}

const CONNECT_WAVE = 250;
const SMALL_BODY = 1_000;

async function waitFor(what: string, timeoutMs: number, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * (c) `pipes` receivers wait on distinct names with no sender: the relay's RSS growth per waiting pipe
 * (VmRSS, settled, before vs after). Receivers connect in waves of 250, each wave accepted by the relay
 * (its open fds) before the next, so no connection waits in the listen backlog. Then the senders arrive,
 * at most `inFlight` pipes at a time (so client and relay stay under the fd limit), and every pipe is
 * verified: its receiver got a 200 and exactly its 1,000 bytes, its sender a 200.
 */
export async function waitingPipes(relay: RunningRelay, scope: ClientScope, pipes: number, inFlight: number): Promise<WaitingPipesResult> {
  const { endpoint, pid } = relay;
  await warmUp(endpoint, 20, SMALL_BODY);
  // The relay closes the warm-up connections as their FINs arrive: wait until its fd count is still.
  let fdsBefore = await openFds(pid);
  for (let still = 0; still < 5; ) {
    await sleep(50);
    const fds = await openFds(pid);
    still = fds === fdsBefore ? still + 1 : 0;
    fdsBefore = fds;
  }
  const rssBeforeKiB = await settledRss(pid);

  const checkers: PatternChecker[] = [];
  const receivers: Receiver[] = [];
  const failures: string[] = [];
  for (let wave = 0; wave < pipes; wave += CONNECT_WAVE) {
    const end = Math.min(pipes, wave + CONNECT_WAVE);
    for (let i = wave; i < end; i++) {
      const checker = new PatternChecker(seedFor(i));
      const receiver = openReceiver(endpoint, `wait-${i}`, scope, (data) => checker.check(data));
      receiver.done.catch((error: unknown) => failures.push(String(error)));
      checkers.push(checker);
      receivers.push(receiver);
    }
    await Promise.all(receivers.slice(wave, end).map((receiver) => receiver.connected));
    await waitFor(`the relay to accept ${end} receivers`, 20_000, async () => (await openFds(pid)) >= fdsBefore + end);
  }
  const rssAfterKiB = await settledRss(pid);
  const stillOpen = (await openFds(pid)) >= fdsBefore + pipes;
  const held = stillOpen && failures.length === 0 && receivers.every((receiver) => receiver.bytes() === 0);

  // Senders arrive with at most `inFlight` pipes open at a time: under the fd limit, and never more
  // connection attempts than the relay's listen backlog (511) holds.
  const deliverStart = performance.now();
  let delivered = 0;
  let next = 0;
  const deliverOne = async (i: number): Promise<boolean> => {
    const receiver = receivers[i];
    const checker = checkers[i];
    if (receiver === undefined || checker === undefined) throw new Error('bench bug: no receiver');
    const sender = openSender(endpoint, `wait-${i}`, scope, bulkBody(seedFor(i), SMALL_BODY), uploadFraming === 'length' ? SMALL_BODY : undefined);
    try {
      const [received] = await Promise.all([receiver.done, sender.done]);
      return received.bytes === SMALL_BODY && checker.ok;
    } catch (error) {
      if (failures.length < 20) failures.push(String(error));
      return false;
    }
  };
  const worker = async (): Promise<void> => {
    while (next < pipes) {
      const i = next++;
      if (await deliverOne(i)) delivered += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, pipes) }, worker));
  const deliverSeconds = (performance.now() - deliverStart) / 1000;
  if (delivered !== pipes) {
    throw new Error(`waiting pipes: ${delivered} of ${pipes} delivered; first failures: ${failures.slice(0, 3).join(' | ')}`);
  }
  return {
    pipes,
    rssBeforeKiB,
    rssAfterKiB,
    kibPerPipe: (rssAfterKiB - rssBeforeKiB) / pipes,
    held,
    delivered,
    deliverSeconds,
  };
}

export interface ConcurrentResult {
  readonly mibPerSecond: number;
  readonly serverCpuPerGiB: number;
  readonly clientCpuPerGiB: number;
  /** Mean bytes per socket read, senders' (few) reads included. */
  readonly kibPerRead: number;
}

/** (d) `pipes` pipes of `bytes` each, all at once: aggregate throughput until the last byte arrived. */
export async function concurrentPipes(relay: RunningRelay, scope: ClientScope, pipes: number, bytes: number): Promise<ConcurrentResult> {
  await warmUp(relay.endpoint, 4, 4 * MiB);
  const cpuBefore = await cpuSeconds(relay.pid);
  const clientBefore = process.cpuUsage();
  const readsBefore = clientReads.count;
  const start = performance.now();
  const transfers = Array.from({ length: pipes }, (_, i) => transfer(relay.endpoint, scope, `many-${i}`, seedFor(i + 100), bytes));
  const ends = await Promise.all(transfers.map((t) => t.verified));
  const end = Math.max(...ends);
  const client = process.cpuUsage(clientBefore);
  const cpu = (await cpuSeconds(relay.pid)) - cpuBefore;
  const total = pipes * bytes;
  return {
    mibPerSecond: total / MiB / ((end - start) / 1000),
    serverCpuPerGiB: cpu / (total / GiB),
    clientCpuPerGiB: (client.user + client.system) / 1e6 / (total / GiB),
    kibPerRead: total / 1024 / (clientReads.count - readsBefore),
  };
}
