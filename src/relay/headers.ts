/**
 * The headers the relay adds or forwards. Pure functions of the sender's headers, so the rules
 * (what is forwarded, what is rewritten for safety) are unit-tested without a socket.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { SESSION_HEADER, SESSION_PATTERN } from '../wire.js';
import { receiverContentType, receiverDisposition } from './media-type.js';

/**
 * Sent on every response: nothing relayed is cached, indexed, sniffed or leaks a referrer, and whatever
 * a browser might be made to render as a document runs no script and gets an opaque origin
 * (`sandbox`), never the relay's, the origin its page asks microphone permission for. The page
 * itself replaces the CSP with its own (page.ts).
 */
export const SAFETY_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-robots-tag': 'none',
  'referrer-policy': 'no-referrer',
  'content-security-policy': 'sandbox',
});

/** CORS for pipe responses, so a page of another origin can play a call or send one. */
export const CORS_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Length, Content-Type, Content-Disposition',
});

/** The request's session id, or undefined when it has none (or not a well-formed one: then it replaces nothing). */
export function sessionOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers[SESSION_HEADER];
  return typeof value === 'string' && SESSION_PATTERN.test(value) ? value : undefined;
}

export const PIPE_METHODS = 'GET, PUT, POST, OPTIONS';
export const PAGE_METHODS = 'GET, HEAD';

export function preflightHeaders(): OutgoingHttpHeaders {
  return {
    ...SAFETY_HEADERS,
    'access-control-allow-origin': '*',
    'access-control-allow-methods': PIPE_METHODS,
    'access-control-allow-headers': 'Content-Type, Content-Disposition',
    'access-control-max-age': '86400',
    'content-length': '0',
  };
}

export function receiverHeaders(sender: IncomingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ...SAFETY_HEADERS,
    ...CORS_HEADERS,
    'content-type': receiverContentType(sender['content-type']),
    'content-disposition': receiverDisposition(sender['content-disposition']),
  };
  const length = sender['content-length'];
  if (length !== undefined && /^[0-9]+$/.test(length)) headers['content-length'] = length;
  return headers;
}

export function textHeaders(extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { ...SAFETY_HEADERS, 'access-control-allow-origin': '*', 'content-type': 'text/plain; charset=utf-8', ...extra };
}
