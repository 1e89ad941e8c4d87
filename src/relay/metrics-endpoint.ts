/**
 * `/metrics` as served: behind a bearer token when one is set (compared in constant time), from the
 * cached exposition text (metrics.ts renders it at most once a second), with no CORS: no page of
 * another origin may read it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { SAFETY_HEADERS } from './headers.js';
import type { RelayMetrics } from './metrics.js';
import { respondText } from './respond.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class MetricsEndpoint {
  readonly #metrics: RelayMetrics;
  readonly #tokenDigest: Buffer | undefined;

  constructor(metrics: RelayMetrics, token: string | undefined) {
    this.#metrics = metrics;
    this.#tokenDigest = token === undefined ? undefined : digest(token);
  }

  /** Served on the relay's own (public) listener only when a token guards it. */
  get onRelayListener(): boolean {
    return this.#tokenDigest !== undefined;
  }

  /** The request may read the metrics: no token is set, or it brings `Authorization: Bearer <token>`. */
  authorized(req: IncomingMessage): boolean {
    if (this.#tokenDigest === undefined) return true;
    const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    return given !== undefined && timingSafeEqual(digest(given), this.#tokenDigest);
  }

  send(req: IncomingMessage, res: ServerResponse): void {
    const answer = (text: string): void => {
      const body = Buffer.from(text);
      res.writeHead(200, { ...SAFETY_HEADERS, 'content-type': this.#metrics.registry.contentType, 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const text = this.#metrics.render();
    if (typeof text === 'string') return answer(text);
    text.then(answer, () => respondText(res, 500, '[ERROR] metrics are unavailable\n'));
  }
}
