/**
 * The shared Ogg codec (src/ogg) over generated pages: what it builds it reads back, the CRC catches
 * any one changed byte, and the stream reader gives the same pages and packets whatever the chunking.
 * Real ffmpeg streams are checked against it in test/audio/ogg.test.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildOggPageFromPackets, concatBytes, type OggPage, type OggPageSpec, pagePackets, parseOggPage } from '../../src/ogg/page.js';
import { OggPacketAssembler, OggPageReader } from '../../src/ogg/stream.js';
import { OggPageSplitter } from '../../src/audio/ogg.js';
import { runThrough } from '../helpers/ogg.js';

/** A page as fields and whole packets; the last packet goes on on the next page unless `lastComplete`. */
type GeneratedPage = Omit<OggPageSpec, 'segments' | 'body'> & { readonly packets: Uint8Array[]; readonly lastComplete: boolean };

const generatedPage: fc.Arbitrary<GeneratedPage> = fc
  .record({
    packets: fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 5 }),
    openSegments: fc.integer({ min: 0, max: 2 }),
    continued: fc.boolean(),
    bos: fc.boolean(),
    eos: fc.boolean(),
    granule: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    serial: fc.nat({ max: 0xffff_ffff }),
    sequence: fc.nat({ max: 0xffff_ffff }),
  })
  .map(({ packets, openSegments, ...fields }) => ({
    ...fields,
    packets: openSegments === 0 ? packets : [...packets, new Uint8Array(255 * openSegments).fill(openSegments)],
    lastComplete: openSegments === 0,
  }));

const build = (spec: GeneratedPage): Uint8Array => buildOggPageFromPackets(spec.packets, spec);

test('build then parse gives back every field and every packet', () => {
  fc.assert(
    fc.property(generatedPage, (spec) => {
      const bytes = build(spec);
      const result = parseOggPage(bytes);
      assert.equal(result.kind, 'page');
      if (result.kind !== 'page') return;
      assert.equal(result.length, bytes.length);
      const { page } = result;
      assert.deepEqual(
        { continued: page.continued, bos: page.bos, eos: page.eos, granule: page.granule, serial: page.serial, sequence: page.sequence },
        { continued: spec.continued, bos: spec.bos, eos: spec.eos, granule: spec.granule, serial: spec.serial, sequence: spec.sequence },
      );
      const packets = pagePackets(page);
      assert.deepEqual(packets.pieces.map((piece) => [...piece]), spec.packets.map((packet) => [...packet]));
      assert.equal(packets.lastComplete, spec.lastComplete);
      assert.equal(packets.completed, spec.packets.length - (spec.lastComplete ? 0 : 1));
    }),
    { numRuns: 300 },
  );
});

test('any one changed byte anywhere in a page: it no longer parses as a page', () => {
  fc.assert(
    fc.property(generatedPage, fc.nat(), fc.integer({ min: 1, max: 255 }), (spec, where, flip) => {
      const bytes = build(spec);
      const at = where % bytes.length;
      const broken = bytes.slice();
      broken[at] = (broken[at] ?? 0) ^ flip;
      const result = parseOggPage(broken);
      assert.notEqual(result.kind, 'page', `byte ${at} of ${bytes.length} changed by 0x${flip.toString(16)}`);
      // Outside the capture pattern and the lengths, only the CRC can tell, and it does.
      const lacing = at >= 27 && at < 27 + (bytes[26] ?? 0);
      const structural = at <= 4 || (at === 5 && (flip & ~0x07) !== 0) || at === 26 || lacing;
      if (!structural) {
        assert.ok(result.kind === 'invalid' && result.problem === 'crc', `byte ${at}: ${JSON.stringify(result)}`);
      }
    }),
    { numRuns: 500 },
  );
});

/** Pages with garbage between them, cut into chunks at the given points. */
const streams = fc.record({
  pages: fc.array(generatedPage, { minLength: 1, maxLength: 6 }),
  garbage: fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array([0x4f, 0x67, 0x67, 0x53, 0, 0]))), { minLength: 7, maxLength: 7 }),
  cuts: fc.array(fc.nat(), { maxLength: 30 }),
});

function assemble(pages: readonly Uint8Array[], garbage: readonly Uint8Array[]): Uint8Array {
  return concatBytes(pages.flatMap((page, i) => [garbage[i] ?? new Uint8Array(0), page]).concat(garbage[pages.length] ?? []));
}

function chunked(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [0, ...[...new Set(cuts.map((cut) => cut % (data.length + 1)))].sort((a, b) => a - b), data.length];
  return points.slice(1).map((end, i) => data.subarray(points[i], end));
}

const summary = (pages: readonly OggPage[]): string[] => pages.map((page) => Buffer.from(page.bytes).toString('base64'));

test('the stream reader (page and Node alike) gives the same pages and packets whatever the chunking, garbage skipped', async () => {
  await fc.assert(
    fc.asyncProperty(streams, async ({ pages, garbage, cuts }) => {
      const built = pages.map(build);
      const data = assemble(built, garbage);
      const expected = built.map((bytes) => Buffer.from(bytes).toString('base64'));

      const reader = new OggPageReader();
      const read = chunked(data, cuts).flatMap((chunk) => reader.push(chunk));
      reader.end();
      assert.deepEqual(summary(read), expected);

      const node = await runThrough<OggPage>(new OggPageSplitter(), chunked(data, cuts).map((chunk) => Buffer.from(chunk)));
      assert.deepEqual(summary(node), expected);

      // Packets: the same whether the pages came whole or in pieces.
      const whole = new OggPacketAssembler();
      const inPieces = new OggPacketAssembler();
      const packetsOf = (assembler: OggPacketAssembler, list: readonly OggPage[]): string[] =>
        list.flatMap((page) => assembler.packets(page)).map((packet) => `${packet.serial}:${packet.bos}:${Buffer.from(packet.data).toString('base64')}`);
      const wholePages = built.map((bytes) => {
        const result = parseOggPage(bytes);
        assert.equal(result.kind, 'page');
        return (result as { page: OggPage }).page;
      });
      assert.deepEqual(packetsOf(inPieces, read), packetsOf(whole, wholePages));
    }),
    { numRuns: 150 },
  );
});

test('packets that span pages are joined; a continuation whose start was missed is dropped at the next fresh page', () => {
  const big = new Uint8Array(600).map((_, i) => i & 0xff);
  const first = parseOggPage(buildOggPageFromPackets([new Uint8Array([1, 2]), big.subarray(0, 510)], { granule: -1n, serial: 7, sequence: 0, bos: true, lastComplete: false }));
  const second = parseOggPage(buildOggPageFromPackets([big.subarray(510)], { granule: 960n, serial: 7, sequence: 1, continued: true }));
  const fresh = parseOggPage(buildOggPageFromPackets([new Uint8Array([9])], { granule: 1920n, serial: 7, sequence: 2 }));
  assert.ok(first.kind === 'page' && second.kind === 'page' && fresh.kind === 'page');
  const assembler = new OggPacketAssembler();
  const packets = [first.page, second.page].flatMap((page) => assembler.packets(page));
  assert.deepEqual(packets.map((packet) => [packet.data.length, packet.bos]), [[2, true], [600, false]]);
  assert.deepEqual([...(packets[1]?.data ?? [])], [...big]);
  // The first page of a packet arrives, its continuation is lost, a fresh page comes: the half packet is gone.
  const lossy = new OggPacketAssembler();
  assert.deepEqual([first.page, fresh.page].flatMap((page) => lossy.packets(page)).map((packet) => [...packet.data]), [[1, 2], [9]]);
});
