/**
 * The relay every relayed config goes through (one `hoodycall serve` process for the whole run), and
 * a byte-counting TCP proxy put in front of it for the talker, so the wire bitrate (Ogg, HTTP request
 * head and chunk framing: everything the talker sends) can be read without touching the talker.
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { Server as PipingServer } from 'piping-server';
import { startHostedRelay } from '../../test/helpers/hosted-relay.js';
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

/**
 * The relays a user meets (`--relay`): `hoodycall serve` (its own process), npm piping-server and the
 * test relay that follows the hosted pipe's documented contract (test/helpers/hosted-relay.ts), these
 * two in the benchmark's process, as the test suite runs them. A relay's CPU is not what this bench
 * measures; where it runs moves the figures by well under a millisecond.
 */
export type RelayKind = 'hoodycall' | 'piping-server' | 'hosted';
export const RELAY_KINDS: readonly RelayKind[] = ['hoodycall', 'piping-server', 'hosted'];

export interface BenchRelay {
  readonly kind: RelayKind;
  readonly port: number;
  /** Why the relay cannot serve any more (its process exited), or null while it can. */
  problem(): string | null;
  stop(): Promise<void>;
}

export async function startBenchRelay(root: string, kind: RelayKind): Promise<BenchRelay> {
  switch (kind) {
    case 'hoodycall': {
      const relay = await startRelay(root);
      return {
        kind,
        port: relay.port,
        problem: () => (relay.proc.exitInfo() === null ? null : `exited: ${relay.proc.stderrTail()}`),
        stop: () => relay.stop(),
      };
    }
    case 'piping-server': {
      const server = http.createServer(new PipingServer().generateHandler(false) as http.RequestListener);
      server.listen(0, HOST);
      await once(server, 'listening');
      return {
        kind,
        port: (server.address() as net.AddressInfo).port,
        problem: () => null,
        stop: async () => {
          server.closeAllConnections();
          server.close();
        },
      };
    }
    case 'hosted': {
      const relay = await startHostedRelay(undefined);
      return { kind, port: Number(relay.url.port), problem: () => null, stop: () => relay.close() };
    }
  }
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
