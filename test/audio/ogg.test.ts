import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildOggPage,
  buildOggPageFromPackets,
  isOpusHead,
  isOpusTags,
  OggPageSplitter,
  opusPacketSamples,
  packetsToSegments,
  pageCrc,
  pagePackets,
  parseOggPage,
  readOggPage,
  rewriteOggPage,
  type OggPage,
} from '../../src/audio/ogg.js';
import { oggPages } from '../helpers/audio.js';
import { opusOgg, pagesOf, runThrough } from '../helpers/ogg.js';

let cached: Promise<Buffer> | undefined;
/** Two seconds of a tone as hoodycall's talker encodes it: 20 ms Opus frames, one per page. */
const stream = (): Promise<Buffer> => (cached ??= opusOgg({ seconds: 2 }));

const summary = (pages: readonly OggPage[]): string[] => pages.map((page) => `${page.sequence}:${page.granule}:${page.bytes.toString('base64')}`);

test('parses every page of a real ffmpeg Ogg/Opus stream, agreeing with an independent reader', async () => {
  const data = await stream();
  const pages = pagesOf(data);
  const reference = oggPages(data);
  assert.equal(pages.length, reference.length);
  pages.forEach((page, i) => {
    const other = reference[i];
    assert.ok(other !== undefined);
    assert.equal(page.version, 0);
    assert.equal(page.headerType, other.headerType);
    assert.equal(page.granule, other.granule);
    assert.equal(page.serial, other.serial);
    assert.equal(page.sequence, i);
    assert.deepEqual(page.body, other.body);
    assert.equal(page.bytes.length, 27 + page.segments.length + page.body.length);
  });
  const [head, tags, firstAudio] = pages;
  assert.ok(head !== undefined && tags !== undefined && firstAudio !== undefined);
  assert.ok(head.bos && !head.eos && !head.continued);
  assert.ok(isOpusHead(pagePackets(head).pieces[0] ?? Buffer.alloc(0)));
  assert.ok(isOpusTags(pagePackets(tags).pieces[0] ?? Buffer.alloc(0)));
  assert.ok(!isOpusHead(pagePackets(firstAudio).pieces[0] ?? Buffer.alloc(0)));
  assert.ok(pages.at(-1)?.eos);
  // One 20 ms packet per audio page, and granules 960 apart.
  const audio = pages.slice(2);
  for (const [i, page] of audio.entries()) {
    const packets = pagePackets(page);
    assert.equal(packets.completed, 1);
    assert.ok(packets.lastComplete && !packets.firstContinued);
    if (i < audio.length - 1) assert.equal(opusPacketSamples(packets.pieces[0] ?? Buffer.alloc(0)), 960);
    const previous = audio[i - 1];
    if (previous !== undefined && !page.eos) assert.equal(page.granule - previous.granule, 960n);
  }
});

test('the CRC matches every real page and catches a changed byte', async () => {
  const pages = pagesOf(await stream());
  for (const page of pages) assert.equal(pageCrc(page.bytes), page.crc);
  const page = pages[5];
  assert.ok(page !== undefined);
  const broken = Buffer.from(page.bytes);
  broken[broken.length - 1] = (broken[broken.length - 1] ?? 0) ^ 0x01;
  const result = parseOggPage(broken);
  assert.equal(result.kind, 'invalid');
  assert.equal(result.kind === 'invalid' ? result.reason : '', 'CRC mismatch');
  assert.equal(parseOggPage(broken, 0, { checkCrc: false }).kind, 'page');
});

test('incomplete and invalid input is told apart', async () => {
  const page = pagesOf(await stream())[3];
  assert.ok(page !== undefined);
  for (const cut of [1, 4, 26, 27, 28, page.bytes.length - 1]) assert.equal(parseOggPage(page.bytes.subarray(0, cut)).kind, 'incomplete', `cut at ${cut}`);
  assert.equal(parseOggPage(Buffer.from('Ogx')).kind, 'invalid');
  const v1 = Buffer.from(page.bytes);
  v1[4] = 1;
  assert.equal(parseOggPage(v1).kind, 'invalid');
});

test('built pages are byte-identical to ffmpeg\'s, from fields or from packets; rewriting keeps them valid', async () => {
  for (const page of pagesOf(await stream())) {
    const fields = { continued: page.continued, bos: page.bos, eos: page.eos, granule: page.granule, serial: page.serial, sequence: page.sequence };
    assert.deepEqual(buildOggPage({ ...fields, segments: page.segments, body: page.body }), page.bytes);
    const packets = pagePackets(page);
    assert.deepEqual(buildOggPageFromPackets(packets.pieces, { ...fields, lastComplete: packets.lastComplete }), page.bytes);
  }
  const page = pagesOf(await stream())[10];
  assert.ok(page !== undefined);
  const moved = readOggPage(rewriteOggPage(page, { sequence: 77, granule: 123_456n, serial: 0xdeadbeef }));
  assert.equal(moved.sequence, 77);
  assert.equal(moved.granule, 123_456n);
  assert.equal(moved.serial, 0xdeadbeef);
  assert.deepEqual(moved.body, page.body);
  // Replace the packet (what a mute does): still a valid page.
  const silent = readOggPage(buildOggPageFromPackets([Buffer.from([0xf8, 0xff, 0xfe])], { granule: page.granule, serial: page.serial, sequence: page.sequence }));
  assert.equal(opusPacketSamples(pagePackets(silent).pieces[0] ?? Buffer.alloc(0)), 960);
});

test('lacing: packets of 255-byte multiples, an open last packet, and the 255-segment limit', () => {
  assert.deepEqual(packetsToSegments([Buffer.alloc(255)]).segments, [255, 0]);
  assert.deepEqual(packetsToSegments([Buffer.alloc(600), Buffer.alloc(3)]).segments, [255, 255, 90, 3]);
  assert.deepEqual(packetsToSegments([Buffer.alloc(510)], { lastComplete: false }).segments, [255, 255]);
  assert.deepEqual(packetsToSegments([Buffer.alloc(0)]).segments, [0]);
  assert.throws(() => packetsToSegments([Buffer.alloc(300)], { lastComplete: false }), RangeError);
  assert.throws(() => packetsToSegments([Buffer.alloc(255 * 255)]), RangeError);
  const open = readOggPage(buildOggPageFromPackets([Buffer.alloc(10, 1), Buffer.alloc(255, 2)], { granule: -1n, serial: 1, sequence: 2, lastComplete: false }));
  const packets = pagePackets(open);
  assert.equal(packets.completed, 1);
  assert.equal(packets.lastComplete, false);
  assert.equal(packets.pieces.length, 2);
  assert.equal(open.granule, -1n);
});

test('Opus TOC: frame sizes and counts', () => {
  assert.equal(opusPacketSamples(Buffer.from([(1 << 3) | 0])), 960); // SILK NB 20 ms, one frame
  assert.equal(opusPacketSamples(Buffer.from([(16 << 3) | 0])), 120); // CELT 2.5 ms
  assert.equal(opusPacketSamples(Buffer.from([(31 << 3) | 1])), 1920); // CELT 20 ms, two frames
  assert.equal(opusPacketSamples(Buffer.from([(14 << 3) | 3, 3])), 1440); // hybrid 10 ms × 3
  assert.equal(opusPacketSamples(Buffer.alloc(0)), 0);
});

test('the splitter gives the same pages whatever the chunking: whole, byte by byte, random cuts', async () => {
  const data = await stream();
  const expected = summary(pagesOf(data));
  assert.deepEqual(summary(await runThrough<OggPage>(new OggPageSplitter(), [data])), expected);
  const bytes: Buffer[] = [];
  for (let i = 0; i < data.length; i++) bytes.push(data.subarray(i, i + 1));
  assert.deepEqual(summary(await runThrough<OggPage>(new OggPageSplitter(), bytes)), expected);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 40 }), async (cuts) => {
      const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), data.length];
      const chunks = points.slice(1).map((end, i) => data.subarray(points[i], end));
      assert.deepEqual(summary(await runThrough<OggPage>(new OggPageSplitter(), chunks)), expected);
    }),
    { numRuns: 60 },
  );
});

test('the splitter skips garbage, broken pages and a fake "OggS", and drops a partial page at the end', async () => {
  const pages = pagesOf(await stream());
  const [p0, p1, p2, p3, p4, p5] = pages;
  assert.ok(p0 && p1 && p2 && p3 && p4 && p5);
  const broken = Buffer.from(p3.bytes);
  broken[40] = (broken[40] ?? 0) ^ 0xff;
  // "OggS", version 0, flags 0, then a segment count of 255 promising ~64 KiB that never comes.
  const fake = Buffer.concat([Buffer.from('OggS', 'latin1'), Buffer.alloc(22), Buffer.from([255]), Buffer.alloc(300, 0xff)]);
  const input = Buffer.concat([Buffer.from('garbage before the stream, OggS inside it too'), p0.bytes, p1.bytes, Buffer.from('noise'), p2.bytes, broken, p4.bytes, fake, p5.bytes, p3.bytes.subarray(0, 30)]);
  const splitter = new OggPageSplitter();
  const out = await runThrough<OggPage>(splitter, [input]);
  assert.deepEqual(summary(out), summary([p0, p1, p2, p4, p5]));
  assert.equal(splitter.stats.badCrc, 1);
  assert.equal(splitter.stats.discardedTail, 30);
  assert.ok(splitter.stats.skippedBytes >= broken.length + fake.length, `${splitter.stats.skippedBytes} bytes skipped`);

  // Byte by byte, the page after a fake "OggS" still comes out as soon as it is whole, not 64 KiB later.
  const live = new OggPageSplitter();
  const seen: OggPage[] = [];
  live.on('data', (page: OggPage) => seen.push(page));
  const feed = Buffer.concat([fake, p2.bytes]);
  for (let i = 0; i < feed.length; i++) live.write(feed.subarray(i, i + 1));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(summary(seen), summary([p2]));
  live.destroy();
});

test('a stream cut mid-page followed by a new chained stream: the half page is skipped, the new stream comes whole', async () => {
  const first = await stream();
  const second = await opusOgg({ seconds: 0.5, frequency: 1000 });
  const firstPages = pagesOf(first);
  const cutAt = (firstPages[20]?.bytes.byteOffset ?? 0) - (firstPages[0]?.bytes.byteOffset ?? 0) + 50;
  const out = await runThrough<OggPage>(new OggPageSplitter(), [first.subarray(0, cutAt), second]);
  assert.deepEqual(summary(out), summary([...firstPages.slice(0, 20), ...pagesOf(second)]));
});
