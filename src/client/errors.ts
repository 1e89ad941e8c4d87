import { reasonText, refusalKind, stripControls, type RefusalKind } from '../wire.js';

/**
 * Why a pipe request failed, as a stable kind a caller branches on (the CLI maps each to an exit
 * code). One error class for the client, as got and undici have: the message is for people, the
 * kind for code, and `cause` keeps what failed underneath.
 */
export type PipeErrorKind =
  | RefusalKind
  /** The server could not be reached: refused, DNS, connect timeout, reset before an answer. */
  | 'unreachable'
  /** TLS: the server's certificate is not trusted. */
  | 'untrusted-certificate'
  /** The server took the connection and then answered nothing at all. */
  | 'silent'
  /** An established call's connection was lost (and not, or no longer, redialed). */
  | 'lost';

export class PipeError extends Error {
  override readonly name = 'PipeError';
  readonly kind: PipeErrorKind;
  /** The relay's HTTP status, when it answered. */
  readonly status: number | undefined;

  constructor(kind: PipeErrorKind, message: string, options: { readonly status?: number | undefined; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE']);
const CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A failure before the relay answered: the server could not be reached, or not trusted. */
export function connectFailure(error: NodeJS.ErrnoException, server: string): PipeError {
  const code = error.code ?? '';
  if (CERTIFICATE.has(code)) return new PipeError('untrusted-certificate', `the certificate of ${server} is not trusted (${code})`, { cause: error });
  // It answered, but not in HTTP (or in HTTP no client may accept): whatever it is, it is not a relay.
  if (code.startsWith('HPE_')) return new PipeError('not-a-pipe', `${server} answered something that is not valid HTTP (${code})`, { cause: error });
  if (UNREACHABLE.has(code) || code.startsWith('ERR_GOT_REQUEST_ERROR')) {
    return new PipeError('unreachable', `cannot reach ${server} (${code || error.message})`, { cause: error });
  }
  return new PipeError('unreachable', `cannot reach ${server}: ${error.message}`, { cause: error });
}

/**
 * The relay's refusal, from its status and its (short) body, as one readable line. The kind comes
 * from the one table in protocol/refusals.ts, whatever the dialect.
 */
export function refusal(status: number, body: string, name: string, location?: string): PipeError {
  const kind = refusalKind(status, stripControls(body));
  const reason = reasonText(body);
  const because = reason === '' ? '' : `: ${reason}`;
  const message: Record<RefusalKind, () => string> = {
    busy: () => `the pipe ${name} is busy${because || ': someone else holds it'}`,
    'nobody-came': () => `nobody joined ${name} in time${reason === '' ? '' : ` (${reason})`}`,
    'relay-limit': () => `the relay refused (HTTP ${status})${because}`,
    'not-a-pipe': () => `this server has no pipe at that URL (HTTP ${status}); is it a pipe relay?`,
    redirected: () => `the server redirects (HTTP ${status}) to ${stripControls(location ?? 'another address').slice(0, 200)}; use that as --server if you trust it`,
    refused: () => `the relay refused (HTTP ${status})${because}`,
  };
  return new PipeError(kind, message[kind](), { status });
}
