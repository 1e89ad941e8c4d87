/**
 * The bytes a pipe holds because its receivers have not taken them yet, stored so that what they cost
 * is what they count. Every chunk Node's parser or `ws` hands over is its own Buffer (about 200 bytes of
 * objects for a 1-byte chunk), and a small one may be a view that keeps a whole 64 KiB socket read
 * alive: a queue of such chunks costs a hundred times its byte count. So small chunks are kept by
 * reference only briefly (a few, within the event loop's turn they arrive in); a queue held past that
 * copies each run of them into one block. Chunks of KEPT_CHUNK or more that are not small views of
 * something larger are kept as they are.
 */

/**
 * A chunk at least this large, and at least half of the memory it keeps alive, is kept by reference:
 * its bookkeeping is then at most a quarter of its bytes, and copying it would only cost time. Node's
 * parser hands over exact-size copies, so a bulk upload's pieces (the ends of chunks cut by a socket
 * read too) are kept as they are.
 */
export const KEPT_CHUNK = 1024;
/** Bookkeeping per held buffer (the Buffer, its ArrayBuffer and backing store, an array slot), an estimate on the high side. */
export const ENTRY_COST = 256;
/** Blocks that small chunks are copied into; a new block is at least this large. */
const BLOCK_SIZE = 16 * 1024;
/**
 * Small chunks held by reference at most, even within one turn: a turn can bring the reads of many
 * connections, each with thousands of 1-byte chunks, and they are copied as they come past this.
 */
const MAX_LOOSE = 32;

/** Whether a chunk is kept by reference (else it is copied into a block once held past its turn). */
export function isKept(chunk: Buffer): boolean {
  return chunk.length >= KEPT_CHUNK && chunk.buffer.byteLength <= 2 * chunk.length;
}

export class ChunkQueue {
  #entries: Buffer[] = [];
  /** Entries at the end of #entries that are small chunks still held by reference (this turn's). */
  #loose = 0;
  /** The block the next compaction copies into, its fill, and the index of the entry that views it. */
  #block: Buffer | undefined;
  #blockUsed = 0;
  #blockEntry = -1;
  #blockStart = 0;
  #bytes = 0;
  #cost = 0;

  get bytes(): number {
    return this.#bytes;
  }

  /** Memory held: block capacity, large chunks, and ENTRY_COST per buffer. */
  get cost(): number {
    return this.#cost;
  }

  get isEmpty(): boolean {
    return this.#bytes === 0;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#entries.push(chunk);
    this.#bytes += chunk.length;
    if (isKept(chunk)) {
      this.#loose = 0;
      this.#cost += chunk.length + ENTRY_COST;
    } else {
      this.#loose += 1;
      // Until compacted, a small chunk keeps what its buffer keeps; counted as its own size plus a block's
      // worth at most, so one turn's flood of views is not counted as gigabytes.
      this.#cost += Math.min(chunk.buffer.byteLength, chunk.length + BLOCK_SIZE) + ENTRY_COST;
      if (this.#loose > MAX_LOOSE) this.compact();
    }
  }

  /** Copies the small chunks of this turn into blocks: call before holding the queue past the turn. */
  compact(): void {
    if (this.#loose === 0) return;
    const first = this.#entries.length - this.#loose;
    const loose = this.#entries.splice(first);
    this.#loose = 0;
    for (const chunk of loose) this.#cost -= Math.min(chunk.buffer.byteLength, chunk.length + BLOCK_SIZE) + ENTRY_COST;
    let offset = 0;
    const total = loose.reduce((sum, chunk) => sum + chunk.length, 0);
    for (const chunk of loose) {
      let from = 0;
      while (from < chunk.length) {
        if (this.#block === undefined || this.#blockUsed === this.#block.length || this.#blockEntry !== this.#entries.length - 1) {
          this.#newBlock(Math.max(BLOCK_SIZE, Math.min(total - offset, 64 * BLOCK_SIZE)));
        }
        const block = this.#block as Buffer;
        const copied = chunk.copy(block, this.#blockUsed, from);
        from += copied;
        offset += copied;
        this.#blockUsed += copied;
        this.#entries[this.#blockEntry] = block.subarray(this.#blockStart, this.#blockUsed);
      }
    }
  }

  #newBlock(size: number): void {
    this.#block = Buffer.allocUnsafeSlow(size);
    this.#blockUsed = 0;
    this.#blockStart = 0;
    this.#entries.push(this.#block.subarray(0, 0));
    this.#blockEntry = this.#entries.length - 1;
    this.#cost += size + ENTRY_COST;
  }

  /**
   * Takes everything, for writing now: each run of small chunks joined into one buffer, so a receiver's
   * socket gets one write per run, not one per chunk.
   */
  drain(): Buffer[] {
    const out: Buffer[] = [];
    let run: Buffer[] = [];
    const flushRun = (): void => {
      if (run.length === 1 && run[0] !== undefined) out.push(run[0]);
      else if (run.length > 1) out.push(Buffer.concat(run));
      run = [];
    };
    for (const entry of this.#entries) {
      if (entry.length === 0) continue;
      if (entry.length >= KEPT_CHUNK) {
        flushRun();
        out.push(entry);
      } else run.push(entry);
    }
    flushRun();
    this.#entries = [];
    this.#loose = 0;
    this.#block = undefined;
    this.#blockUsed = 0;
    this.#blockEntry = -1;
    this.#bytes = 0;
    this.#cost = 0;
    return out;
  }
}
