/**
 * Reading Ogg as it arrives off the network, for Node (src/audio's OggPageSplitter, a Transform around
 * it) and for the page (src/browser's OggReader): bytes in, whole checked pages out, then packets.
 * One set of rules on both sides: garbage and broken pages are skipped by scanning for the next
 * "OggS" that starts a page with a good CRC, and a page is only ever given out whole.
 */
import { concatBytes, findCapture, type OggPage, parseOggPage } from './page.js';

export interface PageReaderStats {
  /** Bytes skipped while looking for a page (garbage, broken pages). */
  skippedBytes: number;
  /** Candidate pages rejected for a CRC mismatch. */
  badCrc: number;
  /** Bytes of an unfinished page dropped at the end of the stream (a cut connection). */
  discardedTail: number;
  pages: number;
}

/** Whether a whole page with a good CRC starts anywhere in `data` from `from` on. */
function validPageFollows(data: Uint8Array, from: number): boolean {
  for (let at = findCapture(data, from); at !== -1; at = findCapture(data, at + 1)) {
    if (parseOggPage(data, at).kind === 'page') return true;
  }
  return false;
}

/**
 * Feed it bytes with `push`; it returns the pages completed so far. `end` drops an unfinished page
 * left when the input ends (a cut connection): a decoder fed half a page either stops or misreads
 * the next stream chained after it.
 *
 * `concat` joins a held-back remainder with the next chunk (and copies a remainder on its own, so the
 * possibly large chunk it came from can be freed); Node passes Buffer.concat to get Buffers back.
 */
export class OggPageReader<Bytes extends Uint8Array = Uint8Array> {
  readonly stats: PageReaderStats = { skippedBytes: 0, badCrc: 0, discardedTail: 0, pages: 0 };
  /** Bytes taken in since the last whole page (or the start). */
  bytesSincePage = 0;
  #pending: Bytes | undefined;
  readonly #concat: (parts: readonly Bytes[]) => Bytes;

  constructor(concat: (parts: readonly Bytes[]) => Bytes = concatBytes as (parts: readonly Uint8Array[]) => Bytes) {
    this.#concat = concat;
  }

  push(chunk: Bytes): OggPage<Bytes>[] {
    this.bytesSincePage += chunk.length;
    const pages: OggPage<Bytes>[] = [];
    const data = this.#pending === undefined ? chunk : this.#concat([this.#pending, chunk]);
    let offset = 0;
    for (;;) {
      const start = findCapture(data, offset);
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
        if (result.problem === 'crc') this.stats.badCrc++;
        // Not a page after all: look for the next capture pattern after this one.
        this.stats.skippedBytes += 1;
        offset += 1;
        continue;
      }
      this.stats.pages++;
      pages.push(result.page);
      offset += result.length;
      this.bytesSincePage = data.length - offset;
    }
    this.#pending = offset >= data.length ? undefined : this.#concat([data.subarray(offset) as Bytes]);
    return pages;
  }

  /** The input ended: whatever is held back was not a whole page. */
  end(): void {
    this.stats.discardedTail += this.#pending?.length ?? 0;
    this.#pending = undefined;
  }
}

export interface OggPacket {
  readonly data: Uint8Array;
  readonly serial: number;
  /** The first packet of a logical stream (a new stream starts: a talker that reconnected, chained Ogg). */
  readonly bos: boolean;
}

/** Pages in, whole packets out: a packet that spans pages is joined; a continuation without its start is dropped. */
export class OggPacketAssembler {
  #partial: Uint8Array[] = [];
  #partialBos = false;

  packets(page: OggPage): OggPacket[] {
    const packets: OggPacket[] = [];
    if (!page.continued) this.#partial = [];
    if (page.bos) this.#partialBos = true;
    let start = 0;
    let at = 0;
    for (const lacing of page.segments) {
      at += lacing;
      if (lacing < 255) {
        this.#partial.push(page.body.subarray(start, at));
        packets.push({ data: concatBytes(this.#partial), serial: page.serial, bos: this.#partialBos });
        this.#partial = [];
        this.#partialBos = false;
        start = at;
      }
    }
    if (start < at) this.#partial.push(page.body.slice(start, at));
    return packets;
  }
}
