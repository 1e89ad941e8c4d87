/**
 * A minimal, allocation-light HTTP/1.1 response reader for the benchmark clients: status line and
 * headers, then a body framed by `Transfer-Encoding: chunked`, `Content-Length`, or the end of the
 * connection. Body bytes are handed on as views of the caller's buffer, without copying; a handler
 * must use them before it returns. Anything malformed throws.
 */

export interface ResponseHandler {
  head(status: number, headers: ReadonlyMap<string, string>): void;
  /** `data` is only valid during the call. */
  body(data: Buffer): void;
  end(): void;
}

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'until-eof' | 'done';

const CR = 0x0d;
const LF = 0x0a;
const MAX_HEAD = 16 * 1024;
const MAX_LINE = 1024;

export class ResponseReader {
  readonly #handler: ResponseHandler;
  #state: State = 'head';
  #head: Buffer = Buffer.alloc(0);
  #line = '';
  #remaining = 0;
  status = 0;

  constructor(handler: ResponseHandler) {
    this.#handler = handler;
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Bytes from the socket, in order. */
  feed(data: Buffer): void {
    let position = 0;
    while (position < data.length) {
      switch (this.#state) {
        case 'head':
          position = this.#readHead(data, position);
          break;
        case 'length': {
          const take = Math.min(this.#remaining, data.length - position);
          this.#remaining -= take;
          this.#handler.body(data.subarray(position, position + take));
          position += take;
          if (this.#remaining === 0) this.#finish();
          break;
        }
        case 'chunk-size':
        case 'trailer':
          position = this.#readLine(data, position);
          break;
        case 'chunk-data': {
          const take = Math.min(this.#remaining, data.length - position);
          this.#remaining -= take;
          this.#handler.body(data.subarray(position, position + take));
          position += take;
          if (this.#remaining === 0) {
            this.#state = 'chunk-crlf';
            this.#remaining = 2;
          }
          break;
        }
        case 'chunk-crlf': {
          const byte = data[position];
          if (byte !== (this.#remaining === 2 ? CR : LF)) throw new Error('chunked body: missing CRLF after chunk data');
          position += 1;
          this.#remaining -= 1;
          if (this.#remaining === 0) this.#state = 'chunk-size';
          break;
        }
        case 'until-eof':
          this.#handler.body(data.subarray(position));
          position = data.length;
          break;
        case 'done':
          // A kept-alive connection may carry nothing more for us; the client closes it.
          return;
      }
    }
  }

  /** The connection ended. Throws unless the response was complete (or is delimited by the end). */
  eof(): void {
    if (this.#state === 'until-eof') {
      this.#finish();
      return;
    }
    if (this.#state !== 'done') throw new Error(`the connection ended inside the response (${this.#state})`);
  }

  #finish(): void {
    this.#state = 'done';
    this.#handler.end();
  }

  #readHead(data: Buffer, position: number): number {
    const before = this.#head.length;
    this.#head = before === 0 ? Buffer.from(data.subarray(position)) : Buffer.concat([this.#head, data.subarray(position)]);
    const end = this.#head.indexOf('\r\n\r\n', Math.max(0, before - 3), 'latin1');
    if (end === -1) {
      if (this.#head.length > MAX_HEAD) throw new Error('response head too large');
      return data.length;
    }
    const consumed = end + 4 - before;
    const lines = this.#head.toString('latin1', 0, end).split('\r\n');
    this.#head = Buffer.alloc(0);
    const statusLine = lines[0] ?? '';
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match === null) throw new Error(`bad status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
    const status = Number(match[1]);
    if (status >= 100 && status < 200) return position + consumed; // 100 Continue and the like: skip
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line.slice(0, 80))}`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    this.status = status;
    this.#handler.head(status, headers);
    const transferEncoding = headers.get('transfer-encoding');
    const contentLength = headers.get('content-length');
    if (transferEncoding !== undefined && /\bchunked\b/i.test(transferEncoding)) {
      this.#state = 'chunk-size';
    } else if (contentLength !== undefined) {
      if (!/^\d+$/.test(contentLength)) throw new Error(`bad content-length ${contentLength}`);
      this.#remaining = Number(contentLength);
      this.#state = 'length';
      if (this.#remaining === 0) this.#finish();
    } else {
      this.#state = 'until-eof';
    }
    return position + consumed;
  }

  /** A chunk-size line or a trailer line; short, so collected as text. */
  #readLine(data: Buffer, position: number): number {
    const newline = data.indexOf(LF, position);
    const end = newline === -1 ? data.length : newline;
    this.#line += data.toString('latin1', position, end);
    if (this.#line.length > MAX_LINE) throw new Error('chunked body: line too long');
    if (newline === -1) return data.length;
    const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line;
    this.#line = '';
    if (this.#state === 'trailer') {
      if (line === '') this.#finish();
      return newline + 1;
    }
    const semicolon = line.indexOf(';');
    const hex = (semicolon === -1 ? line : line.slice(0, semicolon)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new Error(`chunked body: bad chunk size ${JSON.stringify(hex)}`);
    const size = parseInt(hex, 16);
    if (size === 0) {
      this.#state = 'trailer';
    } else {
      this.#remaining = size;
      this.#state = 'chunk-data';
    }
    return newline + 1;
  }
}
