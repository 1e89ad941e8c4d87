/**
 * The three relays a hoodycall user meets, for tests that must hold on each:
 * - `hoodycall`: our own relay, the real `hoodycall serve` process (deferred 200, 409 busy);
 * - `piping-server`: npm piping-server 1.12.9, the reference open relay (early 200 and status lines,
 *   400 busy, no hold at all), in this process;
 * - `hosted`: a relay that follows the hosted pipe's documented contract (hosted-relay.ts).
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Server as PipingServer } from 'piping-server';
import { startServe } from './cli.js';
import { startHostedRelay } from './hosted-relay.js';
import { startRelay } from './relay.js';

export type DialectName = 'hoodycall' | 'piping-server' | 'hosted';

export const DIALECTS: readonly DialectName[] = ['hoodycall', 'piping-server', 'hosted'];

export interface TestRelay {
  readonly dialect: DialectName;
  /** The base URL, for `--server`. */
  readonly url: URL;
  pipeUrl(name: string, query?: string): string;
  /** Whether the relay ends a waiting side on its own (piping-server holds forever). */
  readonly holds: boolean;
}

export interface TestRelayOptions {
  /** The hold (hoodycall `--hold`) or default `wait` (hosted), s; piping-server has none. */
  readonly holdSeconds?: number;
  /** hoodycall: `createRelay()` in this process instead of the `hoodycall serve` CLI (quicker, for client tests). */
  readonly inProcess?: boolean;
}

/** piping-server's own handler on a plain Node server, port 0, closed when the test ends. */
export async function startPipingServer(t: TestContext): Promise<URL> {
  const server = http.createServer(new PipingServer().generateHandler(false) as http.RequestListener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

export async function startTestRelay(t: TestContext, dialect: DialectName, options: TestRelayOptions = {}): Promise<TestRelay> {
  const pipeUrlOf = (url: URL) => (name: string, query?: string) => `${url.origin}/api/v1/pipe/${name}${query === undefined ? '' : `?${query}`}`;
  switch (dialect) {
    case 'hoodycall': {
      if (options.inProcess === true) {
        const relay = await startRelay(t, options.holdSeconds === undefined ? {} : { holdMs: options.holdSeconds * 1000 });
        return { dialect, url: relay.url, pipeUrl: pipeUrlOf(relay.url), holds: true };
      }
      const serve = await startServe(t, ['--host', '127.0.0.1', '--port', '0', ...(options.holdSeconds === undefined ? [] : ['--hold', String(options.holdSeconds)])]);
      return { dialect, url: serve.url, pipeUrl: pipeUrlOf(serve.url), holds: true };
    }
    case 'piping-server': {
      const url = await startPipingServer(t);
      return { dialect, url, pipeUrl: pipeUrlOf(url), holds: false };
    }
    case 'hosted': {
      const hosted = await startHostedRelay(t, options.holdSeconds === undefined ? {} : { defaultWaitSeconds: options.holdSeconds });
      return { dialect, url: hosted.url, pipeUrl: hosted.pipeUrl, holds: true };
    }
  }
}
