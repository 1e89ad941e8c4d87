import { randomBytes } from 'node:crypto';
import got, { type Request, type Response } from 'got';
import { SESSION_HEADER } from '../wire.js';
import { connectFailure, PipeError, refusal } from './errors.js';

/**
 * got options for a pipe: every timer chosen for a call that lasts hours.
 * - No retries: a retried PUT would lose the audio already sent, and got's default retries on 408
 *   would wait three holds; reconnecting is a decision of the caller.
 * - Connect/TLS timeouts only (10 s): a blackholed server fails quickly. No response timeout: the
 *   relay answers only when the other side arrives, up to its hold.
 * - HTTP errors are read here, not thrown, so the relay's one-line reason reaches the user.
 */
const PIPE_REQUEST_OPTIONS = {
  retry: { limit: 0 },
  throwHttpErrors: false,
  decompress: false,
  timeout: { lookup: 10_000, connect: 10_000, secureConnect: 10_000 },
} as const;

export interface PipeRequest {
  /** The got stream: write the upload into it, or read the download from it. */
  readonly stream: Request;
  /** Resolves with the response once the relay has connected both sides (200); rejects with a PipeError. */
  readonly connected: Promise<Response>;
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

function watch(stream: Request, name: string, server: string): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    let answered = false;
    stream.once('response', (response: Response) => {
      answered = true;
      if (response.statusCode === 200) return resolve(response);
      bodyText(stream).then(
        (text) => reject(refusal(response.statusCode, text, name)),
        () => reject(refusal(response.statusCode, '', name)),
      );
    });
    stream.once('error', (error: NodeJS.ErrnoException) => {
      if (answered) return;
      if (error.name === 'AbortError') return reject(error);
      reject(connectFailure(error, server));
    });
  });
}

export interface PipeRequestOptions {
  readonly signal?: AbortSignal;
  readonly contentType?: string;
  /**
   * One random id for every dial of one call (`newSession()`): a redial then replaces the connection
   * the relay may still hold from before a dropped link, instead of finding the pipe busy.
   */
  readonly session?: string;
}


/** A session id for one call: 128 random bits. */
export function newSession(): string {
  return randomBytes(16).toString('base64url');
}

function sessionHeaders(options: PipeRequestOptions): Record<string, string> {
  return options.session === undefined ? {} : { [SESSION_HEADER]: options.session };
}

/**
 * The sender's side. Its headers go out at once (an empty first write; got starts a streaming request
 * only when written to), so the relay registers the sender while `connected` waits for a receiver.
 */
export function openUpload(url: URL, name: string, options: PipeRequestOptions = {}): PipeRequest {
  const stream = got.stream.put(url, {
    ...PIPE_REQUEST_OPTIONS,
    headers: { 'content-type': options.contentType ?? 'audio/ogg', ...sessionHeaders(options) },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const connected = watch(stream, name, url.origin);
  stream.write(Buffer.alloc(0));
  return { stream, connected };
}

/** The receiver's side: the stream yields the sender's bytes as they arrive. */
export function openDownload(url: URL, name: string, options: PipeRequestOptions = {}): PipeRequest {
  const stream = got.stream(url, {
    ...PIPE_REQUEST_OPTIONS,
    headers: sessionHeaders(options),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { stream, connected: watch(stream, name, url.origin) };
}

export { PipeError };
