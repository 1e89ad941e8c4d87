/**
 * Ogg for the page: the shared codec of src/ogg (the same one Node uses), and a reader that turns
 * the bytes of a response into Opus packets as they arrive.
 */
import { OggPacketAssembler, OggPageReader, type OggPacket } from '../ogg/stream.js';

export { oggCrc, concatBytes as concat } from '../ogg/page.js';
export { isOpusHead, isOpusTags, opusHead, opusPacketSamples, opusTags, parseOpusHead, type OpusHead } from '../ogg/opus.js';
export { FLAG_BOS, FLAG_EOS, OggWriter } from '../ogg/writer.js';
export type { OggPacket } from '../ogg/stream.js';

/**
 * Feed it bytes as they arrive; it returns the packets completed so far. Bytes before a page are
 * skipped, so a reader may start mid-stream; pages are CRC-checked, as Node's splitter does (a
 * voice page is ~100 bytes), so a stray "OggS" in garbage is never taken for a page.
 */
export class OggReader {
  readonly #pages = new OggPageReader();
  readonly #assembler = new OggPacketAssembler();

  push(chunk: Uint8Array): OggPacket[] {
    return this.#pages.push(chunk).flatMap((page) => this.#assembler.packets(page));
  }
}
