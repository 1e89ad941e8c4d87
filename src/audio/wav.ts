/**
 * Reading a WAV header in-process, so a WAV on stdin can be checked, cut at a sample frame while
 * nobody listens, and handed to ffmpeg in the form it reads with the least delay (wav-feed.ts).
 */

export interface WavHeader {
  /** 'RIFF', or 'RF64' (sizes live in a ds64 chunk, the RIFF ones are 0xFFFFFFFF). */
  readonly container: 'RIFF' | 'RF64';
  /** 1 PCM, 3 IEEE float, 6 A-law, 7 µ-law; WAVE_FORMAT_EXTENSIBLE is resolved to its sub-format. */
  readonly formatTag: number;
  /** True when the fmt chunk was WAVE_FORMAT_EXTENSIBLE (0xFFFE). */
  readonly extensible: boolean;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  readonly blockAlign: number;
  /** Byte offset of the first sample (just after the data chunk's 8-byte header). */
  readonly dataOffset: number;
  /** Length of the sample data in bytes; null when unknown (streamed: 0xFFFFFFFF, or 0). */
  readonly dataSize: number | null;
}

/** The input is not a WAV file we can read. The message is one line. */
export class WavHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavHeaderError';
  }
}

export const WAVE_FORMAT_PCM = 1;
export const WAVE_FORMAT_IEEE_FLOAT = 3;
export const WAVE_FORMAT_ALAW = 6;
export const WAVE_FORMAT_MULAW = 7;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

const UNKNOWN_SIZE = 0xffffffff;
/** A header bigger than this (fmt, LIST, … before data) is not something a caller should keep buffering for. */
export const MAX_WAV_HEADER_BYTES = 1 << 20;

/**
 * Parses the RIFF header at the start of `buffer` by walking its chunks up to `data`.
 * Returns null when `buffer` ends before the data chunk's header (read more and call again);
 * throws WavHeaderError when it is not a usable WAV. Chunks other than `fmt ` and `data` are skipped;
 * odd-sized chunks are padded to even length as RIFF requires. A data size of 0xFFFFFFFF (or 0, as
 * some streaming writers leave it) means "until the end of the stream".
 */
export function parseWavHeader(buffer: Uint8Array): WavHeader | null {
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (bytes.length < 12) {
    checkMagicPrefix(bytes);
    return null;
  }
  const magic = bytes.toString('latin1', 0, 4);
  if (magic === 'RIFX') throw new WavHeaderError('big-endian WAV (RIFX) is not supported');
  if (magic !== 'RIFF' && magic !== 'RF64') throw new WavHeaderError('not a WAV file (no RIFF header)');
  if (bytes.toString('latin1', 8, 12) !== 'WAVE') throw new WavHeaderError('not a WAV file (RIFF but not WAVE)');

  let fmt: Omit<WavHeader, 'container' | 'dataOffset' | 'dataSize'> | undefined;
  let ds64DataSize: number | null = null;
  let offset = 12;
  for (;;) {
    if (offset + 8 > bytes.length) {
      if (offset > MAX_WAV_HEADER_BYTES) throw new WavHeaderError(`no data chunk in the first ${MAX_WAV_HEADER_BYTES} bytes`);
      return null;
    }
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'data') {
      if (fmt === undefined) throw new WavHeaderError('WAV data chunk before its fmt chunk');
      let dataSize: number | null = size === UNKNOWN_SIZE || size === 0 ? null : size;
      if (magic === 'RF64' && size === UNKNOWN_SIZE) dataSize = ds64DataSize;
      return { container: magic, ...fmt, dataOffset: body, dataSize };
    }
    if (size === UNKNOWN_SIZE) throw new WavHeaderError(`WAV chunk '${printable(id)}' before data has an unknown size`);
    const end = body + size + (size % 2);
    if (end > bytes.length) {
      if (end > MAX_WAV_HEADER_BYTES) throw new WavHeaderError(`WAV chunk '${printable(id)}' of ${size} bytes before data is too big`);
      return null;
    }
    if (id === 'fmt ') fmt = parseFmt(bytes.subarray(body, body + size));
    else if (id === 'ds64' && size >= 24) {
      // ds64: riffSize (8 bytes), dataSize (8), sampleCount (8), table length (4), table.
      const low = bytes.readUInt32LE(body + 8);
      const high = bytes.readUInt32LE(body + 12);
      const value = high * 2 ** 32 + low;
      ds64DataSize = value === 0 || value > Number.MAX_SAFE_INTEGER ? null : value;
    }
    offset = end;
  }
}

function checkMagicPrefix(bytes: Buffer): void {
  const prefix = bytes.toString('latin1', 0, Math.min(4, bytes.length));
  if (!['RIFF', 'RF64', 'RIFX'].some((magic) => magic.startsWith(prefix))) {
    throw new WavHeaderError('not a WAV file (no RIFF header)');
  }
}

function parseFmt(chunk: Buffer): Omit<WavHeader, 'container' | 'dataOffset' | 'dataSize'> {
  if (chunk.length < 16) throw new WavHeaderError(`WAV fmt chunk too short (${chunk.length} bytes)`);
  let formatTag = chunk.readUInt16LE(0);
  const channels = chunk.readUInt16LE(2);
  const sampleRate = chunk.readUInt32LE(4);
  const blockAlign = chunk.readUInt16LE(12);
  const bitsPerSample = chunk.readUInt16LE(14);
  let extensible = false;
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    // cbSize(2) validBits(2) channelMask(4) then a GUID whose first two bytes are the format tag.
    if (chunk.length < 40) throw new WavHeaderError('WAVE_FORMAT_EXTENSIBLE fmt chunk too short');
    formatTag = chunk.readUInt16LE(24);
    extensible = true;
  }
  if (channels === 0) throw new WavHeaderError('WAV header says 0 channels');
  if (sampleRate === 0) throw new WavHeaderError('WAV header says a sample rate of 0');
  return { formatTag, extensible, channels, sampleRate, bitsPerSample, blockAlign };
}

function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, '?');
}
