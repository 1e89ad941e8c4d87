/**
 * Ogg for the page, on Uint8Array (no Buffer in a browser): a streaming page reader that yields
 * packets, and a page writer with the Ogg CRC. Only what Opus in Ogg (RFC 7845) needs. No DOM here,
 * so Node tests import it as it is.
 */

const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const HEADER_SIZE = 27;
const FLAG_CONTINUED = 0x01;
export const FLAG_BOS = 0x02;
export const FLAG_EOS = 0x04;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32: polynomial 0x04c11db7, no reflection, initial 0, no final xor. */
export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] ?? 0)) >>> 0;
  return crc;
}

export interface OggPacket {
  readonly data: Uint8Array;
  readonly serial: number;
  /** The first packet of a logical stream (a new stream starts: a talker that reconnected, chained Ogg). */
  readonly bos: boolean;
}

/**
 * Feed it bytes as they arrive; it returns the packets completed so far. Bytes before a capture
 * pattern are skipped, so a reader may start mid-stream. Pages are not CRC-checked: TCP already
 * guarantees the bytes, and checking costs time on the audio path for nothing.
 */
export class OggReader {
  #buffer: Uint8Array = new Uint8Array(0);
  #partial: Uint8Array[] = [];
  #partialBos = false;

  push(chunk: Uint8Array): OggPacket[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : concat([this.#buffer, chunk]);
    const packets: OggPacket[] = [];
    let offset = 0;
    for (;;) {
      const start = findCapture(this.#buffer, offset);
      if (start === -1) {
        // Keep at most 3 bytes: a capture pattern may straddle the chunk boundary.
        offset = Math.max(offset, this.#buffer.length - 3);
        break;
      }
      offset = start;
      if (this.#buffer.length - start < HEADER_SIZE) break;
      const segments = this.#buffer[start + 26] ?? 0;
      const bodyStart = start + HEADER_SIZE + segments;
      if (this.#buffer.length < bodyStart) break;
      let bodyLength = 0;
      for (let i = 0; i < segments; i++) bodyLength += this.#buffer[start + HEADER_SIZE + i] ?? 0;
      if (this.#buffer.length < bodyStart + bodyLength) break;
      this.#page(start, segments, bodyStart, packets);
      offset = bodyStart + bodyLength;
    }
    this.#buffer = this.#buffer.slice(offset);
    return packets;
  }

  #page(start: number, segments: number, bodyStart: number, packets: OggPacket[]): void {
    const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset + start, HEADER_SIZE);
    const flags = view.getUint8(5);
    const serial = view.getUint32(14, true);
    if ((flags & FLAG_CONTINUED) === 0) this.#partial = [];
    if ((flags & FLAG_BOS) !== 0) this.#partialBos = true;
    let position = bodyStart;
    let segmentStart = position;
    for (let i = 0; i < segments; i++) {
      const lace = this.#buffer[start + HEADER_SIZE + i] ?? 0;
      position += lace;
      if (lace < 255) {
        this.#partial.push(this.#buffer.slice(segmentStart, position));
        packets.push({ data: concat(this.#partial), serial, bos: this.#partialBos });
        this.#partial = [];
        this.#partialBos = false;
        segmentStart = position;
      }
    }
    if (segmentStart < position) this.#partial.push(this.#buffer.slice(segmentStart, position));
  }
}

function findCapture(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 4 <= bytes.length; i++) {
    if (bytes[i] === CAPTURE[0] && bytes[i + 1] === CAPTURE[1] && bytes[i + 2] === CAPTURE[2] && bytes[i + 3] === CAPTURE[3]) return i;
  }
  return -1;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
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

/**
 * Writes one logical stream, one packet per page, as `hoodycall talk` does (ffmpeg's
 * `-page_duration 20000`): a listener never waits for a page to fill.
 */
export class OggWriter {
  readonly #serial: number;
  #sequence = 0;

  constructor(serial: number) {
    this.#serial = serial >>> 0;
  }

  /** `granule` is the stream position after this packet (Opus: 48 kHz samples, pre-skip included). */
  page(packet: Uint8Array, granule: bigint, flags = 0): Uint8Array {
    const lacing: number[] = [];
    let left = packet.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
    if (lacing.length > 255) throw new RangeError('an Ogg page holds at most 255 segments (65,025 bytes)');
    const page = new Uint8Array(HEADER_SIZE + lacing.length + packet.length);
    const view = new DataView(page.buffer);
    page.set(CAPTURE, 0);
    view.setUint8(4, 0);
    view.setUint8(5, flags);
    view.setBigInt64(6, granule, true);
    view.setUint32(14, this.#serial, true);
    view.setUint32(18, this.#sequence++, true);
    view.setUint32(22, 0, true);
    view.setUint8(26, lacing.length);
    page.set(lacing, HEADER_SIZE);
    page.set(packet, HEADER_SIZE + lacing.length);
    view.setUint32(22, oggCrc(page), true);
    return page;
  }
}

export interface OpusHead {
  readonly channels: number;
  readonly preSkip: number;
  readonly inputSampleRate: number;
}

/** RFC 7845 §5.1: the identification header, channel mapping family 0 (mono or stereo). */
export function opusHead(head: OpusHead): Uint8Array {
  const bytes = new Uint8Array(19);
  const view = new DataView(bytes.buffer);
  bytes.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64], 0); // "OpusHead"
  view.setUint8(8, 1);
  view.setUint8(9, head.channels);
  view.setUint16(10, head.preSkip, true);
  view.setUint32(12, head.inputSampleRate, true);
  view.setInt16(16, 0, true);
  view.setUint8(18, 0);
  return bytes;
}

/** RFC 7845 §5.2: the comment header with a vendor string and no comments. */
export function opusTags(vendor: string): Uint8Array {
  const vendorBytes = new TextEncoder().encode(vendor);
  const bytes = new Uint8Array(8 + 4 + vendorBytes.length + 4);
  const view = new DataView(bytes.buffer);
  bytes.set([0x4f, 0x70, 0x75, 0x73, 0x54, 0x61, 0x67, 0x73], 0); // "OpusTags"
  view.setUint32(8, vendorBytes.length, true);
  bytes.set(vendorBytes, 12);
  view.setUint32(12 + vendorBytes.length, 0, true);
  return bytes;
}

export function isOpusHead(packet: Uint8Array): boolean {
  return packet.length >= 19 && String.fromCharCode(...packet.subarray(0, 8)) === 'OpusHead';
}

export function isOpusTags(packet: Uint8Array): boolean {
  return packet.length >= 8 && String.fromCharCode(...packet.subarray(0, 8)) === 'OpusTags';
}

export function parseOpusHead(packet: Uint8Array): OpusHead {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.length);
  return { channels: view.getUint8(9), preSkip: view.getUint16(10, true), inputSampleRate: view.getUint32(12, true) };
}

/** Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 §3.1); 0 when malformed. */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  let frame: number;
  if (config < 12) frame = [480, 960, 1920, 2880][config & 3] ?? 0;
  else if (config < 16) frame = (config & 1) === 0 ? 480 : 960;
  else frame = [120, 240, 480, 960][config & 3] ?? 0;
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  return frame * frames;
}
