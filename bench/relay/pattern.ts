/**
 * The bytes every benchmark sender writes, and their cheap check on arrival.
 *
 * A stream is the infinite repetition of one pseudo-random block of PERIOD bytes, starting at a per-pipe
 * offset (its seed). PERIOD is prime, so it is never a multiple of a write or read size: a chunk that is
 * lost, repeated, reordered or delivered to the wrong pipe does not match. Senders write views into one
 * preallocated buffer (no copy, no allocation per write); receivers compare with memcmp (Buffer#compare).
 */

export const PERIOD = 1_000_003;

/** Two periods back to back, so any window of up to PERIOD bytes starting below PERIOD is contiguous. */
const PATTERN: Buffer = makePattern();

function makePattern(): Buffer {
  const buffer = Buffer.allocUnsafe(2 * PERIOD);
  let x = 0x9e3779b9;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buffer[i] = x & 0xff;
  }
  buffer.copy(buffer, PERIOD, 0, PERIOD);
  return buffer;
}

/** A distinct starting offset for pipe number `index`. */
export function seedFor(index: number): number {
  return (index * 104_729 + 7_919) % PERIOD;
}

/** The `length` (at most PERIOD) bytes at `offset` of the stream `seed`: a view, never a copy. */
export function windowAt(seed: number, offset: number, length: number): Buffer {
  if (length > PERIOD) throw new RangeError(`a window is at most ${PERIOD} bytes`);
  const start = (seed + offset) % PERIOD;
  return PATTERN.subarray(start, start + length);
}

/** Checks a stream chunk by chunk as it arrives; `data` need not outlive the call. */
export class PatternChecker {
  readonly seed: number;
  offset = 0;
  /** Stream offset of the first mismatching chunk, or -1. */
  firstMismatch = -1;

  constructor(seed: number) {
    this.seed = seed;
  }

  get ok(): boolean {
    return this.firstMismatch === -1;
  }

  check(data: Buffer): void {
    let position = 0;
    while (position < data.length) {
      const length = Math.min(data.length - position, PERIOD);
      const start = (this.seed + this.offset) % PERIOD;
      if (this.firstMismatch === -1 && PATTERN.compare(data, position, position + length, start, start + length) !== 0) {
        this.firstMismatch = this.offset;
      }
      position += length;
      this.offset += length;
    }
  }
}
