/**
 * The relay every relayed config goes through (one `hoodycall serve` process for the whole run), and
 * a byte-counting TCP proxy put in front of it for the talker, so the wire bitrate (Ogg, HTTP request
 * head and chunk framing: everything the talker sends) can be read without touching the talker.
 */
import net from 'node:net';
import path from 'node:path';
import { spawnGroup, stopGroup, type GroupProc } from './procs.js';

export const HOST = '127.0.0.1';

export interface Relay {
  readonly port: number;
  readonly proc: GroupProc;
  stop(): Promise<void>;
}

export async function startRelay(root: string, timeoutMs = 15_000): Promise<Relay> {
  const proc = spawnGroup('relay', process.execPath, [path.join(root, 'bin/hoodycall.js'), 'serve', '--host', HOST, '--port', '0', '--quiet'], {
    stdin: 'ignore',
    stdout: 'pipe',
    cwd: root,
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`relay did not print its address within ${timeoutMs} ms`)), timeoutMs);
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      text += chunk;
      const match = /listening on http:\/\/[^/]*:(\d+)\//.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void proc.exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`relay exited (${info.signal ?? String(info.code)}) before listening: ${proc.stderrTail()}`));
    });
  }).catch(async (error: unknown) => {
    await stopGroup(proc);
    throw error;
  });
  return { port, proc, stop: () => stopGroup(proc, 2_000) };
}

export interface CountingProxy {
  readonly port: number;
  /** Bytes the clients sent towards the relay so far. */
  bytesUp(): number;
  close(): void;
}

/** A TCP proxy on a free loopback port to `targetPort`, counting client→relay bytes. */
export function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let up = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: HOST, port: targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      up += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        port,
        bytesUp: () => up,
        close: () => {
          for (const socket of sockets) socket.destroy();
          server.close();
        },
      });
    });
  });
}
