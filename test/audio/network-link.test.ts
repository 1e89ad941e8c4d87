/**
 * The link emulator of bench/network (link.ts): its timing model is deterministic for a seed, keeps
 * order, holds bytes through outages and paces them at the rate cap; through real sockets the proxy
 * delivers everything, late by the link's delay, and stops reading past its queue, so the backlog
 * stays with the sender.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { DirectionModel, planOutages, SEGMENT_OVERHEAD_BYTES, startLinkProxy } from '../../bench/network/link.js';

test('outages: the same seed plans the same ones; another seed others; each within its bounds', () => {
  const plan = { kind: 'stall' as const, everyMs: [1_500, 2_500] as const, lengthMs: [200, 800] as const };
  const a = planOutages(plan, 13, 60_000);
  assert.deepEqual(planOutages(plan, 13, 60_000), a);
  assert.notDeepEqual(planOutages(plan, 14, 60_000), a);
  assert.ok(a.length >= 20 && a.length <= 40, `${a.length} outages in 60 s`);
  for (const [i, outage] of a.entries()) {
    assert.ok(outage.toMs - outage.fromMs >= 200 && outage.toMs - outage.fromMs <= 800);
    const next = a[i + 1];
    if (next !== undefined) assert.ok(next.fromMs > outage.toMs, 'no overlap');
  }
});

test('the model: jitter from the seed and the time only (not from how reads are cut), never out of order', () => {
  const spec = { delayMs: 70, jitterMs: 25 };
  const one = new DirectionModel(spec, [], 5);
  const two = new DirectionModel(spec, [], 5);
  // The same instants, asked in different read patterns: the same delays.
  const times = [0, 7, 15, 20, 41, 60, 200, 999];
  const first = times.map((t) => one.delayAt(t));
  const second = [...times].reverse().map((t) => two.delayAt(t)).reverse();
  assert.deepEqual(first, second);
  for (const delay of first) assert.ok(delay >= 45 && delay <= 95);
  const model = new DirectionModel(spec, [], 9);
  let last = -Infinity;
  for (let t = 0; t < 2_000; t += 3) {
    const due = model.schedule(t, 100);
    assert.ok(due >= last, 'TCP keeps order');
    assert.ok(due >= t + 45);
    last = due;
  }
});

test('the model: an outage holds what would leave or arrive in it until its end', () => {
  const model = new DirectionModel({ delayMs: 10, outages: true }, [{ fromMs: 100, toMs: 600, kind: 'stall' }], 1);
  assert.equal(model.schedule(50, 10), 60);
  assert.equal(model.schedule(95, 10), 600, 'arriving in the outage: at its end');
  assert.equal(model.schedule(300, 10), 610, 'leaving in the outage: at its end, then the delay');
  assert.equal(model.schedule(700, 10), 710);
});

test('the model: the rate cap paces bytes, TCP/IP headers counted', () => {
  const model = new DirectionModel({ rateBps: 32_000 }, [], 1);
  // 50 writes of 100 bytes at once: each is 152 bytes on the wire, 38 ms at 32 kbit/s.
  let due = 0;
  for (let i = 0; i < 50; i++) due = model.schedule(0, 100);
  assert.ok(Math.abs(due - (50 * (100 + SEGMENT_OVERHEAD_BYTES) * 8) / 32) < 1e-6, `last due at ${due}`);
});

async function sink(): Promise<{ port: number; received: () => number; arrivals: number[]; server: net.Server }> {
  let bytes = 0;
  const arrivals: number[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      arrivals.push(performance.now());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, received: () => bytes, arrivals, server };
}

test('through real sockets: every byte arrives, a delay later', async (t) => {
  const target = await sink();
  t.after(() => target.server.close());
  const proxy = await startLinkProxy({ targetPort: target.port, spec: { up: { delayMs: 80 }, down: {} }, seed: 1, horizonMs: 10_000, now: () => performance.now(), origin: () => 0 });
  t.after(() => proxy.close());
  const client = net.connect(proxy.port, '127.0.0.1');
  await once(client, 'connect');
  const sentAt = performance.now();
  client.write(Buffer.alloc(5_000, 1));
  while (target.received() < 5_000) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok((target.arrivals[0] ?? 0) - sentAt >= 75, `first bytes after ${((target.arrivals[0] ?? 0) - sentAt).toFixed(0)} ms`);
  client.destroy();
});

test('through real sockets: past its queue the proxy stops reading, and the rest waits on the sender\'s side', async (t) => {
  const target = await sink();
  t.after(() => target.server.close());
  // 8 kbit/s: 1 KB a second; a 4 KiB queue.
  const proxy = await startLinkProxy({ targetPort: target.port, spec: { up: { rateBps: 8_000 }, down: {}, queueBytes: 4_096 }, seed: 1, horizonMs: 10_000, now: () => performance.now(), origin: () => 0 });
  t.after(() => proxy.close());
  const client = net.connect(proxy.port, '127.0.0.1');
  await once(client, 'connect');
  // 16 MB written at once: far more than the queue and the kernel's buffers on both sides hold.
  client.write(Buffer.alloc(16 << 20));
  await new Promise((resolve) => setTimeout(resolve, 500));
  // The queue, and at most a read or two (64 KiB each) taken before the pause.
  assert.ok(proxy.counters.upIn <= 4_096 + 2 * 65_536, `the proxy read ${proxy.counters.upIn} bytes: it should have stopped reading`);
  assert.ok(client.writableLength > 0, 'the sender holds the rest');
  assert.ok(proxy.counters.upOut <= 1_500, `${proxy.counters.upOut} bytes delivered in 0.5 s at 1 KB/s`);
  client.destroy();
});
