import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import got, { type Request, type Response } from 'got';
import { dialectOfLine, HEARTBEAT_HEADER, OGG_OPUS, RelayLineReader, SESSION_HEADER, WAIT_PARAM, type RelayDialect, type RelayLine } from '../wire.js';
import { connectFailure, PipeError, refusal } from './errors.js';
import { answerMarginMs, CONNECT_TIMEOUT_MS, DEFAULT_WAIT_SECONDS, DIAL_TIMING, type DialTiming } from './timing.js';

/**
 * got options for a pipe (every timer is in timing.ts, with its reason):
 * - No retries: a retried PUT would lose the audio already sent, and got's default retries on 408
 *   would wait three holds; redialing is the session's decision (redial.ts).
 * - No redirects: a streamed body cannot be sent again, and following one would send the name (the
 *   call's only secret) and the session id to wherever the server points. A 3xx is an error.
 * - HTTP errors are read here, not thrown, so the relay's one-line reason reaches the user.
 */
const PIPE_REQUEST_OPTIONS = {
  retry: { limit: 0 },
  throwHttpErrors: false,
  followRedirect: false,
  decompress: false,
  timeout: { lookup: CONNECT_TIMEOUT_MS, connect: CONNECT_TIMEOUT_MS, secureConnect: CONNECT_TIMEOUT_MS },
} as const;

export interface DialOptions {
  /** Aborting cancels the dial (and, later, the connection): the promise rejects with the abort's error. */
  readonly signal?: AbortSignal | undefined;
  /**
   * One random id for every dial of one call (`newSession()`): a redial then replaces the connection
   * the relay may still hold from before a dropped link, instead of finding the pipe busy.
   */
  readonly session?: string | undefined;
  /** How long to wait for the other side, s (`?wait=`, and the client's own bound). Default 300. */
  readonly waitSeconds?: number | undefined;
  /** The dial's timers (timing.ts); the defaults suit every relay. */
  readonly timing?: Partial<DialTiming> | undefined;
}

export interface UploadOptions extends DialOptions {
  /** Default audio/ogg. */
  readonly contentType?: string | undefined;
}

/** A session id for one call: 128 random bits. */
export function newSession(): string {
  return randomBytes(16).toString('base64url');
}

function sessionHeader(session: string | undefined): Record<string, string> {
  return session === undefined ? {} : { [SESSION_HEADER]: session };
}

/** The pipe's URL with `?wait=`; the URL people share stays without it. */
export function dialUrl(url: URL, waitSeconds: number): URL {
  const withWait = new URL(url);
  withWait.searchParams.set(WAIT_PARAM, String(waitSeconds));
  return withWait;
}

/**
 * What the relay says on an upload's response after the go-ahead, as it says it: every line as data,
 * when it last said anything (a relay that promised a heartbeat and fell silent is a dead link), and
 * whether it said that the receivers left.
 */
export class RelayStatus extends EventEmitter<{ line: [RelayLine] }> {
  heardAt = Date.now();
  /** A receiver-left line came: when the connection now ends, the listener hung up. */
  receiversLeft = false;
  /** The last failure line (`[ERROR] …`, a relay ending the pipe), if any. */
  failure: RelayLine | null = null;
  /** Body bytes the relay reports having taken (hoodycall's heartbeat), -1 before the first report. */
  relayedBytes = -1;
  readonly #reader = new RelayLineReader();

  /** Whose dialect the relay's first line is in (unknown until a known line came). */
  get dialect(): RelayDialect | undefined {
    const first = this.#reader.first;
    return first === undefined ? undefined : dialectOfLine(first);
  }

  /** Feeds a chunk of the response body. */
  push(chunk: Buffer): RelayLine[] {
    this.heardAt = Date.now();
    const lines = this.#reader.push(chunk.toString('utf8'));
    for (const line of lines) {
      if (line.kind === 'receiver-left' || line.kind === 'receivers-gone') this.receiversLeft = true;
      else if (line.kind === 'progress') this.relayedBytes = line.bytes;
      else if (line.kind === 'failed' || line.kind === 'relay-ended' || line.kind === 'timed-out' || line.kind === 'capacity') this.failure = line;
      this.emit('line', line);
    }
    return lines;
  }

  /** What the relay has said so far (bounded), for messages. */
  get text(): string {
    return this.#reader.text;
  }
}

export interface Download {
  /** The got stream: the sender's bytes as they arrive. */
  readonly stream: Request;
  readonly response: Response;
}

export interface Upload {
  /** The got stream: write the audio into it; its end ends the call cleanly. */
  readonly stream: Request;
  readonly response: Response;
  /** The relay's promise of a status line every this many ms while streaming (0: none). */
  readonly heartbeatMs: number;
  readonly status: RelayStatus;
}

/** Reads the rest of a refused response's (short) body. */
async function bodyText(stream: Request): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > 4_096) break;
  }
  return text;
}

interface Watch {
  /** Settles the dial (first call wins); clears every timer. */
  resolve(): void;
  reject(error: unknown): void;
  readonly settled: Promise<void>;
}

/**
 * The timers of a dial that has not been answered yet: the client's own bound on the hold (`wait` plus
 * a margin), and the probe that tells a waiting relay from a silent one.
 */
function watchDial(stream: Request, url: URL, name: string, options: DialOptions): Watch & { answered(): void } {
  const waitSeconds = options.waitSeconds ?? DEFAULT_WAIT_SECONDS;
  const timing = { ...DIAL_TIMING, ...options.timing };
  const signal = options.signal;
  let resolveSettled!: () => void;
  let rejectSettled!: (error: unknown) => void;
  const settled = new Promise<void>((resolve, reject) => {
    resolveSettled = resolve;
    rejectSettled = reject;
  });
  const fail = (error: PipeError): void => {
    stream.destroy();
    watch.reject(error);
  };
  const holdTimer = setTimeout(
    () => fail(new PipeError('nobody-came', `nobody joined ${name} within ${formatWait(waitSeconds)}`)),
    waitSeconds * 1000 + answerMarginMs(waitSeconds),
  );
  const probe = new AbortController();
  const onAbort = (): void => probe.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const probeTimer = setTimeout(() => {
    probeRelay(url, probe.signal, timing.probeTimeoutMs).then((alive) => {
      if (!alive) fail(new PipeError('silent', `${url.origin} took the connection but has answered nothing for ${Math.round((timing.silentProbeAfterMs + timing.probeTimeoutMs) / 1000)} s`));
    }, () => undefined);
  }, timing.silentProbeAfterMs);
  const clear = (): void => {
    clearTimeout(holdTimer);
    clearTimeout(probeTimer);
    probe.abort();
    signal?.removeEventListener('abort', onAbort);
  };
  let done = false;
  const watch = {
    settled,
    resolve: () => {
      if (done) return;
      done = true;
      clear();
      resolveSettled();
    },
    reject: (error: unknown) => {
      if (done) return;
      done = true;
      clear();
      rejectSettled(error);
    },
    /** The relay answered something: it is alive, only the other side is missing. */
    answered: () => {
      clearTimeout(probeTimer);
      probe.abort();
    },
  };
  // got reports the abort of our own signal as an error: the dial rejects with it, as asked.
  // Kept for the stream's life: after the dial, its errors are the session's to read (its pipeline or
  // its own listener); without one here an error in between would be thrown.
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.name === 'AbortError' || signal?.aborted === true) return watch.reject(signal?.reason ?? error);
    watch.reject(connectFailure(error, url.origin));
  });
  return watch;
}

/** Whether the server answers an OPTIONS on the pipe's URL (every dialect does, at once) within the probe's bound. */
async function probeRelay(url: URL, signal: AbortSignal, timeoutMs: number): Promise<boolean> {
  try {
    await got(url, { ...PIPE_REQUEST_OPTIONS, method: 'OPTIONS', timeout: { request: timeoutMs }, signal });
    return true;
  } catch (error) {
    // Only silence is a verdict; a refused connection shows on the dial itself.
    return (error as NodeJS.ErrnoException).code !== 'ETIMEDOUT';
  }
}

function formatWait(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** A non-200 answer becomes the refusal it means. */
function refuse(stream: Request, response: Response, name: string, watch: Watch): void {
  const location = typeof response.headers.location === 'string' ? response.headers.location : undefined;
  bodyText(stream).then(
    (text) => watch.reject(refusal(response.statusCode, text, name, location)),
    () => watch.reject(refusal(response.statusCode, '', name, location)),
  );
}

/**
 * The receiver's side: resolves once the relay has connected the sender (its 200), with the stream
 * of the sender's bytes. Rejects with a PipeError (refused, unreachable, silent, nobody came).
 */
export async function dialDownload(url: URL, name: string, options: DialOptions = {}): Promise<Download> {
  const waitSeconds = options.waitSeconds ?? DEFAULT_WAIT_SECONDS;
  const stream = got.stream(dialUrl(url, waitSeconds), {
    ...PIPE_REQUEST_OPTIONS,
    headers: sessionHeader(options.session),
    signal: options.signal,
  });
  const watch = watchDial(stream, url, name, options);
  let answer: Response | undefined;
  stream.once('response', (response: Response) => {
    watch.answered();
    if (response.statusCode !== 200) return refuse(stream, response, name, watch);
    answer = response;
    watch.resolve();
  });
  try {
    await watch.settled;
  } catch (error) {
    stream.destroy();
    throw error;
  }
  if (answer === undefined) throw new Error('dialDownload settled without a response');
  return { stream, response: answer };
}

/**
 * The sender's side: resolves once every receiver is there and bytes sent now reach them — on
 * hoodycall's relay when it answers 200 at all, on an early-200 relay (piping-server, the hosted
 * pipe) when its status text says so. Nothing may be sent before: a relay that takes bytes while it
 * waits would hand them to a late listener as a backlog it then hears the whole call behind.
 */
export async function dialUpload(url: URL, name: string, options: UploadOptions = {}): Promise<Upload> {
  const waitSeconds = options.waitSeconds ?? DEFAULT_WAIT_SECONDS;
  const stream = got.stream.put(dialUrl(url, waitSeconds), {
    ...PIPE_REQUEST_OPTIONS,
    headers: { 'content-type': options.contentType ?? OGG_OPUS, ...sessionHeader(options.session) },
    signal: options.signal,
  });
  const watch = watchDial(stream, url, name, options);
  const status = new RelayStatus();
  let answer: Response | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  stream.once('response', (response: Response) => {
    watch.answered();
    if (response.statusCode !== 200) return refuse(stream, response, name, watch);
    answer = response;
    // A relay that says nothing after its 200 (and holds it until the receivers come) means go.
    graceTimer = setTimeout(() => watch.resolve(), options.timing?.firstLineGraceMs ?? DIAL_TIMING.firstLineGraceMs);
    let first = true;
    stream.on('data', (chunk: Buffer) => {
      for (const line of status.push(chunk)) {
        const verdict = beforeGo(line, first, name);
        first = false;
        if (verdict === 'go') watch.resolve();
        else if (verdict === 'wait') clearTimeout(graceTimer);
        else if (verdict instanceof PipeError) watch.reject(verdict);
      }
    });
    stream.once('end', () => watch.reject(new PipeError('lost', `the relay ended the request before a listener came${status.failure === null ? '' : ` (${describe(status.failure)})`}`)));
  });
  // got starts a streaming request only when it is written to: an empty write sends the headers now,
  // so the relay registers the sender while we wait.
  stream.write(Buffer.alloc(0));
  try {
    await watch.settled;
  } catch (error) {
    stream.destroy();
    throw error;
  } finally {
    clearTimeout(graceTimer);
  }
  if (answer === undefined) throw new Error('dialUpload settled without a response');
  const heartbeatMs = Number(answer.headers[HEARTBEAT_HEADER] ?? 0);
  return { stream, response: answer, heartbeatMs: Number.isFinite(heartbeatMs) && heartbeatMs > 0 ? heartbeatMs : 0, status };
}

/**
 * What a status line before the go-ahead means for a waiting sender. The first line tells the
 * dialect: an early-200 relay says "waiting"; hoodycall's relay answers only when the receivers are
 * there, so its first line (whatever it is) means go.
 */
export function beforeGo(line: RelayLine, first: boolean, name: string): 'go' | 'wait' | 'ignore' | PipeError {
  switch (line.kind) {
    case 'go':
      return 'go';
    case 'waiting':
    case 'receivers-joined':
      return 'wait';
    case 'timed-out':
      return new PipeError('nobody-came', `nobody joined ${name} in time (the relay stopped waiting)`);
    case 'capacity':
      return new PipeError('relay-limit', 'the relay refused: it is at its capacity');
    case 'failed':
    case 'relay-ended':
      return new PipeError('refused', `the relay ended the request: ${line.reason}`);
    default:
      return first ? 'go' : 'ignore';
  }
}

function describe(line: RelayLine): string {
  return 'reason' in line ? line.reason : line.kind;
}
