import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import got from 'got';
import type { RelayDialect } from '../wire.js';
import { connectFailure, PipeError } from './errors.js';
import { dialDownload, dialUpload, newSession } from './request.js';
import { pipeUrl } from './server.js';
import { PROBE_TIMEOUT_MS } from './timing.js';

export interface RelayCheck {
  /** Round trip of one plain request (OPTIONS on a pipe URL), ms. */
  readonly answerMs: number;
  /** Which dialect its sender text is in; undefined when it said nothing we know. */
  readonly dialect: RelayDialect | undefined;
  /** Whether a sender got its 200 before any receiver was there (piping-server, the hosted pipe). */
  readonly earlyAnswer: boolean;
  /** From the sender's first byte to the receiver's, through the relay, ms. */
  readonly firstByteMs: number;
}

/** How long a test pair may take to meet: both sides are ours and dial within a second. */
const PAIR_WAIT_SECONDS = 10;
/** How long the sender is given alone, to see whether the relay answers it before a receiver comes. */
const ALONE_MS = 500;

/**
 * What `doctor` asks of a relay: does it answer, which dialect does it speak, and can a pair stream
 * through it — a sender and a receiver of our own on a random name, as a call would.
 */
export async function checkRelay(server: URL, signal?: AbortSignal): Promise<RelayCheck> {
  const name = `hoodycall-doctor-${randomBytes(10).toString('hex')}`;
  const url = pipeUrl(server, name);
  const started = performance.now();
  try {
    await got(url, { method: 'OPTIONS', retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false, timeout: { request: PROBE_TIMEOUT_MS }, ...(signal === undefined ? {} : { signal }) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') throw new PipeError('silent', `${server.origin} answered nothing in ${PROBE_TIMEOUT_MS / 1000} s`, { cause: error });
    throw connectFailure(error as NodeJS.ErrnoException, server.origin);
  }
  const answerMs = performance.now() - started;
  const session = newSession();
  const uploading = dialUpload(url, name, { waitSeconds: PAIR_WAIT_SECONDS, session, signal, contentType: 'application/octet-stream' });
  uploading.catch(() => undefined);
  // Alone for a moment: an early-200 relay answers the sender now; hoodycall's holds its answer.
  const aloneAnswered = await Promise.race([uploading.then(() => true, () => false), new Promise<false>((resolve) => setTimeout(() => resolve(false), ALONE_MS))]);
  const downloading = dialDownload(url, name, { waitSeconds: PAIR_WAIT_SECONDS, signal });
  try {
    // Some relays (piping-server) send the receiver its headers with the first byte: write first.
    const upload = await uploading;
    const sentAt = performance.now();
    upload.stream.end(Buffer.from('hoodycall doctor\n'));
    const download = await downloading;
    await once(download.stream, 'data');
    const firstByteMs = performance.now() - sentAt;
    download.stream.destroy();
    upload.stream.destroy();
    return { answerMs, dialect: upload.status.dialect, earlyAnswer: aloneAnswered || upload.status.dialect !== 'hoodycall', firstByteMs };
  } finally {
    void downloading.then((download) => download.stream.destroy(), () => undefined);
    void uploading.then((upload) => upload.stream.destroy(), () => undefined);
  }
}
