import { randomInt } from 'node:crypto';
import { buildOggPageFromPackets, type OggPage, opusPacketSamples, pagePackets, rewriteOggPage } from './ogg.js';
import { silentOpusPacket } from './opus-silence.js';

/**
 * Cuts one long-running encoder's Ogg Opus output into streams a decoder can start on: each
 * connection of a call (the first, and every one after a reconnect) gets the cached OpusHead/OpusTags
 * pages under a new serial number, then the live pages from the next page boundary, renumbered.
 * Granule positions are kept: RFC 7845 §4 lets a live stream begin at a granule above zero, and
 * they keep meaning "time since the call began" for the listener's catch-up.
 *
 * A decoder that reads several connections back to back (`listen` across a reconnect) sees a
 * chained Ogg stream, which ffmpeg plays on.
 *
 * It also mutes: while `muted`, every audio packet is replaced by a silent one of the same length.
 */
export class OggRestreamer {
  /** Header pages (granule 0) of the encoder's current logical stream. */
  #headers: OggPage[] = [];
  #headersComplete = false;
  #needsHeaders = true;
  #serial = 0;
  #sequence = 0;
  muted = false;
  readonly #newSerial: () => number;

  constructor(newSerial: () => number = () => randomInt(1, 0xffff_ffff)) {
    this.#newSerial = newSerial;
  }

  /** The next page sent begins a new logical stream (its headers first). */
  restart(): void {
    this.#needsHeaders = true;
  }

  /** The bytes to send for `page`, or null: header pages are held back, and a stream cannot start mid-packet. */
  bytesOf(page: OggPage): Buffer | null {
    if (page.bos) {
      // The encoder itself began a new stream: its headers replace the cached ones.
      this.#headers = [];
      this.#headersComplete = false;
      this.#needsHeaders = true;
    }
    if (!this.#headersComplete) {
      this.#headers.push(page);
      // OpusHead is alone on the first page; the comment header ends on a page of its own before any audio.
      this.#headersComplete = this.#headers.length >= 2 && pagePackets(page).lastComplete;
      return null;
    }
    if (this.#needsHeaders) {
      if (page.continued) return null;
      this.#needsHeaders = false;
      this.#serial = this.#nextSerial();
      this.#sequence = 0;
      const heads = this.#headers.map((header, index) =>
        rewriteOggPage(header, { serial: this.#serial, sequence: this.#sequence++, bos: index === 0, eos: false }),
      );
      return Buffer.concat([...heads, this.#audio(page)]);
    }
    return this.#audio(page);
  }

  #audio(page: OggPage): Buffer {
    const fields = { serial: this.#serial, sequence: this.#sequence++, bos: false, eos: page.eos, granule: page.granule, continued: page.continued };
    if (this.muted) {
      const packets = pagePackets(page);
      const silent = packets.firstContinued || !packets.lastComplete ? null : packets.pieces.map((packet) => silentOpusPacket(opusPacketSamples(packet)));
      if (silent !== null && silent.every((packet): packet is Buffer => packet !== null)) return buildOggPageFromPackets(silent, fields);
    }
    return rewriteOggPage(page, fields);
  }

  #nextSerial(): number {
    let serial = this.#newSerial();
    // A chained stream must not reuse the serial of the one before it.
    while (serial === this.#serial) serial = this.#newSerial();
    return serial;
  }
}
