/**
 * A relay's refusal of a pipe request, as data: its status and its one-line reason, read the same
 * way for every dialect. hoodycall's relay answers a busy pipe with 409; piping-server and the hosted
 * pipe answer 400 with a reason that says so; each row of REFUSAL_RULES is tested on its own.
 */

export type RefusalKind =
  /** Someone else holds this side of the pipe (or the room's pipe, for `call`). */
  | 'busy'
  /** The other side did not come within the hold (or `?wait`). */
  | 'nobody-came'
  /** A limit of the relay (per address, total pipes, capacity) or a relay shutting down. */
  | 'relay-limit'
  /** The server has no pipe at that URL: not a relay, or a wrong path. */
  | 'not-a-pipe'
  /** The relay redirects elsewhere; the client never follows (a streamed body cannot be replayed, and the name would go to another host). */
  | 'redirected'
  /** Anything else: a bad name for this relay, a bad query, a server error. */
  | 'refused';

interface RefusalRule {
  readonly status: number | ((status: number) => boolean);
  /** Matched against the reason text; absent: any text. */
  readonly reason?: RegExp;
  readonly kind: RefusalKind;
  /** Who answers this way, for the tests and for readers. */
  readonly seenFrom: string;
}

/**
 * First match wins. The 400 rows cover piping-server's exact texts ("Another sender has been
 * connected on '/x'.", "Connection on '/x' has been established already.", "The number of receivers
 * has reached limits.", "The number of receivers should be 2 but 1.") and the hosted pipe's reasons
 * (path already active, sender attached, receiver slots full, n mismatch): a pipe opened with
 * another `n` is someone else's pipe too.
 */
export const REFUSAL_RULES: readonly RefusalRule[] = [
  { status: 409, kind: 'busy', seenFrom: 'hoodycall: 409 for a taken side' },
  { status: 400, reason: /another sender|already|established|attached|reached limits|slots? .*(?:full|taken)|in use|busy/i, kind: 'busy', seenFrom: 'piping-server and the hosted pipe: 400 for a taken side' },
  { status: 400, reason: /number of receivers should be|\bn\b.*mismatch|mismatch.*\bn\b|same n|opened with n=/i, kind: 'busy', seenFrom: 'every dialect: 400 for a pipe opened with another n' },
  { status: 408, kind: 'nobody-came', seenFrom: 'hoodycall and the hosted pipe: the hold or ?wait passed' },
  { status: 429, kind: 'relay-limit', seenFrom: 'hoodycall (per address) and the hosted pipe (caps)' },
  { status: 503, kind: 'relay-limit', seenFrom: 'hoodycall: total pipes, shutting down' },
  { status: 404, kind: 'not-a-pipe', seenFrom: 'a server without /api/v1/pipe/' },
  { status: 405, kind: 'not-a-pipe', seenFrom: 'a server that does not take this method there' },
  { status: (status) => status >= 300 && status < 400, kind: 'redirected', seenFrom: 'a server that moved (http to https, another host)' },
];

export function refusalKind(status: number, reason: string): RefusalKind {
  for (const rule of REFUSAL_RULES) {
    const statusMatches = typeof rule.status === 'number' ? rule.status === status : rule.status(status);
    if (statusMatches && (rule.reason === undefined || rule.reason.test(reason))) return rule.kind;
  }
  return 'refused';
}

/**
 * A relay's words made safe for a terminal and one line: the reason after `[ERROR]`, with control
 * characters (escape sequences, CR that would overwrite the line) removed and the length bounded.
 */
export function reasonText(body: string): string {
  const clean = stripControls(body);
  const error = /\[ERROR\]\s*([^\n]*)/.exec(clean)?.[1];
  const line = (error ?? clean.split('\n').find((each) => each.trim() !== '') ?? '').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Removes C0 and C1 control characters except newline, and DEL. */
export function stripControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- the point is to remove them
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '');
}
