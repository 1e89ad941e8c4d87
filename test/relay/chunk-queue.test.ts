/**
 * The queue a pipe holds bytes in (src/relay/chunk-queue.ts): every byte comes out once and in order,
 * and what a held queue costs follows its byte count, not its chunk count.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkQueue, ENTRY_COST, KEPT_CHUNK } from '../../src/relay/chunk-queue.js';

test('bytes come out exactly as they went in, whatever the chunk sizes and compactions', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: KEPT_CHUNK - 2, max: KEPT_CHUNK * 40 })), compact: fc.boolean(), drain: fc.boolean() }), { maxLength: 60 }),
      (steps) => {
        const queue = new ChunkQueue();
        const sent: Buffer[] = [];
        const received: Buffer[] = [];
        let counter = 0;
        for (const step of steps) {
          const chunk = Buffer.alloc(step.size);
          for (let i = 0; i < chunk.length; i++) chunk[i] = counter++ % 251;
          sent.push(chunk);
          queue.push(chunk);
          if (step.compact) queue.compact();
          if (step.drain) received.push(...queue.drain());
        }
        received.push(...queue.drain());
        assert.ok(queue.isEmpty);
        assert.equal(queue.cost, 0);
        assert.deepEqual(Buffer.concat(received), Buffer.concat(sent));
      },
    ),
    { numRuns: 500 },
  );
});

test('a held flood of 1-byte chunks costs about its byte count, and drains as a few large writes', () => {
  const queue = new ChunkQueue();
  for (let tick = 0; tick < 20; tick++) {
    for (let i = 0; i < 10_000; i++) queue.push(Buffer.from([i & 0xff]));
    queue.compact();
  }
  assert.equal(queue.bytes, 200_000);
  // Blocks of at least 16 KiB: at most one block's slack and a few entries over the byte count.
  assert.ok(queue.cost < 200_000 + 16 * 1024 + 20 * ENTRY_COST, `cost ${queue.cost}`);
  const writes = queue.drain();
  assert.ok(writes.length <= 20, `${writes.length} writes`);
  assert.equal(writes.reduce((sum, chunk) => sum + chunk.length, 0), 200_000);
});

test('a small view of a large buffer is copied, not kept with the buffer it holds alive', () => {
  const socketRead = Buffer.alloc(64 * 1024, 7);
  const queue = new ChunkQueue();
  for (let i = 0; i < 1_000; i++) queue.push(socketRead.subarray(i, i + 1));
  queue.compact();
  assert.ok(queue.cost < 20 * 1024, `cost ${queue.cost}`);
  const [joined] = queue.drain();
  assert.ok(joined !== undefined && joined.length === 1_000);
  assert.notEqual(joined.buffer, socketRead.buffer, 'the drained bytes are a copy');
});
