/**
 * Ogg for Node: the shared codec of src/ogg (the page uses the same one) with Buffers in and out,
 * and OggPageSplitter, the Transform that cuts a byte stream into whole, checked pages.
 */
import { Transform, type TransformCallback } from 'node:stream';
import * as page from '../ogg/page.js';
import { OggPageReader, type PageReaderStats } from '../ogg/stream.js';

export {
  HEADER_BOS,
  HEADER_CONTINUED,
  HEADER_EOS,
  OGG_HEADER_BYTES,
  OGG_MAX_PAGE_BYTES,
  oggCrc,
  pageCrc,
  pagePackets,
  parseOggPage,
  readOggPage,
  type OggPageSpec,
  type PageProblem,
} from '../ogg/page.js';
export { isOpusHead, isOpusTags, opusPacketSamples, parseOpusHead, type OpusHead } from '../ogg/opus.js';

export const OGG_CAPTURE = Buffer.from(page.OGG_CAPTURE);

/** A page read in Node: its bytes are Buffers (views of what came in). */
export type OggPage = page.OggPage<Buffer>;
export type PageParse = page.PageParse<Buffer>;
export type PagePackets = page.PagePackets<Buffer>;

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

/** Lacing values and body for whole packets (and, with `lastComplete: false`, a last one that goes on). */
export function packetsToSegments(packets: readonly Uint8Array[], options: { readonly lastComplete?: boolean } = {}): { segments: number[]; body: Buffer } {
  const { segments, body } = page.packetsToSegments(packets, options);
  return { segments, body: asBuffer(body) };
}

/** Serializes a page with a freshly computed CRC. */
export function buildOggPage(spec: page.OggPageSpec): Buffer {
  return asBuffer(page.buildOggPage(spec));
}

/** A page built from whole packets. */
export function buildOggPageFromPackets(...args: Parameters<typeof page.buildOggPageFromPackets>): Buffer {
  return asBuffer(page.buildOggPageFromPackets(...args));
}

/** A parsed page with some header fields changed (e.g. renumbered), re-serialized with a new CRC. */
export function rewriteOggPage(...args: Parameters<typeof page.rewriteOggPage>): Buffer {
  return asBuffer(page.rewriteOggPage(...args));
}

/** A stream that brings no Ogg page: not Ogg at all (an error page, garbage). */
export class NotOggError extends Error {
  override readonly name = 'NotOggError';
}

export type SplitterStats = PageReaderStats;

/**
 * Bytes in, whole pages out (object mode), by the rules of src/ogg/stream.ts: garbage and broken
 * pages are skipped, and an unfinished page left when the input ends (a cut connection) is dropped.
 */
export class OggPageSplitter extends Transform {
  readonly #reader = new OggPageReader<Buffer>((parts) => Buffer.concat(parts));
  readonly stats: SplitterStats = this.#reader.stats;
  readonly #maxBytesWithoutPage: number;

  /** `maxBytesWithoutPage`: fail with NotOggError when this many bytes bring no page (default: never). */
  constructor(options: { readonly maxBytesWithoutPage?: number } = {}) {
    // A few pages are enough buffering downstream: each holds ~20 ms of audio.
    super({ readableObjectMode: true, writableObjectMode: false, readableHighWaterMark: 16 });
    this.#maxBytesWithoutPage = options.maxBytesWithoutPage ?? Infinity;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    // A page is at most 65,307 bytes: past the bound plus one page, no page is coming.
    if (this.#reader.bytesSincePage + chunk.length > this.#maxBytesWithoutPage + page.OGG_MAX_PAGE_BYTES) {
      callback(new NotOggError(`${this.#reader.bytesSincePage + chunk.length} bytes without an Ogg page`));
      return;
    }
    for (const found of this.#reader.push(chunk)) this.push(found);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#reader.end();
    callback();
  }
}
