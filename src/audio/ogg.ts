/**
 * A small, pure Ogg page toolkit (RFC 3533) for what hoodycall does with Ogg/Opus streams: read pages
 * as they arrive off the network, check them, and write new or changed pages.
 *
 * Page layout (all little-endian): "OggS", version (0), header type (1 continued, 2 BOS, 4 EOS),
 * granule position (int64), serial (uint32), sequence (uint32), CRC (uint32), segment count (uint8),
 * that many lacing values, then the body. A packet is the concatenation of segments up to and
 * including the first lacing value below 255; a page whose last lacing value is 255 leaves its last
 * packet unfinished (the next page has the "continued" flag).
 */
import { Transform, type TransformCallback } from 'node:stream';

export const OGG_CAPTURE = Buffer.from('OggS', 'latin1');
/** Fixed part of a page header, before the lacing values. */
export const OGG_HEADER_BYTES = 27;
/** The largest page: 255 segments of 255 bytes. */
export const OGG_MAX_PAGE_BYTES = OGG_HEADER_BYTES + 255 + 255 * 255;

export const HEADER_CONTINUED = 0x01;
export const HEADER_BOS = 0x02;
export const HEADER_EOS = 0x04;

export interface OggPage {
  readonly version: number;
  /** The raw header type byte; the three flags below are read from it. */
  readonly headerType: number;
  /** The page's first packet piece continues a packet from the previous page. */
  readonly continued: boolean;
  /** Beginning of a logical stream. */
  readonly bos: boolean;
  /** End of a logical stream. */
  readonly eos: boolean;
  /** For Opus: 48 kHz samples up to the end of the last packet finished on this page; -1n when none finishes here. */
  readonly granule: bigint;
  readonly serial: number;
  readonly sequence: number;
  /** The CRC as stored in the page. */
  readonly crc: number;
  /** Lacing values. */
  readonly segments: readonly number[];
  readonly body: Buffer;
  /** The whole page, header and body, as it came (or was built). */
  readonly bytes: Buffer;
}

// ---------------------------------------------------------------------------------------------
// CRC

/** Ogg's CRC-32: polynomial 0x04C11DB7, MSB first (no reflection), initial value 0, no final xor. */
const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg CRC-32 of `data`, continuing from `crc` (0 to start). */
export function oggCrc(data: Uint8Array, crc = 0): number {
  let value = crc >>> 0;
  for (let i = 0; i < data.length; i++) {
    value = ((value << 8) ^ (CRC_TABLE[((value >>> 24) ^ (data[i] ?? 0)) & 0xff] ?? 0)) >>> 0;
  }
  return value;
}

/** The CRC a whole page image should carry: computed with its CRC field (bytes 22–25) taken as zero. */
export function pageCrc(page: Uint8Array): number {
  let crc = oggCrc(page.subarray(0, 22));
  crc = oggCrc(new Uint8Array(4), crc);
  return oggCrc(page.subarray(26), crc);
}

// ---------------------------------------------------------------------------------------------
// Parsing

export type PageParse =
  /** A whole, valid page starts at the offset; `length` bytes long. */
  | { readonly kind: 'page'; readonly page: OggPage; readonly length: number }
  /** The bytes so far are a plausible start of a page; more are needed (at least `length` in all). */
  | { readonly kind: 'incomplete'; readonly length: number }
  /** No valid page starts at the offset. */
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Reads the page at `offset` of `data`. With `checkCrc` (the default) a page whose CRC does not match
 * is invalid: a byte changed on the way, or "OggS" occurred by chance inside other data.
 */
export function parseOggPage(data: Buffer, offset = 0, options: { readonly checkCrc?: boolean } = {}): PageParse {
  const available = data.length - offset;
  const prefix = Math.min(available, 4);
  if (data.compare(OGG_CAPTURE, 0, prefix, offset, offset + prefix) !== 0) return { kind: 'invalid', reason: 'no OggS capture pattern' };
  if (available < OGG_HEADER_BYTES) return { kind: 'incomplete', length: OGG_HEADER_BYTES };
  const version = data.readUInt8(offset + 4);
  if (version !== 0) return { kind: 'invalid', reason: `unknown Ogg version ${version}` };
  const headerType = data.readUInt8(offset + 5);
  if ((headerType & ~0x07) !== 0) return { kind: 'invalid', reason: `unknown header type flags 0x${headerType.toString(16)}` };
  const count = data.readUInt8(offset + 26);
  const headerLength = OGG_HEADER_BYTES + count;
  if (available < headerLength) return { kind: 'incomplete', length: headerLength };
  const segments: number[] = [];
  let bodyLength = 0;
  for (let i = 0; i < count; i++) {
    const lacing = data.readUInt8(offset + OGG_HEADER_BYTES + i);
    segments.push(lacing);
    bodyLength += lacing;
  }
  const length = headerLength + bodyLength;
  if (available < length) return { kind: 'incomplete', length };
  const bytes = data.subarray(offset, offset + length);
  const crc = bytes.readUInt32LE(22);
  if (options.checkCrc !== false && pageCrc(bytes) !== crc) return { kind: 'invalid', reason: 'CRC mismatch' };
  return {
    kind: 'page',
    length,
    page: {
      version,
      headerType,
      continued: (headerType & HEADER_CONTINUED) !== 0,
      bos: (headerType & HEADER_BOS) !== 0,
      eos: (headerType & HEADER_EOS) !== 0,
      granule: bytes.readBigInt64LE(6),
      serial: bytes.readUInt32LE(14),
      sequence: bytes.readUInt32LE(18),
      crc,
      segments,
      body: bytes.subarray(headerLength),
      bytes,
    },
  };
}

/** The pieces of packets on a page, in order. */
export interface PagePackets {
  readonly pieces: readonly Buffer[];
  /** The first piece continues a packet begun on an earlier page. */
  readonly firstContinued: boolean;
  /** The last piece ends its packet (false: it goes on on the next page). */
  readonly lastComplete: boolean;
  /** How many packets end on this page. */
  readonly completed: number;
}

export function pagePackets(page: Pick<OggPage, 'continued' | 'segments' | 'body'>): PagePackets {
  const pieces: Buffer[] = [];
  let start = 0;
  let at = 0;
  let completed = 0;
  let open = false;
  for (const lacing of page.segments) {
    at += lacing;
    open = true;
    if (lacing < 255) {
      pieces.push(page.body.subarray(start, at));
      start = at;
      completed++;
      open = false;
    }
  }
  if (open) pieces.push(page.body.subarray(start, at));
  return { pieces, firstContinued: page.continued, lastComplete: !open, completed };
}

/** The identification header of an Ogg Opus stream (RFC 7845 §5.1): "OpusHead", at least 19 bytes. */
export function isOpusHead(packet: Uint8Array): boolean {
  return packet.length >= 19 && Buffer.from(packet.buffer, packet.byteOffset, 8).toString('latin1') === 'OpusHead';
}

/** The comment header (RFC 7845 §5.2): "OpusTags", at least 16 bytes. */
export function isOpusTags(packet: Uint8Array): boolean {
  return packet.length >= 16 && Buffer.from(packet.buffer, packet.byteOffset, 8).toString('latin1') === 'OpusTags';
}

/** Opus frame sizes by TOC configuration (RFC 6716 §3.1), in 48 kHz samples. */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4] ?? 960; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return config % 2 === 0 ? 480 : 960; // hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4] ?? 960; // CELT: 2.5, 5, 10, 20 ms
}

/** Samples (48 kHz) an Opus packet decodes to, from its TOC byte; 0 for an empty or malformed packet. */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const perFrame = frameSamples(toc >> 3);
  const code = toc & 0x03;
  if (code === 0) return perFrame;
  if (code === 1 || code === 2) return 2 * perFrame;
  const count = (packet[1] ?? 0) & 0x3f;
  return count * perFrame;
}

// ---------------------------------------------------------------------------------------------
// Building

export interface OggPageSpec {
  readonly continued?: boolean;
  readonly bos?: boolean;
  readonly eos?: boolean;
  /** -1n: no packet ends on this page. */
  readonly granule: bigint;
  readonly serial: number;
  readonly sequence: number;
  readonly segments: readonly number[];
  readonly body: Uint8Array;
}

/** Lacing values and body for whole packets (and, with `lastComplete: false`, a last one that goes on). */
export function packetsToSegments(packets: readonly Uint8Array[], options: { readonly lastComplete?: boolean } = {}): { segments: number[]; body: Buffer } {
  const segments: number[] = [];
  packets.forEach((packet, index) => {
    const last = index === packets.length - 1;
    let left = packet.length;
    while (left >= 255) {
      segments.push(255);
      left -= 255;
    }
    // A packet of a multiple of 255 bytes ends with a 0 lacing value, unless it is left open.
    if (!(last && options.lastComplete === false)) segments.push(left);
    else if (left > 0) throw new RangeError('an unfinished last packet must fill whole 255-byte segments');
  });
  if (segments.length > 255) throw new RangeError(`${segments.length} segments do not fit one page (255 at most)`);
  return { segments, body: Buffer.concat(packets) };
}

/** Serializes a page with a freshly computed CRC. */
export function buildOggPage(spec: OggPageSpec): Buffer {
  if (spec.segments.length > 255) throw new RangeError(`${spec.segments.length} segments do not fit one page (255 at most)`);
  const bodyLength = spec.segments.reduce((sum, lacing) => sum + lacing, 0);
  if (bodyLength !== spec.body.length) throw new RangeError(`lacing values add up to ${bodyLength} bytes, the body has ${spec.body.length}`);
  const headerLength = OGG_HEADER_BYTES + spec.segments.length;
  const page = Buffer.alloc(headerLength + bodyLength);
  OGG_CAPTURE.copy(page, 0);
  page.writeUInt8(0, 4);
  page.writeUInt8((spec.continued === true ? HEADER_CONTINUED : 0) | (spec.bos === true ? HEADER_BOS : 0) | (spec.eos === true ? HEADER_EOS : 0), 5);
  page.writeBigInt64LE(spec.granule, 6);
  page.writeUInt32LE(spec.serial >>> 0, 14);
  page.writeUInt32LE(spec.sequence >>> 0, 18);
  page.writeUInt8(spec.segments.length, 26);
  spec.segments.forEach((lacing, i) => page.writeUInt8(lacing, OGG_HEADER_BYTES + i));
  page.set(spec.body, headerLength);
  page.writeUInt32LE(pageCrc(page), 22);
  return page;
}

/** A page built from whole packets. */
export function buildOggPageFromPackets(
  packets: readonly Uint8Array[],
  fields: Omit<OggPageSpec, 'segments' | 'body'> & { readonly lastComplete?: boolean },
): Buffer {
  const { segments, body } = packetsToSegments(packets, fields.lastComplete === undefined ? {} : { lastComplete: fields.lastComplete });
  return buildOggPage({ ...fields, segments, body });
}

/** A parsed page with some header fields changed (e.g. renumbered), re-serialized with a new CRC. */
export function rewriteOggPage(page: OggPage, changes: Partial<Omit<OggPageSpec, 'segments' | 'body'>>): Buffer {
  return buildOggPage({
    continued: changes.continued ?? page.continued,
    bos: changes.bos ?? page.bos,
    eos: changes.eos ?? page.eos,
    granule: changes.granule ?? page.granule,
    serial: changes.serial ?? page.serial,
    sequence: changes.sequence ?? page.sequence,
    segments: page.segments,
    body: page.body,
  });
}

/** Parses one whole page image (throws if it is not exactly one valid page). */
export function readOggPage(bytes: Buffer): OggPage {
  const result = parseOggPage(bytes);
  if (result.kind !== 'page') throw new Error(`not an Ogg page: ${result.kind === 'invalid' ? result.reason : 'incomplete'}`);
  if (result.length !== bytes.length) throw new Error(`${bytes.length - result.length} bytes after the page`);
  return result.page;
}


// ---------------------------------------------------------------------------------------------
// Streaming

/** A stream that brings no Ogg page: not Ogg at all (an error page, garbage). */
export class NotOggError extends Error {
  override readonly name = 'NotOggError';
}

export interface SplitterStats {
  /** Bytes skipped while looking for a page (garbage, broken pages). */
  skippedBytes: number;
  /** Candidate pages rejected for a CRC mismatch. */
  badCrc: number;
  /** Bytes of an unfinished page dropped at the end of the stream (a cut connection). */
  discardedTail: number;
  pages: number;
}

/** Whether a whole page with a good CRC starts anywhere in `data` from `from` on. */
function validPageFollows(data: Buffer, from: number): boolean {
  for (let at = data.indexOf(OGG_CAPTURE, from); at !== -1; at = data.indexOf(OGG_CAPTURE, at + 1)) {
    if (parseOggPage(data, at).kind === 'page') return true;
  }
  return false;
}

/**
 * Bytes in, whole pages out (object mode). Garbage and broken pages are skipped by scanning for the
 * next "OggS" that starts a page with a good CRC. A page is only ever emitted whole: an unfinished page
 * left when the input ends (a cut connection) is dropped, since a decoder fed half a page either stops
 * or misreads the next stream chained after it.
 */
export class OggPageSplitter extends Transform {
  readonly stats: SplitterStats = { skippedBytes: 0, badCrc: 0, discardedTail: 0, pages: 0 };
  #pending: Buffer = Buffer.alloc(0);
  readonly #maxBytesWithoutPage: number;
  /** Bytes taken in since the last whole page (or the start). */
  #sincePage = 0;

  /** `maxBytesWithoutPage`: fail with NotOggError when this many bytes bring no page (default: never). */
  constructor(options: { readonly maxBytesWithoutPage?: number } = {}) {
    // A few pages are enough buffering downstream: each holds ~20 ms of audio.
    super({ readableObjectMode: true, writableObjectMode: false, readableHighWaterMark: 16 });
    this.#maxBytesWithoutPage = options.maxBytesWithoutPage ?? Infinity;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#sincePage += chunk.length;
    // A page is at most 65,307 bytes: past the bound plus one page, no page is coming.
    if (this.#sincePage > this.#maxBytesWithoutPage + OGG_MAX_PAGE_BYTES) {
      callback(new NotOggError(`${this.#sincePage} bytes without an Ogg page`));
      return;
    }
    const data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let offset = 0;
    for (;;) {
      const start = data.indexOf(OGG_CAPTURE, offset);
      if (start === -1) {
        // Keep a tail that could be the start of "OggS" split across chunks.
        const keep = Math.min(3, data.length - offset);
        this.stats.skippedBytes += data.length - offset - keep;
        offset = data.length - keep;
        break;
      }
      this.stats.skippedBytes += start - offset;
      offset = start;
      const result = parseOggPage(data, offset);
      if (result.kind === 'incomplete') {
        // A chance "OggS" in garbage can claim up to 64 KiB, and waiting for that much would stall a
        // live stream for seconds: if a whole valid page already follows, the candidate was not one.
        if (!validPageFollows(data, offset + 1)) break;
        this.stats.skippedBytes += 1;
        offset += 1;
        continue;
      }
      if (result.kind === 'invalid') {
        if (result.reason === 'CRC mismatch') this.stats.badCrc++;
        // Not a page after all: look for the next capture pattern after this one.
        this.stats.skippedBytes += 1;
        offset += 1;
        continue;
      }
      this.stats.pages++;
      this.push(result.page);
      offset += result.length;
      this.#sincePage = data.length - offset;
    }
    // Copy the remainder so the (possibly large) chunk it came from can be freed.
    this.#pending = offset >= data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(offset));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.stats.discardedTail += this.#pending.length;
    this.#pending = Buffer.alloc(0);
    callback();
  }
}
