import assert from 'node:assert/strict';
import test from 'node:test';
import { PipeError, redials } from '../../src/client/index.js';

test('redials: the first dial at once, then the backoff between failures; a success ends the series', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const waits: number[] = [];
  const series = redials({ signal: new AbortController().signal, random: () => 0.5, onWait: (_reason, delayMs) => waits.push(delayMs) });
  const numbers: number[] = [];
  const running = (async () => {
    for await (const attempt of series) {
      numbers.push(attempt.number);
      if (attempt.number < 3) attempt.failed(new PipeError('lost', 'dropped'));
    }
  })();
  for (const delay of [250, 500, 1000]) {
    await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(delay);
  }
  await running;
  assert.deepEqual(numbers, [0, 1, 2, 3]);
  assert.deepEqual(waits, [250, 500, 1000]);
});

test('redials: what the policy ends is thrown as a PipeError of its kind, with the reason and the cause', async () => {
  const series = redials({ signal: new AbortController().signal });
  const refused = new PipeError('refused', 'the relay refused (HTTP 400)', { status: 400 });
  await assert.rejects(
    (async () => {
      for await (const attempt of series) attempt.failed(refused);
    })(),
    (error: unknown) => error instanceof PipeError && error.kind === 'refused' && /gave up after 1 try/.test(error.message) && error.cause === refused && error.status === 400,
  );
});

test('redials: an abort ends a wait at once', async () => {
  const controller = new AbortController();
  const series = redials({ signal: controller.signal });
  const running = (async () => {
    for await (const attempt of series) attempt.failed(new PipeError('lost', 'dropped'));
  })();
  setTimeout(() => controller.abort(), 10);
  const started = Date.now();
  await assert.rejects(running, { name: 'AbortError' });
  assert.ok(Date.now() - started < 200);
});
