/**
 * One load-generator process of the voice-shaped case: it holds both ends of its share of the calls
 * (the receiver's GET and the sender's chunked PUT, raw sockets with hand-written heads) and writes a
 * 100-byte page per call every 20 ms, each call in its own 1 ms slot of the period. It is kept cheaper
 * than any relay it measures:
 * - one 1 ms interval timer per process for all of its calls (calls are grouped by slot), no timer
 *   per call;
 * - one write per page (chunk head, page, CRLF in one buffer), one read buffer shared by every socket
 *   (`onread`), a hand-written chunked decoder that parses hex digits without making strings;
 * - nothing per page but the write, the read and a histogram increment.
 * It reports its own CPU and event-loop utilization, so the bench can show that its timing was sound.
 *
 *   forked by relay-voice.ts; speaks voice-protocol.ts over IPC
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { PIPE_PATH, type Endpoint } from './clients.js';
import { RAW_RECEIVER, RAW_SENDER, rawHeader } from './raw-protocol.js';
import { BUCKET_MS, BUCKETS, PAGE_BYTES, PAGE_MS, type CallSpec, type FromWorker, type ToWorker } from './voice-protocol.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const CONNECT_WAVE = 100;
const SLOTS = PAGE_MS;

let endpoint: Endpoint = { protocol: 'http', host: '127.0.0.1', port: 0 };
const errors: string[] = [];
const noteError = (text: string): void => {
  if (errors.length < 20) errors.push(text);
};

// Window counters, reset by 'mark'.
let windowSent = 0;
let windowReceived = 0;
let histogram = new Uint32Array(BUCKETS);
let windowMax = 0;

/** Decodes a chunked HTTP/1.1 response (after its head) into body bytes, without strings. */
class ChunkedBody {
  #state: 'head' | 'size' | 'size-lf' | 'ext' | 'data' | 'data-cr' | 'data-lf' | 'done' = 'head';
  #headTail = 0;
  #size = 0;
  #remaining = 0;
  status = 0;
  readonly #onBody: (data: Buffer, start: number, end: number) => void;
  readonly #onEnd: () => void;

  constructor(onBody: (data: Buffer, start: number, end: number) => void, onEnd: () => void) {
    this.#onBody = onBody;
    this.#onEnd = onEnd;
  }

  feed(data: Buffer, end: number): void {
    let i = 0;
    while (i < end) {
      switch (this.#state) {
        case 'head': {
          // Status code from the first line, then skip to the blank line (\r\n\r\n).
          if (this.status === 0 && i + 12 <= end && data[i] === 0x48) {
            this.status = ((data[i + 9] ?? 0) - 48) * 100 + ((data[i + 10] ?? 0) - 48) * 10 + ((data[i + 11] ?? 0) - 48);
          }
          for (; i < end; i++) {
            const byte = data[i];
            this.#headTail = byte === 0x0a ? (this.#headTail === 1 ? 2 : 1) : byte === 0x0d ? this.#headTail : 0;
            if (this.#headTail === 2) {
              i++;
              this.#state = 'size';
              this.#size = 0;
              break;
            }
          }
          break;
        }
        case 'size': {
          const byte = data[i++] ?? 0;
          if (byte >= 0x30 && byte <= 0x39) this.#size = this.#size * 16 + byte - 0x30;
          else if (byte >= 0x61 && byte <= 0x66) this.#size = this.#size * 16 + byte - 0x57;
          else if (byte >= 0x41 && byte <= 0x46) this.#size = this.#size * 16 + byte - 0x37;
          else if (byte === 0x0d) this.#state = 'size-lf';
          else if (byte === 0x3b) this.#state = 'ext';
          else throw new Error(`bad chunk size byte ${byte}`);
          break;
        }
        case 'ext':
          if (data[i++] === 0x0d) this.#state = 'size-lf';
          break;
        case 'size-lf':
          if (data[i++] !== 0x0a) throw new Error('chunk size line without LF');
          if (this.#size === 0) {
            this.#state = 'done';
            this.#onEnd();
            return;
          }
          this.#remaining = this.#size;
          this.#state = 'data';
          break;
        case 'data': {
          const take = Math.min(this.#remaining, end - i);
          this.#onBody(data, i, i + take);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (data[i++] !== 0x0d) throw new Error('chunk data without CR');
          this.#state = 'data-lf';
          break;
        case 'data-lf':
          if (data[i++] !== 0x0a) throw new Error('chunk data without LF');
          this.#state = 'size';
          this.#size = 0;
          break;
        case 'done':
          return;
      }
    }
  }
}

interface Call {
  readonly spec: CallSpec;
  sender: net.Socket | undefined;
  receiver: net.Socket | undefined;
  nextSequence: number;
  expected: number;
  received: number;
  /** A page split over two reads is assembled here. */
  readonly partial: Buffer;
  partialLength: number;
  established: boolean;
  ended: boolean;
  onEnded: (() => void) | undefined;
}

let calls: Call[] = [];
const bySlot: Call[][] = Array.from({ length: SLOTS }, () => []);

function onPage(call: Call, page: Buffer, at: number, now: number): void {
  const sequence = page.readUInt32LE(at + 8);
  if (sequence !== call.expected || page.readUInt32LE(at + 12) !== call.spec.index) {
    noteError(`call ${call.spec.index}: page ${sequence} (call ${page.readUInt32LE(at + 12)}) arrived, expected ${call.expected}`);
  }
  call.expected = sequence + 1;
  call.received += 1;
  windowReceived += 1;
  const latency = now - page.readDoubleLE(at);
  const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.floor(latency / BUCKET_MS)));
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
  if (latency > windowMax) windowMax = latency;
}

/** Body bytes of a call's receiver: whole pages straight from the read buffer, split ones assembled. */
function bodyOf(call: Call, now: () => number): (data: Buffer, start: number, end: number) => void {
  return (data, start, end) => {
    let i = start;
    const at = now();
    while (i < end) {
      if (call.partialLength === 0 && end - i >= PAGE_BYTES) {
        onPage(call, data, i, at);
        i += PAGE_BYTES;
        continue;
      }
      const take = Math.min(PAGE_BYTES - call.partialLength, end - i);
      data.copy(call.partial, call.partialLength, i, i + take);
      call.partialLength += take;
      i += take;
      if (call.partialLength === PAGE_BYTES) {
        call.partialLength = 0;
        onPage(call, call.partial, 0, at);
      }
    }
  };
}

function openReceiver(call: Call): Promise<void> {
  return new Promise((resolve, reject) => {
    let readAt = 0;
    const body = bodyOf(call, () => readAt);
    const http = endpoint.protocol === 'http';
    const decoder = new ChunkedBody(body, () => {
      call.ended = true;
      call.onEnded?.();
    });
    const socket = net.connect({
      host: endpoint.host,
      port: endpoint.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback(nread: number, buffer: Uint8Array): boolean {
          readAt = performance.now();
          const data = buffer as Buffer;
          try {
            if (http) {
              decoder.feed(data, nread);
              if (!call.established && decoder.status !== 0) {
                if (decoder.status !== 200) noteError(`call ${call.spec.index}: receiver got HTTP ${decoder.status}`);
                call.established = true;
              }
            } else {
              body(data, 0, nread);
            }
          } catch (error) {
            noteError(`call ${call.spec.index}: ${(error as Error).message}`);
            socket.destroy();
          }
          return true;
        },
      },
    });
    call.receiver = socket;
    socket.once('connect', () => {
      socket.write(http ? `GET ${PIPE_PATH}${call.spec.name} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\n\r\n` : rawHeader(RAW_RECEIVER, call.spec.name));
      resolve();
    });
    socket.once('error', (error) => {
      noteError(`call ${call.spec.index} receiver: ${error.message}`);
      reject(error);
    });
    socket.once('end', () => {
      if (!http) {
        call.ended = true;
        call.onEnded?.();
      }
    });
  });
}

function openSender(call: Call): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    call.sender = socket;
    // The sender's response (status lines) is read and dropped.
    socket.on('data', () => undefined);
    socket.once('connect', () => {
      socket.write(
        endpoint.protocol === 'http'
          ? `PUT ${PIPE_PATH}${call.spec.name} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\nContent-Type: audio/ogg\r\nTransfer-Encoding: chunked\r\n\r\n`
          : rawHeader(RAW_SENDER, call.spec.name),
      );
      resolve();
    });
    socket.once('error', (error) => {
      noteError(`call ${call.spec.index} sender: ${error.message}`);
      reject(error);
    });
  });
}

const CHUNK_HEAD = Buffer.from(`${PAGE_BYTES.toString(16)}\r\n`);

function writePage(call: Call): void {
  const socket = call.sender;
  if (socket === undefined || socket.destroyed) return;
  const http = endpoint.protocol === 'http';
  const page = Buffer.allocUnsafe(http ? CHUNK_HEAD.length + PAGE_BYTES + 2 : PAGE_BYTES);
  let at = 0;
  if (http) at = CHUNK_HEAD.copy(page, 0);
  page.writeUInt32LE(call.nextSequence++, at + 8);
  page.writeUInt32LE(call.spec.index, at + 12);
  if (http) {
    page[at + PAGE_BYTES] = 0x0d;
    page[at + PAGE_BYTES + 1] = 0x0a;
  }
  page.writeDoubleLE(performance.now(), at);
  socket.write(page);
  windowSent += 1;
}

async function connectAll(): Promise<string[]> {
  const failures: string[] = [];
  for (let wave = 0; wave < calls.length; wave += CONNECT_WAVE) {
    const batch = calls.slice(wave, wave + CONNECT_WAVE);
    await Promise.all(batch.map((call) => openReceiver(call).catch((error: Error) => void failures.push(error.message))));
  }
  for (let wave = 0; wave < calls.length; wave += CONNECT_WAVE) {
    const batch = calls.slice(wave, wave + CONNECT_WAVE);
    await Promise.all(batch.map((call) => openSender(call).catch((error: Error) => void failures.push(error.message))));
  }
  return failures;
}

let ticker: NodeJS.Timeout | undefined;

/** Resolves once every call has delivered a page (the relay joined both ends), or after 30 s with how many have not. */
async function waitUntilFlowing(): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stuck = calls.filter((call) => call.received === 0).length;
    if (stuck === 0 || Date.now() > deadline) return stuck;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function startPaging(): void {
  const origin = performance.now();
  let slotsDone = 0;
  const tick = (): void => {
    const due = Math.floor(performance.now() - origin);
    // Behind (a busy loop): catch up, as independent talkers would keep sending on their own clocks.
    for (; slotsDone <= due; slotsDone++) {
      for (const call of bySlot[slotsDone % SLOTS] ?? []) writePage(call);
    }
  };
  ticker = setInterval(tick, 1);
}

let cpuMark = process.cpuUsage();
let eluMark = performance.eventLoopUtilization();

function mark(): void {
  windowSent = 0;
  windowReceived = 0;
  histogram = new Uint32Array(BUCKETS);
  windowMax = 0;
  cpuMark = process.cpuUsage();
  eluMark = performance.eventLoopUtilization();
}

function report(): FromWorker {
  const cpu = process.cpuUsage(cpuMark);
  const sparse: [number, number][] = [];
  for (let bucket = 0; bucket < BUCKETS; bucket++) if ((histogram[bucket] ?? 0) > 0) sparse.push([bucket, histogram[bucket] ?? 0]);
  return {
    kind: 'report',
    report: {
      sent: windowSent,
      received: windowReceived,
      histogram: sparse,
      maxMs: windowMax,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      systemSeconds: cpu.system / 1e6,
      elu: performance.eventLoopUtilization(eluMark).utilization,
    },
  };
}

async function stop(): Promise<FromWorker> {
  if (ticker !== undefined) clearInterval(ticker);
  const ended = calls.map(
    (call) =>
      new Promise<void>((resolve) => {
        if (call.ended) return resolve();
        call.onEnded = resolve;
        setTimeout(resolve, 15_000).unref();
      }),
  );
  for (const call of calls) {
    if (endpoint.protocol === 'http') call.sender?.write('0\r\n\r\n');
    else call.sender?.end();
  }
  await Promise.all(ended);
  let sent = 0;
  let received = 0;
  let unclean = 0;
  for (const call of calls) {
    sent += call.nextSequence;
    received += call.received;
    if (!call.ended) unclean += 1;
    call.sender?.destroy();
    call.receiver?.destroy();
  }
  return { kind: 'stopped', sent, received, lost: sent - received, unclean, errors };
}

process.on('message', (message: ToWorker) => {
  switch (message.kind) {
    case 'setup':
      endpoint = message.endpoint;
      calls = message.calls.map((spec) => ({
        spec,
        sender: undefined,
        receiver: undefined,
        nextSequence: 0,
        expected: 0,
        received: 0,
        partial: Buffer.alloc(PAGE_BYTES),
        partialLength: 0,
        established: false,
        ended: false,
        onEnded: undefined,
      }));
      for (const call of calls) bySlot[call.spec.slot % SLOTS]?.push(call);
      send({ kind: 'ready' });
      break;
    case 'connect':
      connectAll().then((failures) => send({ kind: 'connected', failures }));
      break;
    case 'start':
      startPaging();
      waitUntilFlowing().then((stuck) => send({ kind: 'started', stuck }));
      break;
    case 'mark':
      mark();
      send({ kind: 'marked' });
      break;
    case 'report':
      send(report());
      break;
    case 'stop':
      stop().then((result) => {
        send(result);
        setImmediate(() => process.exit(0));
      });
      break;
  }
});
process.on('disconnect', () => process.exit(0));
