import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import { execa } from 'execa';

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** True when the body ended cleanly; false when the connection broke before the end. */
  readonly complete: boolean;
}

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: Buffer | string;
  /** Sent over a fresh socket bound to this local address (127.0.0.x), to look like another client. */
  localAddress?: string;
  /** For https URLs: accept the test's self-signed certificate. */
  ca?: string | Buffer;
}

/** Starts a request and returns it unended, for tests that stream a body or abort midway. */
export function open(url: string, options: RequestOptions = {}): http.ClientRequest {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return client.request(target, {
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    agent: false,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
}

/** Reads a whole response, noting whether it ended cleanly or was cut. */
export async function readReply(res: http.IncomingMessage): Promise<Reply> {
  const chunks: Buffer[] = [];
  let complete = true;
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
    complete = res.complete;
  } catch {
    complete = false;
  }
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete };
}

export async function responseOf(req: http.ClientRequest): Promise<http.IncomingMessage> {
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  return res;
}

/** One whole request and its whole reply. */
export async function fetchReply(url: string, options: RequestOptions = {}): Promise<Reply> {
  const req = open(url, options);
  req.end(options.body);
  return readReply(await responseOf(req));
}

/** Raw bytes over TCP: for what an HTTP client library would hide (framing, HTTP/1.0, bad requests). */
export async function rawExchange(port: number, request: string | Buffer, { waitMs = 2_000 } = {}): Promise<{ text: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(request);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = await Promise.race([
    once(socket, 'close').then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), waitMs)),
  ]);
  socket.destroy();
  return { text: Buffer.concat(chunks).toString('latin1'), closed };
}

export interface CurlResult {
  readonly exitCode: number | undefined;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** The real curl binary. Never throws on a non-zero exit: tests assert the code. */
export async function curl(args: readonly string[], options: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<CurlResult> {
  const result = await execa('curl', ['--silent', '--show-error', ...args], {
    reject: false,
    encoding: 'buffer',
    timeout: options.timeoutMs ?? 20_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { exitCode: result.exitCode, stdout: Buffer.from(result.stdout), stderr: Buffer.from(result.stderr).toString() };
}

/** Drops a request the way a vanished client would; the resulting client-side error is expected. */
export function abandon(req: http.ClientRequest): void {
  req.on('error', () => undefined);
  req.destroy();
}

/**
 * A connected pipe: a receiver GET and a sender PUT whose headers are sent at once, resolved when the
 * relay has started the pipe (the receiver's response arrived). The sender's body is the test's to write.
 */
export async function connectPair(url: string): Promise<{ sender: http.ClientRequest; receiver: http.ClientRequest; res: http.IncomingMessage }> {
  const receiver = open(url);
  receiver.end();
  const sender = open(url, { method: 'PUT' });
  sender.flushHeaders();
  return { sender, receiver, res: await responseOf(receiver) };
}
