import { PIPE_PREFIX, pipeNameProblem } from '../wire.js';

/**
 * Parsing of the request target into what the relay should do with it. Pure: no I/O, no state,
 * so every rule about names is tested directly and by property tests.
 */

/** The page's scripts (page.ts), outside /api/v1/pipe/ so that no pipe name can collide with them. */
export const ASSET_PREFIX = '/_hoodycall/';
export { PIPE_PREFIX, MAX_NAME_LENGTH, pipeNameProblem } from '../wire.js';

export type Target =
  | { kind: 'pipe'; name: string; receivers: number }
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

/** `n` from the query: absent means 1. Percent-encoding is not decoded, so only plain digits pass. */
function receiversProblemOrCount(query: string, maxReceivers: number): number | string {
  if (query === '') return 1;
  let count = 1;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key !== 'n') continue;
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    if (!/^[1-9][0-9]{0,5}$/.test(value) || Number(value) > maxReceivers) {
      return `n must be a whole number from 1 to ${maxReceivers}`;
    }
    count = Number(value);
  }
  return count;
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
  const receivers = receiversProblemOrCount(query, maxReceivers);
  if (typeof receivers === 'string') return { kind: 'invalid', reason: receivers };
  return { kind: 'pipe', name, receivers };
}
