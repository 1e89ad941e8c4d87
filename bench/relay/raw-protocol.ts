/**
 * The raw relay's wire protocol: a fixed 64-byte header (one role byte, then the pipe name in latin1,
 * zero-padded), then the bytes. Shared by the raw relay and the clients.
 */
export const RAW_HEADER_BYTES = 64;
export const RAW_SENDER = 0x53; // 'S'
export const RAW_RECEIVER = 0x52; // 'R'

export function rawHeader(role: number, name: string): Buffer {
  if (name.length > RAW_HEADER_BYTES - 1) throw new RangeError('pipe name too long for the raw relay');
  const header = Buffer.alloc(RAW_HEADER_BYTES);
  header[0] = role;
  header.write(name, 1, 'latin1');
  return header;
}
