/**
 * A TCP proxy whose open connections can be frozen: after `freeze()` none of their bytes is read or
 * forwarded either way and none is closed, which is how a link that dropped (a hotspot changing
 * cells) looks to both ends: writes pile up unacknowledged. Connections made after the freeze pass.
 */
import net from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';

export interface FreezingProxy {
  readonly port: number;
  /** Freezes every connection open now. */
  freeze(): void;
  /** Cuts every connection open now, both ways (a reset, as a dying NAT or relay would). */
  cut(): void;
  /** Holds every connection open now for `ms`, then lets what piled up through: a link that stalls. */
  stall(ms: number): void;
}

export async function startFreezingProxy(t: TestContext, targetPort: number): Promise<FreezingProxy> {
  const open = new Set<{ frozen: boolean; sockets: net.Socket[] }>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const link = { frozen: false, sockets: [client, upstream] };
    open.add(link);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (!link.frozen) to.write(chunk);
      });
      from.on('end', () => {
        if (!link.frozen) to.end();
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        if (!link.frozen) to.destroy();
      });
    }
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
    freeze() {
      for (const link of open) {
        link.frozen = true;
        for (const socket of link.sockets) socket.pause();
      }
      open.clear();
    },
    stall(ms) {
      const links = [...open];
      for (const link of links) {
        link.frozen = true;
        for (const socket of link.sockets) socket.pause();
      }
      setTimeout(() => {
        for (const link of links) {
          link.frozen = false;
          for (const socket of link.sockets) socket.resume();
        }
      }, ms).unref();
    },
    cut() {
      for (const link of open) for (const socket of link.sockets) socket.resetAndDestroy();
      open.clear();
    },
  };
}
