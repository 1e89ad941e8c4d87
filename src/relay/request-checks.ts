/**
 * Checks on a request head that Node's parser leaves to the server, shared by the request and the
 * upgrade paths. Pure functions of the message, tested through the relay.
 */
import type { IncomingMessage } from 'node:http';

/**
 * Why the request's Host is unacceptable, or undefined. HTTP/1.1 requires exactly one Host (RFC 9112
 * §3.2); Node would answer a missing one with a bare 400 (no reason) and keep only the first of several,
 * while a proxy in front may have routed by another: both are refused here with a reason.
 */
export function hostProblem(req: IncomingMessage): string | undefined {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === 'host') hosts += 1;
  if (hosts > 1) return 'a request has one Host header, this one has several';
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return 'the request has no Host header (required since HTTP/1.1)';
  return undefined;
}
