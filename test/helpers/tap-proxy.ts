/**
 * A TCP proxy in front of a relay that keeps every byte it carries, both ways (what anyone on the
 * relay's side of the wire sees), and can change one byte of a response body in flight. It reads the
 * HTTP/1.1 chunked framing of the response, so the changed byte is one of the body's own, never a
 * chunk-size line (which would break the HTTP, not test the content).
 */
import net from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';

export interface TapProxy {
  readonly port: number;
  /** Every byte clients sent through the proxy, in order per connection, all connections joined. */
  sent(): Buffer;
  /** Every byte the relay answered, as above. */
  received(): Buffer;
  /** XOR `mask` into the first response body byte at or past `offset` (counted over the chunk data of each connection). */
  flipBodyByte(offset: number, mask?: number): void;
  /** Whether the asked-for flip has been made. */
  flipped(): boolean;
  /** Cuts every connection open now, both ways (a dropped link); later ones pass. */
  cut(): void;
}

/** Walks a chunked body's framing as its bytes pass, telling which ones are chunk data. */
class ChunkedBody {
  #headerDone = false;
  #head = '';
  #state: 'size' | 'data' | 'crlf' = 'size';
  #line = '';
  #left = 0;
  /** Body data bytes seen so far. */
  dataSeen = 0;

  /** Calls `onData(indexInChunk, dataOffset)` for each body data byte of `chunk`. */
  walk(chunk: Buffer, onData: (index: number, dataOffset: number) => void): void {
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i] ?? 0;
      if (!this.#headerDone) {
        this.#head += String.fromCharCode(byte);
        if (this.#head.endsWith('\r\n\r\n')) this.#headerDone = true;
        continue;
      }
      switch (this.#state) {
        case 'size':
          if (byte === 0x0a) {
            this.#left = parseInt(this.#line.trim(), 16);
            this.#line = '';
            this.#state = this.#left > 0 ? 'data' : 'crlf';
          } else this.#line += String.fromCharCode(byte);
          break;
        case 'data':
          onData(i, this.dataSeen);
          this.dataSeen += 1;
          this.#left -= 1;
          if (this.#left === 0) this.#state = 'crlf';
          break;
        case 'crlf':
          if (byte === 0x0a) this.#state = 'size';
          break;
      }
    }
  }
}

export async function startTapProxy(t: TestContext, targetPort: number): Promise<TapProxy> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  let flip: { offset: number; mask: number; done: boolean } | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const body = new ChunkedBody();
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      up.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      down.push(Buffer.from(chunk));
      body.walk(chunk, (index, offset) => {
        const wanted = flip;
        if (wanted === null || wanted.done || offset < wanted.offset) return;
        chunk[index] = (chunk[index] ?? 0) ^ wanted.mask;
        wanted.done = true;
      });
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    port: address.port,
    sent: () => Buffer.concat(up),
    received: () => Buffer.concat(down),
    flipBodyByte(offset, mask = 0x01) {
      flip = { offset, mask, done: false };
    },
    flipped: () => flip?.done === true,
    cut() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
