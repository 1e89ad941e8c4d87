/**
 * A test relay that follows the hosted pipe's documented contract (the public pipe that `--server`
 * defaults to; its API documentation), line for line where the contract gives the line, so the
 * client is tested against the dialect its users meet by default:
 *
 * - a sender gets `200` at once, then `[INFO] Waiting for N receiver(s) to connect...`,
 *   `[INFO] K receiver(s) already connected.` (when some are), `[INFO] Streaming to N receiver(s)...`,
 *   `[INFO] Upload complete.`, `[INFO] Transfer complete.`; `[INFO] A receiver disconnected.`;
 *   `[ERROR] Timed out waiting for receivers.` when its `wait` passes (then the response ends);
 *   `[ERROR] Server at maximum active transfer capacity.` at the active cap (it already had its 200);
 * - a waiting receiver gets `408` `[ERROR] Timed out waiting for sender.` (or `… receivers.` when the
 *   sender came but not all `n` receivers) when its own `wait` passes;
 * - `400` for: a busy path (active, a sender attached, receiver slots full), an `n` mismatch, a bad `n`
 *   or `wait` (then nothing is registered), `Service-Worker: script`, `Content-Range`, control
 *   characters or a backslash in the name; `414` past 1024 characters; `405` for other methods;
 *   `429` at the pending cap (and for receivers at the active cap);
 * - `?n=1..256` lockstep fan-out (the slowest receiver paces it), `?wait=1..3600` (default 300, per
 *   party, from its own arrival), an active transfer idle for `idleMs` (5 min) ended, receivers cut
 *   (no final chunk) when the sender vanishes.
 *
 * The contract documents which causes answer 400 but not their exact words; the reasons here are
 * this helper's, written the way the documented ones are. The client reads them through one table
 * (src/protocol/refusals.ts), tested row by row.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface HostedRelayOptions {
  /** Default `wait`, s (300). */
  readonly defaultWaitSeconds?: number;
  /** An active transfer where no byte moves this long is ended (5 min). */
  readonly idleMs?: number;
  /** Pending (waiting) transfers in all (1000). */
  readonly maxPending?: number;
  /** Active transfers in all (1000). */
  readonly maxActive?: number;
}

interface Party {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  timer: NodeJS.Timeout | undefined;
}

interface Transfer {
  readonly path: string;
  readonly n: number;
  sender: Party | undefined;
  readonly receivers: Party[];
  active: boolean;
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'access-control-allow-origin': '*', 'x-content-type-options': 'nosniff' };
const RUNNABLE = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml)$|javascript|ecmascript/i;

export interface HostedRelay {
  readonly url: URL;
  pipeUrl(name: string, query?: string): string;
  close(): Promise<void>;
}

export async function startHostedRelay(t: TestContext | undefined, options: HostedRelayOptions = {}): Promise<HostedRelay> {
  const defaultWait = options.defaultWaitSeconds ?? 300;
  const idleMs = options.idleMs ?? 5 * 60_000;
  const maxPending = options.maxPending ?? 1_000;
  const maxActive = options.maxActive ?? 1_000;
  const transfers = new Map<string, Transfer>();
  const count = (active: boolean): number => [...transfers.values()].filter((each) => each.active === active).length;

  const refuse = (res: http.ServerResponse, status: number, text: string): void => {
    const body = `[ERROR] ${text}\n`;
    res.writeHead(status, { ...TEXT, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const forget = (transfer: Transfer): void => {
    if (transfers.get(transfer.path) === transfer) transfers.delete(transfer.path);
  };

  const start = (transfer: Transfer, sender: Party): void => {
    transfer.active = true;
    for (const party of [sender, ...transfer.receivers]) clearTimeout(party.timer);
    if (count(true) > maxActive) {
      sender.res.end('[ERROR] Server at maximum active transfer capacity.\n');
      for (const receiver of transfer.receivers) refuse(receiver.res, 429, 'Server at maximum active transfer capacity.');
      forget(transfer);
      return;
    }
    sender.res.write(`[INFO] Streaming to ${transfer.n} receiver(s)...\n`);
    const type = sender.req.headers['content-type'];
    const essence = (type ?? '').split(';')[0]?.trim() ?? '';
    const headers: http.OutgoingHttpHeaders = {
      'content-type': type === undefined ? 'application/octet-stream' : RUNNABLE.test(essence) ? 'text/plain' : type,
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
    };
    const length = sender.req.headers['content-length'];
    if (length !== undefined && /^\d+$/.test(length)) headers['content-length'] = length;
    const live = new Set(transfer.receivers);
    for (const receiver of transfer.receivers) {
      receiver.res.writeHead(200, headers);
      receiver.res.flushHeaders();
      receiver.res.once('close', () => {
        if (receiver.res.writableFinished || !live.delete(receiver)) return;
        if (!sender.res.writableEnded) sender.res.write('[INFO] A receiver disconnected.\n');
        if (live.size === 0) {
          forget(transfer);
          if (!sender.res.writableEnded) sender.res.end('[ERROR] Transfer failed\n', () => sender.req.socket.destroy());
        }
      });
    }
    let moved = Date.now();
    const idle = setInterval(() => {
      if (Date.now() - moved < idleMs) return;
      clearInterval(idle);
      forget(transfer);
      for (const receiver of live) receiver.res.destroy();
      if (!sender.res.writableEnded) sender.res.end('[ERROR] Transfer failed\n', () => sender.req.socket.destroy());
    }, Math.min(1_000, idleMs));
    idle.unref();
    // Lockstep fan-out: the next chunk is taken when every receiver has drained.
    sender.req.on('data', (chunk: Buffer) => {
      moved = Date.now();
      let pending = 0;
      for (const receiver of live) {
        if (!receiver.res.write(chunk)) {
          pending += 1;
          receiver.res.once('drain', () => {
            if (--pending === 0) sender.req.resume();
          });
        }
      }
      if (pending > 0) sender.req.pause();
    });
    sender.req.once('end', () => {
      clearInterval(idle);
      if (!sender.res.writableEnded) sender.res.write('[INFO] Upload complete.\n');
      let open = live.size;
      for (const receiver of live) {
        receiver.res.end(() => {
          if (--open === 0) {
            forget(transfer);
            if (!sender.res.writableEnded) sender.res.end('[INFO] Transfer complete.\n');
          }
        });
      }
    });
    sender.req.once('close', () => {
      if (sender.req.complete) return;
      // The sender vanished: every receiver sees an incomplete body.
      clearInterval(idle);
      forget(transfer);
      for (const receiver of live) receiver.res.destroy();
    });
  };

  const maybeStart = (transfer: Transfer): void => {
    const sender = transfer.sender;
    if (sender !== undefined && transfer.receivers.length === transfer.n) start(transfer, sender);
  };

  const onSender = (req: http.IncomingMessage, res: http.ServerResponse, path: string, n: number, wait: number): void => {
    if (req.headers['content-range'] !== undefined) return refuse(res, 400, 'Content-Range is not supported.');
    let transfer = transfers.get(path);
    if (transfer?.active === true) return refuse(res, 400, 'A transfer is already active on this path.');
    if (transfer?.sender !== undefined) return refuse(res, 400, 'A sender is already attached to this path.');
    if (transfer !== undefined && transfer.n !== n) return refuse(res, 400, `n mismatch: this path expects n=${transfer.n}.`);
    if (transfer === undefined && count(false) >= maxPending) return refuse(res, 429, 'Too many pending transfers.');
    if (transfer === undefined) {
      transfer = { path, n, sender: undefined, receivers: [], active: false };
      transfers.set(path, transfer);
    }
    const party: Party = { req, res, timer: undefined };
    transfer.sender = party;
    res.writeHead(200, TEXT);
    res.write(`[INFO] Waiting for ${n} receiver(s) to connect...\n`);
    if (transfer.receivers.length > 0) res.write(`[INFO] ${transfer.receivers.length} receiver(s) already connected.\n`);
    const current = transfer;
    party.timer = setTimeout(() => {
      if (current.active) return;
      current.sender = undefined;
      if (current.receivers.length === 0) forget(current);
      res.end('[ERROR] Timed out waiting for receivers.\n', () => req.socket.destroy());
    }, wait * 1000);
    res.once('close', () => {
      if (current.active || current.sender !== party) return;
      clearTimeout(party.timer);
      current.sender = undefined;
      if (current.receivers.length === 0) forget(current);
    });
    maybeStart(transfer);
  };

  const onReceiver = (req: http.IncomingMessage, res: http.ServerResponse, path: string, n: number, wait: number): void => {
    if (req.headers['service-worker'] === 'script') return refuse(res, 400, 'Service Worker registration is rejected.');
    let transfer = transfers.get(path);
    if (transfer?.active === true) return refuse(res, 400, 'A transfer is already active on this path.');
    if (transfer !== undefined && transfer.n !== n) return refuse(res, 400, `n mismatch: this path expects n=${transfer.n}.`);
    if (transfer !== undefined && transfer.receivers.length >= transfer.n) return refuse(res, 400, 'All receiver slots on this path are taken.');
    if (transfer === undefined && count(false) >= maxPending) return refuse(res, 429, 'Too many pending transfers.');
    if (transfer === undefined) {
      transfer = { path, n, sender: undefined, receivers: [], active: false };
      transfers.set(path, transfer);
    }
    const party: Party = { req, res, timer: undefined };
    transfer.receivers.push(party);
    const current = transfer;
    party.timer = setTimeout(() => {
      if (current.active) return;
      current.receivers.splice(current.receivers.indexOf(party), 1);
      if (current.sender === undefined && current.receivers.length === 0) forget(current);
      refuse(res, 408, current.sender === undefined ? 'Timed out waiting for sender.' : 'Timed out waiting for receivers.');
    }, wait * 1000);
    res.once('close', () => {
      if (current.active) return;
      const index = current.receivers.indexOf(party);
      if (index === -1) return;
      clearTimeout(party.timer);
      current.receivers.splice(index, 1);
      if (current.sender === undefined && current.receivers.length === 0) forget(current);
    });
    if (current.sender !== undefined && !current.sender.res.writableEnded) current.sender.res.write(`[INFO] ${current.receivers.length} receiver(s) already connected.\n`);
    maybeStart(transfer);
  };

  const server = http.createServer({ requestTimeout: 0, headersTimeout: 10_000 }, (req, res) => {
    const target = new URL(req.url ?? '/', 'http://relay');
    const prefix = '/api/v1/pipe/';
    if (!target.pathname.startsWith(prefix)) return refuse(res, 404, 'Not found.');
    const name = target.pathname.slice(prefix.length);
    if (name.length > 1024) return refuse(res, 414, 'Path too long (max 1024 characters).');
    // eslint-disable-next-line no-control-regex -- the contract forbids control characters
    if (name === '' || /[\u0000-\u001f\u007f\\]|%2f/i.test(name)) return refuse(res, 400, 'Forbidden characters in the path.');
    const nText = target.searchParams.get('n') ?? '1';
    const waitText = target.searchParams.get('wait') ?? String(defaultWait);
    if (!/^\d+$/.test(nText) || Number(nText) < 1 || Number(nText) > 256) return refuse(res, 400, 'n must be from 1 to 256.');
    if (!/^\d+$/.test(waitText) || Number(waitText) < 1 || Number(waitText) > 3_600) return refuse(res, 400, 'wait must be from 1 to 3600 seconds.');
    const path = `/${name}`;
    switch (req.method) {
      case 'GET':
        return onReceiver(req, res, path, Number(nText), Number(waitText));
      case 'PUT':
      case 'POST':
        return onSender(req, res, path, Number(nText), Number(waitText));
      case 'OPTIONS':
        res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST, PUT, OPTIONS', 'content-length': '0' });
        res.end();
        return;
      default:
        return refuse(res, 405, `Method ${req.method ?? ''} is not allowed.`);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = new URL(`http://127.0.0.1:${port}`);
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close').catch(() => undefined);
  };
  t?.after(close);
  return { url, pipeUrl: (name, query) => `${url.origin}/api/v1/pipe/${name}${query === undefined ? '' : `?${query}`}`, close };
}
