/**
 * A call-shaped stream the test drives: a chunked PUT that writes a 100-byte page every 20 ms (as a
 * talker's Ogg pages come), and its GET receiver, through any URL. Every page carries its sequence
 * number and a fill derived from it, so the receiver checks that each page arrived once, in order and
 * intact, and notes the longest time between two arrivals. A call that something elsewhere does not
 * touch ends with every page, a clean end on both sides, and no gap beyond scheduling jitter.
 */
import { open, responseOf } from './http.js';

export const PAGE_BYTES = 100;
export const PAGE_INTERVAL_MS = 20;

function page(sequence: number): Buffer {
  const buffer = Buffer.alloc(PAGE_BYTES, sequence & 0xff);
  buffer.writeUInt32BE(sequence, 0);
  return buffer;
}

export interface PacedStreamEnd {
  readonly sent: number;
  readonly received: number;
  /** The receiver's body ended cleanly (final chunk), and the sender's response too. */
  readonly complete: boolean;
  /** First problem seen by the receiver (a page missing, out of order or corrupt), if any. */
  readonly problem: string | undefined;
  /** The last line of the sender's response, e.g. `[INFO] done, 12300 bytes`. */
  readonly senderLastLine: string;
  /** Longest time between two pages arriving, in ms. */
  readonly maxGapMs: number;
  /** Per page: its write to its arrival, in ms (sender and receiver share this process's clock). */
  readonly latenciesMs: readonly number[];
}

export interface PacedStream {
  /** Pages received so far. */
  received(): number;
  /** Ends the sender cleanly and resolves when both sides are done (or broken). */
  stop(): Promise<PacedStreamEnd>;
}

/** Opens receiver and sender on `url` and starts writing once the sender's 200 has come. */
export async function startPacedStream(url: string): Promise<PacedStream> {
  const receiverReq = open(url);
  receiverReq.on('error', () => undefined);
  receiverReq.end();
  const sender = open(url, { method: 'PUT', headers: { 'content-type': 'audio/ogg' } });
  sender.on('error', () => undefined);
  sender.flushHeaders();
  const [receiverRes, senderRes] = await Promise.all([responseOf(receiverReq), responseOf(sender)]);
  if (receiverRes.statusCode !== 200 || senderRes.statusCode !== 200) {
    throw new Error(`paced stream on ${url}: receiver ${receiverRes.statusCode}, sender ${senderRes.statusCode}`);
  }

  let received = 0;
  let problem: string | undefined;
  let partial: Buffer = Buffer.alloc(0);
  let lastArrival = 0;
  let maxGapMs = 0;
  const sentAt: number[] = [];
  const latenciesMs: number[] = [];
  receiverRes.on('data', (chunk: Buffer) => {
    const now = performance.now();
    if (lastArrival !== 0) maxGapMs = Math.max(maxGapMs, now - lastArrival);
    lastArrival = now;
    partial = partial.length === 0 ? chunk : Buffer.concat([partial, chunk]);
    while (partial.length >= PAGE_BYTES) {
      if (!partial.subarray(0, PAGE_BYTES).equals(page(received))) problem ??= `page ${received} is missing, out of order or corrupt`;
      latenciesMs.push(now - (sentAt[received] ?? now));
      received += 1;
      partial = partial.subarray(PAGE_BYTES);
    }
  });
  const receiverDone = new Promise<boolean>((resolve) => {
    let complete = false;
    receiverRes.on('end', () => (complete = receiverRes.complete && partial.length === 0));
    receiverRes.on('error', () => undefined);
    receiverRes.on('close', () => resolve(complete));
  });
  let senderText = '';
  senderRes.setEncoding('utf8');
  senderRes.on('data', (text: string) => (senderText += text));
  const senderDone = new Promise<boolean>((resolve) => {
    let complete = false;
    senderRes.on('end', () => (complete = senderRes.complete));
    senderRes.on('error', () => undefined);
    senderRes.on('close', () => resolve(complete));
  });

  let sent = 0;
  const timer = setInterval(() => {
    if (sender.destroyed) return;
    sentAt.push(performance.now());
    sender.write(page(sent++));
  }, PAGE_INTERVAL_MS);
  sender.once('close', () => clearInterval(timer));
  let stopping: Promise<PacedStreamEnd> | undefined;
  return {
    received: () => received,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        sender.end();
        const [receiverComplete, senderComplete] = await Promise.all([receiverDone, senderDone]);
        const lines = senderText.trim().split('\n');
        return {
          sent,
          received,
          complete: receiverComplete && senderComplete,
          problem,
          senderLastLine: lines[lines.length - 1] ?? '',
          maxGapMs,
          latenciesMs,
        };
      })();
      return stopping;
    },
  };
}
