/**
 * Writes one logical stream, one packet per page, as `hoodycall talk` does (ffmpeg's
 * `-page_duration 20000`): a listener never waits for a page to fill. The page's talker uses it.
 */
import { buildOggPageFromPackets, HEADER_BOS, HEADER_EOS } from './page.js';

export const FLAG_BOS = HEADER_BOS;
export const FLAG_EOS = HEADER_EOS;

export class OggWriter {
  readonly #serial: number;
  #sequence = 0;

  constructor(serial: number) {
    this.#serial = serial >>> 0;
  }

  /** `granule` is the stream position after this packet (Opus: 48 kHz samples, pre-skip included); `flags`: FLAG_BOS, FLAG_EOS. */
  page(packet: Uint8Array, granule: bigint, flags = 0): Uint8Array {
    return buildOggPageFromPackets([packet], {
      bos: (flags & FLAG_BOS) !== 0,
      eos: (flags & FLAG_EOS) !== 0,
      granule,
      serial: this.#serial,
      sequence: this.#sequence++,
    });
  }
}
