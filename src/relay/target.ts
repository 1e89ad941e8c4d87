import { MAX_WAIT_SECONDS, PIPE_PREFIX, WAIT_PARAM, pipeNameProblem } from '../wire.js';

/**
 * Parsing of the request target into what the relay should do with it. Pure: no I/O, no state,
 * so every rule about names is tested directly and by property tests.
 */

/** The page's scripts (page.ts), outside /api/v1/pipe/ so that no pipe name can collide with them. */
export const ASSET_PREFIX = '/_hoodycall/';
export { PIPE_PREFIX, MAX_NAME_LENGTH, pipeNameProblem } from '../wire.js';

/** A pipe request: its name, `?n=` (1 when absent) and `?wait=` in ms (undefined when absent). */
export interface PipeTarget {
  readonly kind: 'pipe';
  readonly name: string;
  readonly receivers: number;
  readonly waitMs: number | undefined;
}

export type Target =
  | PipeTarget
  | { kind: 'page'; page: 'help' | 'healthz' | 'metrics' }
  /** A script of the browser page, `/_hoodycall/NAME` (see page.ts). */
  | { kind: 'asset'; name: string }
  | { kind: 'invalid'; reason: string }
  | { kind: 'not-found' };

/** `scheme://authority` at the start of an absolute-form request target (RFC 9112 §3.2.2). */
const ABSOLUTE_FORM_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * Splits a request target (origin-form or absolute-form) into path and query. Only the path decides
 * the pipe, so `GET http://other-host/api/v1/pipe/x` and `GET /api/v1/pipe/x` reach the same pipe. The
 * path is taken as the raw text after the authority, never through `new URL()`, which would decode
 * `%2e%2e` and resolve dot segments: `http://h/api/v1/pipe/a/%2e%2e/b` would then alias `b`.
 */
function splitTarget(url: string): { path: string; query: string } | undefined {
  let target = url;
  if (!target.startsWith('/')) {
    const prefix = ABSOLUTE_FORM_PREFIX.exec(target);
    if (prefix === null) return undefined;
    target = target.slice(prefix[0].length);
    if (target === '' || target.startsWith('?')) target = `/${target}`;
  }
  if (target.includes('#')) return undefined;
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/**
 * `n` (absent: 1) and `wait` (seconds, 1 to MAX_WAIT_SECONDS, as the hosted pipe reads it; absent:
 * undefined) from the query, or why they are wrong. Percent-encoding is not decoded, so only plain
 * digits pass; other parameters are ignored.
 */
function pipeQuery(query: string, maxReceivers: number): { receivers: number; waitMs: number | undefined } | string {
  let receivers = 1;
  let waitMs: number | undefined;
  if (query === '') return { receivers, waitMs };
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    if (key === 'n') {
      if (!/^[1-9][0-9]{0,5}$/.test(value) || Number(value) > maxReceivers) {
        return `n must be a whole number from 1 to ${maxReceivers}`;
      }
      receivers = Number(value);
    } else if (key === WAIT_PARAM) {
      if (!/^[1-9][0-9]{0,3}$/.test(value) || Number(value) > MAX_WAIT_SECONDS) {
        return `wait must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}`;
      }
      waitMs = Number(value) * 1000;
    }
  }
  return { receivers, waitMs };
}

export function parseTarget(url: string, maxReceivers: number): Target {
  const split = splitTarget(url);
  if (split === undefined) return { kind: 'invalid', reason: 'the request target is not a valid URL' };
  const { path, query } = split;
  if (path === '/') return { kind: 'page', page: 'help' };
  if (path === '/healthz') return { kind: 'page', page: 'healthz' };
  if (path === '/metrics') return { kind: 'page', page: 'metrics' };
  if (path.startsWith(ASSET_PREFIX)) return { kind: 'asset', name: path.slice(ASSET_PREFIX.length) };
  if (path === '/api/v1/pipe') return { kind: 'invalid', reason: 'the pipe name is missing: use /api/v1/pipe/NAME' };
  if (!path.startsWith(PIPE_PREFIX)) return { kind: 'not-found' };
  const name = path.slice(PIPE_PREFIX.length);
  const problem = pipeNameProblem(name);
  if (problem !== undefined) return { kind: 'invalid', reason: problem };
  const wanted = pipeQuery(query, maxReceivers);
  if (typeof wanted === 'string') return { kind: 'invalid', reason: wanted };
  return { kind: 'pipe', name, ...wanted };
}
