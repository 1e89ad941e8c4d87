import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { listenArgs } from '../../src/audio/args.js';
import { LiveEdge, type SkipEvent } from '../../src/audio/catch-up.js';
import { prng } from '../../bench/latency/signal.js';
import { buildOggPageFromPackets, isOpusHead, isOpusTags, pagePackets, readOggPage, rewriteOggPage, type OggPage } from '../../src/audio/ogg.js';
import { testFfmpeg } from '../helpers/audio.js';
import { opusOgg, pagesOf } from '../helpers/ogg.js';
import { sleep } from '../helpers/relay.js';

let cached: Promise<OggPage[]> | undefined;
const realPages = (): Promise<OggPage[]> => (cached ??= opusOgg({ seconds: 2 }).then(pagesOf));

/**
 * A long logical stream built from real pages: ffmpeg's two header pages, then `count` 20 ms audio
 * pages (real packets, reused in turn) with consecutive granules and sequence numbers.
 */
async function makeStream(serial: number, count: number): Promise<OggPage[]> {
  const pages = await realPages();
  const [head, tags] = pages;
  assert.ok(head !== undefined && tags !== undefined);
  const audio = pages.slice(2, -1);
  const out = [readOggPage(rewriteOggPage(head, { serial })), readOggPage(rewriteOggPage(tags, { serial }))];
  for (let i = 0; i < count; i++) {
    const source = audio[i % audio.length];
    assert.ok(source !== undefined);
    out.push(readOggPage(rewriteOggPage(source, { serial, sequence: i + 2, granule: BigInt(960 * (i + 1)), eos: false })));
  }
  return out;
}

/** A LiveEdge on a clock the test sets; pages are delivered in batches at given times. */
function harness(maxDelayMs: number | null, extra: { targetMs?: number } = {}) {
  let clock = 0;
  const events: SkipEvent[] = [];
  const edge = new LiveEdge({ maxDelayMs, ...extra, now: () => clock, onSkip: (event) => events.push(event) });
  const out: Buffer[] = [];
  edge.on('data', (chunk: Buffer) => out.push(chunk));
  return {
    edge,
    events,
    /** Pages that came out, in order. */
    passed: (): OggPage[] => pagesOf(Buffer.concat(out)),
    /** All `pages` arrive together at `at` (one read off the socket). */
    async deliver(pages: readonly OggPage[], at: number): Promise<void> {
      clock = at;
      for (const page of pages) edge.write(page);
      await new Promise((resolve) => setImmediate(resolve));
    },
    setClock(at: number): void {
      clock = at;
    },
    async end(): Promise<void> {
      const ended = new Promise((resolve) => edge.once('end', resolve));
      edge.end();
      await ended;
    },
  };
}


test('jitter below the bound never drops a page (60 s of audio, up to 150 ms late, in bursts)', async () => {
  for (const seed of [1, 2, 3]) {
    const random = prng(seed);
    const pages = await makeStream(7, 3_000);
    const h = harness(200);
    await h.deliver(pages.slice(0, 2), 0);
    // Page i is sent at i × 20 ms and arrives up to 150 ms late, never before the page before it (TCP).
    let arrival = 0;
    const batches = new Map<number, OggPage[]>();
    pages.slice(2).forEach((page, i) => {
      const jitter = random() < 0.05 ? random() * 150 : random() * 10;
      arrival = Math.max(arrival, i * 20 + 30 + jitter);
      const at = Math.round(arrival);
      batches.set(at, [...(batches.get(at) ?? []), page]);
    });
    for (const [at, batch] of batches) await h.deliver(batch, at);
    await h.end();
    assert.equal(h.events.length, 0, `seed ${seed}: ${JSON.stringify(h.events)}`);
    assert.equal(h.edge.skippedPages, 0);
    assert.equal(h.passed().length, pages.length);
    assert.ok(h.edge.behindMs <= 200, `seed ${seed}: behind ${h.edge.behindMs} ms`);
  }
});

/** 4 s of audio in real time, with a stall of `stallMs` after the first second: its audio arrives at once when it ends. */
async function stalled(h: ReturnType<typeof harness>, pages: readonly OggPage[], stallMs: number, startAt = 0): Promise<void> {
  const audio = pages.filter((page) => page.granule > 0n);
  await h.deliver(pages.filter((page) => page.granule <= 0n), startAt);
  const stallFrom = 50;
  const stallTo = 50 + stallMs / 20;
  for (let i = 0; i < stallFrom; i++) await h.deliver([audio[i] as OggPage], startAt + 30 + i * 20);
  await h.deliver(audio.slice(stallFrom, stallTo), startAt + 30 + stallTo * 20);
  for (let i = stallTo; i < audio.length; i++) await h.deliver([audio[i] as OggPage], startAt + 30 + i * 20);
}

test('a 2 s stall: one skip event, the oldest ~1.9 s dropped, headers kept, back near the live edge', async () => {
  const pages = await makeStream(7, 200 + 100);
  const h = harness(200);
  await stalled(h, pages, 2_000);
  const behindAfter = h.edge.behindMs;
  await h.end();
  assert.equal(h.events.length, 1, JSON.stringify(h.events));
  const [event] = h.events;
  assert.ok(event !== undefined);
  // The burst holds 100 pages (2 s); it is drained to the target (a quarter of the bound, 50 ms):
  // with the stall's first page already late, 1.9 s go and the newest few pages stay.
  assert.ok(event.skippedMs >= 1_800 && event.skippedMs <= 1_960, `skipped ${event.skippedMs} ms`);
  assert.equal(event.pages * 20, event.skippedMs);
  assert.ok(event.inHandBeforeMs >= 1_900, `in hand before: ${event.inHandBeforeMs}`);
  assert.ok(event.behindAfterMs <= 100, `behind after: ${event.behindAfterMs}`);
  assert.ok(behindAfter <= 100, `behind at the end: ${behindAfter}`);
  const passed = h.passed();
  assert.ok(isOpusHead(pagePackets(passed[0] as OggPage).pieces[0] ?? Buffer.alloc(0)));
  assert.ok(isOpusTags(pagePackets(passed[1] as OggPage).pieces[0] ?? Buffer.alloc(0)));
  assert.equal(passed.length, pages.length - event.pages);
  // The pages kept from the burst are its newest: the dropped ones are one run, the oldest.
  const sequences = passed.map((page) => page.sequence);
  const gaps = sequences.slice(1).filter((sequence, i) => sequence !== (sequences[i] ?? 0) + 1);
  assert.equal(gaps.length, 1);
});

test('maxDelayMs null (or 0, as --max-delay off gives) never drops, and behindMs shows the delay the stall left', async () => {
  for (const bound of [null, 0]) {
    const pages = await makeStream(7, 300);
    const h = harness(bound);
    await stalled(h, pages, 2_000);
    assert.ok(h.edge.behindMs >= 1_900, `behind ${h.edge.behindMs} ms`);
    await h.end();
    assert.equal(h.events.length, 0);
    assert.equal(h.passed().length, pages.length);
  }
  assert.throws(() => new LiveEdge({ maxDelayMs: -1 }), RangeError);
});

test('behindMs grows while nothing arrives', async () => {
  const pages = await makeStream(7, 100);
  const h = harness(200);
  await h.deliver(pages.slice(0, 2), 0);
  for (let i = 0; i < 10; i++) await h.deliver([pages[2 + i] as OggPage], i * 20);
  assert.equal(h.edge.behindMs, 0);
  // The last page came at 180 ms and played until 200; the next was due then.
  h.setClock(1_000);
  assert.equal(h.edge.behindMs, 800);
  h.edge.destroy();
});

test('a network that gets slower for good is not "caught up": nothing is in hand, dropping would only cut audio', async () => {
  const pages = await makeStream(7, 500);
  const h = harness(200);
  await h.deliver(pages.slice(0, 2), 0);
  // From the 50th page on, every page takes 300 ms longer (a route change), still one at a time.
  for (let i = 0; i < 500; i++) await h.deliver([pages[2 + i] as OggPage], i * 20 + (i >= 50 ? 300 : 0) + (i % 7));
  assert.ok(Math.abs(h.edge.behindMs - 300) <= 20, `behind ${h.edge.behindMs}`);
  await h.end();
  assert.equal(h.edge.skippedPages, 0);
  assert.equal(h.events.length, 0);
});

test('a backlog that comes in two reads a few ms apart is one catch-up, one event', async () => {
  const pages = await makeStream(7, 300);
  const audio = pages.slice(2);
  const h = harness(200);
  await h.deliver(pages.slice(0, 2), 0);
  for (let i = 0; i < 50; i++) await h.deliver([audio[i] as OggPage], i * 20);
  // A 2 s stall; its audio arrives in two reads 3 ms apart.
  await h.deliver(audio.slice(50, 80), 3_000);
  await h.deliver(audio.slice(80, 150), 3_003);
  for (let i = 150; i < 300; i++) await h.deliver([audio[i] as OggPage], i * 20);
  await h.end();
  assert.equal(h.events.length, 1, JSON.stringify(h.events));
  assert.ok((h.events[0]?.skippedMs ?? 0) >= 1_800, JSON.stringify(h.events));
});

test('two stalls are two catch-ups, one event each', async () => {
  const pages = await makeStream(7, 400);
  const h = harness(200);
  const audio = pages.slice(2);
  await h.deliver(pages.slice(0, 2), 0);
  const batches = new Map<number, OggPage[]>();
  for (let i = 0; i < 400; i++) {
    let at = i * 20;
    if (i >= 50 && i < 100) at = 100 * 20; // a 1 s stall
    if (i >= 200 && i < 250) at = 250 * 20; // another
    batches.set(at, [...(batches.get(at) ?? []), audio[i] as OggPage]);
  }
  for (const [at, batch] of batches) await h.deliver(batch, at);
  await h.end();
  assert.equal(h.events.length, 2, JSON.stringify(h.events));
});

test('a new logical stream (BOS, new serial) re-bases the clock: its restarted granules are not "late"', async () => {
  const first = await makeStream(7, 100);
  const second = await makeStream(8, 200);
  const h = harness(200);
  await h.deliver(first.slice(0, 2), 0);
  for (let i = 2; i < first.length; i++) await h.deliver([first[i] as OggPage], (i - 2) * 20);
  // The talker reconnects 5 s later with a fresh stream; then it stalls for 2 s and catches up.
  await stalled(h, second, 2_000, 7_000);
  await h.end();
  assert.equal(h.events.length, 1, JSON.stringify(h.events));
  const passed = h.passed();
  const headers = passed.filter((page) => page.granule === 0n);
  assert.equal(headers.length, 4, 'both streams keep their headers');
  assert.ok((h.events[0]?.skippedMs ?? 0) >= 1_800);
  assert.equal(passed.filter((page) => page.serial === 7).length, first.length);
});

test('a backlog that arrives with the headers (a late listener) is dropped down to the live edge, headers kept', async () => {
  const pages = await makeStream(9, 150);
  const h = harness(200);
  await h.deliver(pages, 0);
  await h.end();
  assert.equal(h.events.length, 1);
  const passed = h.passed();
  assert.equal(passed[0]?.bos, true);
  assert.equal(passed[1]?.granule, 0n);
  assert.ok(passed.length <= 2 + 4, `${passed.length} pages passed`);
});

test('a packet spanning two pages is dropped or kept whole', async () => {
  const pages = await makeStream(5, 60);
  const [head, tags] = pages;
  assert.ok(head !== undefined && tags !== undefined);
  // Audio pages whose packet is split: the first half (no packet ends: granule -1), then the rest.
  const packet = Buffer.concat([pagePackets(pages[5] as OggPage).pieces[0] ?? Buffer.alloc(0), Buffer.alloc(600 - 0)]).subarray(0, 510 + 20);
  const split: OggPage[] = [head, tags];
  let sequence = 2;
  for (let i = 0; i < 60; i++) {
    split.push(readOggPage(buildOggPageFromPackets([packet.subarray(0, 510)], { granule: -1n, serial: 5, sequence: sequence++, lastComplete: false })));
    split.push(readOggPage(buildOggPageFromPackets([packet.subarray(510)], { continued: true, granule: BigInt(960 * (i + 1)), serial: 5, sequence: sequence++ })));
  }
  const h = harness(200);
  await h.deliver(split, 0);
  await h.end();
  assert.equal(h.events.length, 1);
  const passed = h.passed().slice(2);
  assert.ok(passed.length > 0 && passed.length % 2 === 0);
  passed.forEach((page, i) => assert.equal(page.continued, i % 2 === 1, `page ${i} of the kept ones`));
});

// ---------------------------------------------------------------------------------------------
// The real decoder after dropped pages (listen's own ffmpeg arguments).

interface DecoderRun {
  write(page: OggPage): void;
  /** Samples decoded so far. */
  samples(): number;
  finish(): Promise<number>;
}

async function decoder(): Promise<DecoderRun> {
  const ffmpeg = spawn(await testFfmpeg(), listenArgs({ kind: 'pcm' }), { stdio: ['pipe', 'pipe', 'pipe'] });
  let bytes = 0;
  let stderr = '';
  ffmpeg.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
  ffmpeg.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => ffmpeg.once('close', resolve));
  return {
    write: (page) => ffmpeg.stdin.write(page.bytes),
    samples: () => bytes / 2,
    async finish() {
      ffmpeg.stdin.end();
      assert.equal(await exited, 0, stderr);
      return bytes / 2;
    },
  };
}

test('ffmpeg decodes across the granule and sequence gap that dropped pages leave: no silence put in', async () => {
  const pages = pagesOf(await opusOgg({ seconds: 3 }));
  const whole = await decoder();
  for (const page of pages) whole.write(page);
  const all = await whole.finish();
  const cut = await decoder();
  // Drop 1 s (50 pages) from the middle, as a catch-up would.
  for (const [i, page] of pages.entries()) if (i < 60 || i >= 110) cut.write(page);
  const left = await cut.finish();
  assert.equal(all - left, 48_000, `${all} samples whole, ${left} with 1 s of pages dropped`);
});

test('listen\'s decoder holds no more than a few frames, and goes straight on after a gap', async () => {
  const pages = pagesOf(await opusOgg({ seconds: 3 }));
  const run = await decoder();
  const headers = pages.slice(0, 2);
  for (const page of headers) run.write(page);
  const audio = pages.slice(2, -1);
  // Pages written in real time; pages 50–99 are dropped (a catch-up) without any pause.
  const order = [...audio.slice(0, 50), ...audio.slice(100)];
  const lags: number[] = [];
  const start = performance.now();
  for (const [k, page] of order.entries()) {
    const due = start + k * 20;
    await sleep(Math.max(0, due - performance.now()));
    // What is out by the time the next page is due, against what has gone in, in frames.
    lags.push(k - run.samples() / 960);
    run.write(page);
  }
  await run.finish();
  const steady = lags.slice(10).sort((a, b) => a - b);
  const median = steady[Math.floor(steady.length / 2)] ?? Infinity;
  // Typically one or two frames: one being decoded, and the 312-sample pre-skip.
  assert.ok(median <= 3, `the decoder holds ${median} frames (median; all: ${lags.map((lag) => lag.toFixed(1)).join(' ')})`);
  const afterGap = lags.slice(50, 60);
  assert.ok(Math.max(...afterGap) <= 4, `after the gap: ${afterGap.join(' ')}`);
});
