/** Why a pipe request failed, in terms a caller can branch on (and the CLI maps to exit codes). */
export type PipeErrorKind =
  | 'unreachable'
  | 'untrusted-certificate'
  | 'busy'
  | 'nobody-came'
  | 'relay-limit'
  | 'refused'
  | 'aborted';

export class PipeError extends Error {
  override readonly name = 'PipeError';
  readonly kind: PipeErrorKind;
  readonly status: number | undefined;

  constructor(kind: PipeErrorKind, message: string, status?: number) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);
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
  if (CERTIFICATE.has(code)) return new PipeError('untrusted-certificate', `the certificate of ${server} is not trusted (${code})`);
  if (UNREACHABLE.has(code) || code.startsWith('ERR_GOT_REQUEST_ERROR')) {
    return new PipeError('unreachable', `cannot reach ${server} (${code || error.message})`);
  }
  return new PipeError('unreachable', `cannot reach ${server}: ${error.message}`);
}

/**
 * The relay's refusal, from its status and its one-line `[ERROR]` body. A Hoody server answers a busy
 * pipe with 400 and a reason saying so; that is treated as busy too.
 */
export function refusal(status: number, body: string, name: string): PipeError {
  const reason = /\[ERROR\]\s*(.+)/.exec(body)?.[1]?.trim() ?? (body.trim().split('\n')[0] ?? '');
  const busyText = /already|in use|busy/i.test(reason);
  if (status === 409 || (status === 400 && busyText)) {
    return new PipeError('busy', `the pipe ${name} is busy: ${reason || 'someone else holds it'}`, status);
  }
  if (status === 408) return new PipeError('nobody-came', `nobody joined ${name} in time${reason ? ` (${reason})` : ''}`, status);
  if (status === 429 || status === 503) return new PipeError('relay-limit', `the relay refused: ${reason || `HTTP ${status}`}`, status);
  if (status === 404) return new PipeError('refused', `this server has no pipe at that URL (HTTP 404); is it a hoodycall relay?`, status);
  return new PipeError('refused', `the relay refused (HTTP ${status})${reason ? `: ${reason}` : ''}`, status);
}
