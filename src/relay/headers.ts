/**
 * The headers the relay adds or forwards. Pure functions of the sender's headers, so the rules
 * (what is forwarded, what is rewritten for safety) are unit-tested without a socket.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { SESSION_HEADER, SESSION_PATTERN } from '../wire.js';

/** Sent on every response: nothing relayed is cached, indexed, sniffed or leaks a referrer. */
export const SAFETY_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-robots-tag': 'none',
  'referrer-policy': 'no-referrer',
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

/**
 * A sender chooses its Content-Type, and the receiver may be a browser on the relay's own origin:
 * types a browser would run (HTML, SVG, XML, scripts) become text/plain so a pipe cannot take over
 * the origin. Parameters such as charset are kept.
 */
export function safeContentType(contentType: string | undefined): string {
  if (contentType === undefined || contentType.trim() === '') return 'application/octet-stream';
  const semicolon = contentType.indexOf(';');
  const essence = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  const runnable =
    essence === 'text/html' ||
    essence === 'application/xhtml+xml' ||
    essence === 'image/svg+xml' ||
    essence === 'text/xml' ||
    essence === 'application/xml' ||
    essence.includes('javascript') ||
    essence.includes('ecmascript');
  if (!runnable) return contentType;
  return semicolon === -1 ? 'text/plain' : `text/plain${contentType.slice(semicolon)}`;
}

export function receiverHeaders(sender: IncomingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ...SAFETY_HEADERS,
    ...CORS_HEADERS,
    'content-type': safeContentType(sender['content-type']),
  };
  const length = sender['content-length'];
  if (length !== undefined && /^[0-9]+$/.test(length)) headers['content-length'] = length;
  const disposition = sender['content-disposition'];
  if (disposition !== undefined) headers['content-disposition'] = disposition;
  return headers;
}

export function textHeaders(extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { ...SAFETY_HEADERS, 'access-control-allow-origin': '*', 'content-type': 'text/plain; charset=utf-8', ...extra };
}
