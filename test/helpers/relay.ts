import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createRelay, type Relay, type RelayOptions } from '../../src/relay/index.js';

export interface RunningRelay {
  readonly relay: Relay;
  readonly url: URL;
  /** The full URL of a pipe on this relay. */
  pipeUrl(name: string, query?: string): string;
  readonly log: string[];
}

/** A real relay on 127.0.0.1, port 0, closed when the test ends. Its access log is captured. */
export async function startRelay(t: TestContext, options: RelayOptions = {}): Promise<RunningRelay> {
  const log: string[] = [];
  const relay = createRelay({ log: (line) => log.push(line), ...options });
  const url = await relay.listen(0, '127.0.0.1');
  t.after(() => relay.close({ graceMs: 0 }));
  return {
    relay,
    url,
    log,
    pipeUrl: (name, query) => `${url.origin}/api/v1/pipe/${name}${query === undefined ? '' : `?${query}`}`,
  };
}

/** A fresh pipe name per test, so tests never share a pipe. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds, or fails after `timeoutMs` with `what` in the message. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
