/**
 * The ceiling: the least a Node relay can do. No HTTP. A client connects and sends a fixed 64-byte
 * header (one role byte, 'S' or 'R', then the pipe name zero-padded); the first of a pair waits, and
 * when its counterpart arrives the two sockets are joined with `stream.pipeline`. Either side may come
 * first. Run as its own process:
 *
 *   node dist/bench/relay/raw-relay.js [--host 127.0.0.1] [--port 0]
 *
 * It prints `raw relay listening on PORT` once listening, and exits on SIGTERM/SIGINT.
 */
import net from 'node:net';
import { pipeline } from 'node:stream';
import { RAW_HEADER_BYTES, RAW_RECEIVER, RAW_SENDER } from './raw-protocol.js';

interface Waiting {
  readonly role: number;
  readonly socket: net.Socket;
}

const waiting = new Map<string, Waiting>();

function join(socket: net.Socket, role: number, name: string): void {
  const other = waiting.get(name);
  if (other === undefined) {
    waiting.set(name, { role, socket });
    socket.once('close', () => {
      if (waiting.get(name)?.socket === socket) waiting.delete(name);
    });
    return;
  }
  if (other.role === role) {
    socket.destroy();
    return;
  }
  waiting.delete(name);
  const [sender, receiver] = role === RAW_SENDER ? [socket, other.socket] : [other.socket, socket];
  pipeline(sender, receiver, (error) => {
    if (error) {
      sender.destroy();
      receiver.destroy();
    }
  });
}

function accept(socket: net.Socket): void {
  socket.on('error', () => socket.destroy());
  let head: Buffer | undefined;
  const onData = (chunk: Buffer): void => {
    head = head === undefined ? chunk : Buffer.concat([head, chunk]);
    if (head.length < RAW_HEADER_BYTES) return;
    socket.pause();
    socket.off('data', onData);
    if (head.length > RAW_HEADER_BYTES) socket.unshift(head.subarray(RAW_HEADER_BYTES));
    const role = head[0];
    const nul = head.indexOf(0, 1);
    const name = head.toString('latin1', 1, nul === -1 || nul > RAW_HEADER_BYTES ? RAW_HEADER_BYTES : nul);
    if ((role !== RAW_SENDER && role !== RAW_RECEIVER) || name === '') {
      socket.destroy();
      return;
    }
    join(socket, role, name);
  };
  socket.on('data', onData);
}

function option(flag: string, fallback: string): string {
  const index = process.argv.indexOf(flag);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
}

const server = net.createServer({ noDelay: true }, accept);
server.maxConnections = 100_000;
server.listen({ host: option('--host', '127.0.0.1'), port: Number(option('--port', '0')), backlog: 511 }, () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`raw relay listening on ${address.port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
