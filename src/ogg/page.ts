/**
 * Ogg pages (RFC 3533) on Uint8Array, the one codec that Node (src/audio) and the browser page
 * (src/browser) both use: compiled by tsconfig.json and by tsconfig.browser.json, so it can use
 * neither Buffer nor the DOM. Pure: no I/O, no state.
 *
 * Page layout (all little-endian): "OggS", version (0), header type (1 continued, 2 BOS, 4 EOS),
 * granule position (int64), serial (uint32), sequence (uint32), CRC (uint32), segment count (uint8),
 * that many lacing values, then the body. A packet is the concatenation of segments up to and
 * including the first lacing value below 255; a page whose last lacing value is 255 leaves its last
 * packet unfinished (the next page has the "continued" flag).
 *
 * Functions that cut pages out of bytes are generic over the byte type: `subarray` keeps the class
 * (a Buffer's subarray is a Buffer), so Node gets Buffers back where it passed Buffers in.
 */

/** "OggS". */
export const OGG_CAPTURE: Uint8Array = new Uint8Array([0x4f, 0x67, 0x67, 0x53]);
/** Fixed part of a page header, before the lacing values. */
export const OGG_HEADER_BYTES = 27;
/** The largest page: 255 segments of 255 bytes. */
export const OGG_MAX_PAGE_BYTES = OGG_HEADER_BYTES + 255 + 255 * 255;

export const HEADER_CONTINUED = 0x01;
export const HEADER_BOS = 0x02;
export const HEADER_EOS = 0x04;

export interface OggPage<Bytes extends Uint8Array = Uint8Array> {
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
  readonly body: Bytes;
  /** The whole page, header and body, as it came (or was built). */
  readonly bytes: Bytes;
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

/** Why bytes are not a page: data, so callers branch on a kind, never on a message. */
export type PageProblem = 'no-capture' | 'version' | 'header-type' | 'crc';

export type PageParse<Bytes extends Uint8Array = Uint8Array> =
  /** A whole, valid page starts at the offset; `length` bytes long. */
  | { readonly kind: 'page'; readonly page: OggPage<Bytes>; readonly length: number }
  /** The bytes so far are a plausible start of a page; more are needed (at least `length` in all). */
  | { readonly kind: 'incomplete'; readonly length: number }
  /** No valid page starts at the offset. */
  | { readonly kind: 'invalid'; readonly problem: PageProblem; readonly reason: string };

/** Where "OggS" next starts in `data` at or after `from`; -1 if nowhere. */
export function findCapture(data: Uint8Array, from = 0): number {
  for (let at = data.indexOf(0x4f, from); at !== -1 && at + 4 <= data.length; at = data.indexOf(0x4f, at + 1)) {
    if (data[at + 1] === 0x67 && data[at + 2] === 0x67 && data[at + 3] === 0x53) return at;
  }
  return -1;
}

const invalid = (problem: PageProblem, reason: string): PageParse<never> => ({ kind: 'invalid', problem, reason });

/**
 * Reads the page at `offset` of `data`. With `checkCrc` (the default) a page whose CRC does not match
 * is invalid: a byte changed on the way, or "OggS" occurred by chance inside other data.
 */
export function parseOggPage<Bytes extends Uint8Array>(data: Bytes, offset = 0, options: { readonly checkCrc?: boolean } = {}): PageParse<Bytes> {
  const available = data.length - offset;
  for (let i = 0; i < Math.min(available, 4); i++) {
    if (data[offset + i] !== OGG_CAPTURE[i]) return invalid('no-capture', 'no OggS capture pattern');
  }
  if (available < OGG_HEADER_BYTES) return { kind: 'incomplete', length: OGG_HEADER_BYTES };
  const version = data[offset + 4] ?? 0;
  if (version !== 0) return invalid('version', `unknown Ogg version ${version}`);
  const headerType = data[offset + 5] ?? 0;
  if ((headerType & ~0x07) !== 0) return invalid('header-type', `unknown header type flags 0x${headerType.toString(16)}`);
  const count = data[offset + 26] ?? 0;
  const headerLength = OGG_HEADER_BYTES + count;
  if (available < headerLength) return { kind: 'incomplete', length: headerLength };
  const segments: number[] = [];
  let bodyLength = 0;
  for (let i = 0; i < count; i++) {
    const lacing = data[offset + OGG_HEADER_BYTES + i] ?? 0;
    segments.push(lacing);
    bodyLength += lacing;
  }
  const length = headerLength + bodyLength;
  if (available < length) return { kind: 'incomplete', length };
  // subarray keeps the byte type (Buffer in, Buffer out); TypeScript types it as the base class.
  const bytes = data.subarray(offset, offset + length) as Bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, OGG_HEADER_BYTES);
  const crc = view.getUint32(22, true);
  if (options.checkCrc !== false && pageCrc(bytes) !== crc) return invalid('crc', 'CRC mismatch');
  return {
    kind: 'page',
    length,
    page: {
      version,
      headerType,
      continued: (headerType & HEADER_CONTINUED) !== 0,
      bos: (headerType & HEADER_BOS) !== 0,
      eos: (headerType & HEADER_EOS) !== 0,
      granule: view.getBigInt64(6, true),
      serial: view.getUint32(14, true),
      sequence: view.getUint32(18, true),
      crc,
      segments,
      body: bytes.subarray(headerLength) as Bytes,
      bytes,
    },
  };
}

/** Parses one whole page image (throws if it is not exactly one valid page). */
export function readOggPage<Bytes extends Uint8Array>(bytes: Bytes): OggPage<Bytes> {
  const result = parseOggPage(bytes);
  if (result.kind !== 'page') throw new Error(`not an Ogg page: ${result.kind === 'invalid' ? result.reason : 'incomplete'}`);
  if (result.length !== bytes.length) throw new Error(`${bytes.length - result.length} bytes after the page`);
  return result.page;
}

/** The pieces of packets on a page, in order. */
export interface PagePackets<Bytes extends Uint8Array = Uint8Array> {
  readonly pieces: readonly Bytes[];
  /** The first piece continues a packet begun on an earlier page. */
  readonly firstContinued: boolean;
  /** The last piece ends its packet (false: it goes on on the next page). */
  readonly lastComplete: boolean;
  /** How many packets end on this page. */
  readonly completed: number;
}

export function pagePackets<Bytes extends Uint8Array>(page: Pick<OggPage<Bytes>, 'continued' | 'segments' | 'body'>): PagePackets<Bytes> {
  const pieces: Bytes[] = [];
  let start = 0;
  let at = 0;
  let completed = 0;
  let open = false;
  for (const lacing of page.segments) {
    at += lacing;
    open = true;
    if (lacing < 255) {
      pieces.push(page.body.subarray(start, at) as Bytes);
      start = at;
      completed++;
      open = false;
    }
  }
  if (open) pieces.push(page.body.subarray(start, at) as Bytes);
  return { pieces, firstContinued: page.continued, lastComplete: !open, completed };
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

/** One new array holding `parts` one after the other. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Lacing values and body for whole packets (and, with `lastComplete: false`, a last one that goes on). */
export function packetsToSegments(packets: readonly Uint8Array[], options: { readonly lastComplete?: boolean } = {}): { segments: number[]; body: Uint8Array } {
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
  return { segments, body: concatBytes(packets) };
}

/** Serializes a page with a freshly computed CRC. */
export function buildOggPage(spec: OggPageSpec): Uint8Array {
  if (spec.segments.length > 255) throw new RangeError(`${spec.segments.length} segments do not fit one page (255 at most)`);
  const bodyLength = spec.segments.reduce((sum, lacing) => sum + lacing, 0);
  if (bodyLength !== spec.body.length) throw new RangeError(`lacing values add up to ${bodyLength} bytes, the body has ${spec.body.length}`);
  const headerLength = OGG_HEADER_BYTES + spec.segments.length;
  const page = new Uint8Array(headerLength + bodyLength);
  const view = new DataView(page.buffer);
  page.set(OGG_CAPTURE, 0);
  page[4] = 0;
  page[5] = (spec.continued === true ? HEADER_CONTINUED : 0) | (spec.bos === true ? HEADER_BOS : 0) | (spec.eos === true ? HEADER_EOS : 0);
  view.setBigInt64(6, spec.granule, true);
  view.setUint32(14, spec.serial >>> 0, true);
  view.setUint32(18, spec.sequence >>> 0, true);
  page[26] = spec.segments.length;
  page.set(spec.segments, OGG_HEADER_BYTES);
  page.set(spec.body, headerLength);
  view.setUint32(22, pageCrc(page), true);
  return page;
}

/** A page built from whole packets. */
export function buildOggPageFromPackets(
  packets: readonly Uint8Array[],
  fields: Omit<OggPageSpec, 'segments' | 'body'> & { readonly lastComplete?: boolean },
): Uint8Array {
  const { segments, body } = packetsToSegments(packets, fields.lastComplete === undefined ? {} : { lastComplete: fields.lastComplete });
  return buildOggPage({ ...fields, segments, body });
}

/** A parsed page with some header fields changed (e.g. renumbered), re-serialized with a new CRC. */
export function rewriteOggPage(page: OggPage, changes: Partial<Omit<OggPageSpec, 'segments' | 'body'>>): Uint8Array {
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
