/**
 * Opus in Ogg (RFC 7845) and the Opus TOC byte (RFC 6716 §3.1), for Node and the page alike (see
 * page.ts): recognising and writing the two header packets, and how long an audio packet plays.
 */

const OPUS_HEAD_MAGIC = [0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64]; // "OpusHead"
const OPUS_TAGS_MAGIC = [0x4f, 0x70, 0x75, 0x73, 0x54, 0x61, 0x67, 0x73]; // "OpusTags"

function startsWith(packet: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, i) => packet[i] === byte);
}

/** The identification header (RFC 7845 §5.1): "OpusHead", at least 19 bytes. */
export function isOpusHead(packet: Uint8Array): boolean {
  return packet.length >= 19 && startsWith(packet, OPUS_HEAD_MAGIC);
}

/** The comment header (RFC 7845 §5.2): "OpusTags", at least 16 bytes (a vendor length and a comment count follow). */
export function isOpusTags(packet: Uint8Array): boolean {
  return packet.length >= 16 && startsWith(packet, OPUS_TAGS_MAGIC);
}

export interface OpusHead {
  readonly channels: number;
  readonly preSkip: number;
  readonly inputSampleRate: number;
}

/** The fields of an identification header (check it with isOpusHead first). */
export function parseOpusHead(packet: Uint8Array): OpusHead {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.length);
  return { channels: view.getUint8(9), preSkip: view.getUint16(10, true), inputSampleRate: view.getUint32(12, true) };
}

/** RFC 7845 §5.1: the identification header, channel mapping family 0 (mono or stereo). */
export function opusHead(head: OpusHead): Uint8Array {
  const bytes = new Uint8Array(19);
  const view = new DataView(bytes.buffer);
  bytes.set(OPUS_HEAD_MAGIC, 0);
  view.setUint8(8, 1);
  view.setUint8(9, head.channels);
  view.setUint16(10, head.preSkip, true);
  view.setUint32(12, head.inputSampleRate, true);
  view.setInt16(16, 0, true);
  view.setUint8(18, 0);
  return bytes;
}

/** RFC 7845 §5.2: the comment header with an ASCII vendor string and no comments. */
export function opusTags(vendor: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(vendor)) throw new RangeError('the Opus vendor string must be printable ASCII');
  const bytes = new Uint8Array(8 + 4 + vendor.length + 4);
  const view = new DataView(bytes.buffer);
  bytes.set(OPUS_TAGS_MAGIC, 0);
  view.setUint32(8, vendor.length, true);
  for (let i = 0; i < vendor.length; i++) bytes[12 + i] = vendor.charCodeAt(i);
  view.setUint32(12 + vendor.length, 0, true);
  return bytes;
}

/**
 * Frame sizes in 48 kHz samples by TOC configuration (config >> 3 of the TOC byte):
 * SILK 10/20/40/60 ms (0-11), hybrid 10/20 ms (12-15), CELT 2.5/5/10/20 ms (16-31).
 */
const FRAME_SAMPLES: readonly number[] = [
  ...[0, 1, 2].flatMap(() => [480, 960, 1920, 2880]),
  ...[0, 1].flatMap(() => [480, 960]),
  ...[0, 1, 2, 3].flatMap(() => [120, 240, 480, 960]),
];

/** Samples (48 kHz) an Opus packet decodes to, from its TOC byte; 0 for an empty or malformed packet. */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const perFrame = FRAME_SAMPLES[toc >> 3] ?? 0;
  const code = toc & 0x03;
  if (code === 0) return perFrame;
  if (code === 1 || code === 2) return 2 * perFrame;
  // Code 3: the frame count is in the next byte; a packet cut before it is malformed.
  return ((packet[1] ?? 0) & 0x3f) * perFrame;
}
