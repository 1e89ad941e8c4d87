import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream';
import { FanOut } from './fan-out.js';
import { forward } from './forward.js';
import { PAGE_METHODS, PIPE_METHODS, preflightHeaders, receiverHeaders, sessionOf, textHeaders } from './headers.js';
import { HEARTBEAT_HEADER } from '../wire.js';
import { createRelayMetrics, type PipeOutcome, type Rejection, type RelayMetrics } from './metrics.js';
import type { ResolvedRelayOptions } from './options.js';
import { isBrowserNavigation } from './navigation.js';
import { assetHeaders, pageHeaders, pageHtml, readAsset } from './page.js';
import { baseUrlOf, helpText } from './pages.js';
import type { PartyRequest, PartyResponse } from './party.js';
import { refuse, respondText } from './respond.js';
import { parseTarget } from './target.js';

/**
 * One end of a pipe: a sender's PUT/POST (or a WebSocket talker, see websocket.ts) or a receiver's
 * GET, with its response still open.
 */
interface Party<Req extends PartyRequest = PartyRequest, Res extends PartyResponse = PartyResponse> {
  readonly req: Req;
  readonly res: Res;
  readonly client: string;
  /** The sender asked `Expect: 100-continue`: the 100 is the go-ahead, sent once the receivers are there. */
  readonly awaitsContinue: boolean;
  /** The caller's session id (SESSION_HEADER), when it sent one. */
  readonly session: string | undefined;
  hold: NodeJS.Timeout | undefined;
}

/** Receivers are always HTTP: their responses are the byte path's destination. */
type Receiver = Party<IncomingMessage, ServerResponse>;

type PipeState = 'waiting' | 'streaming' | 'ended';

interface Pipe {
  readonly name: string;
  readonly receiversWanted: number;
  readonly createdAt: number;
  state: PipeState;
  sender: Party | undefined;
  receivers: Receiver[];
  bytes: number;
  startedAt: number;
  /** Sweeps in a row that saw no byte move; see `sweepIdle`. */
  idleSweeps: number;
  bytesAtLastSweep: number;
  /** Sweeps since the pipe started, for the sender's heartbeat. */
  sweeps: number;
  outcome: PipeOutcome | undefined;
}

const IDLE_SWEEP_MS = 1_000;
/** A sender with a session id gets a line every this many sweeps (HEARTBEAT_MS). */
const HEARTBEAT_SWEEPS = 2;
const HEARTBEAT_MS = HEARTBEAT_SWEEPS * IDLE_SWEEP_MS;
/** How long a torn-down sender may take to read its last status line before its socket is closed. */
const SENDER_LINGER_MS = 250;

/**
 * The pipe: a registry of named pipes, each a small state machine (waiting → streaming → ended), and the
 * HTTP handler that moves requests through it. It knows nothing of sockets or listening; see server.ts.
 */
export class RelayHandler {
  readonly metrics: RelayMetrics;
  readonly #options: ResolvedRelayOptions;
  readonly #pipes = new Map<string, Pipe>();
  readonly #partiesPerClient = new Map<string, number>();
  readonly #secure: boolean;
  /** Names are secrets: the access log identifies a pipe by a salted hash, unlinkable across restarts. */
  readonly #logSalt = randomBytes(16);
  #streaming = 0;
  #endedBytes = 0;
  #closing = false;
  #idleSweep: NodeJS.Timeout | undefined;
  #streamingDrained: (() => void) | undefined;

  constructor(options: ResolvedRelayOptions) {
    this.#options = options;
    this.#secure = options.tls !== undefined;
    this.metrics = createRelayMetrics({
      waiting: () => this.#pipes.size - this.#streaming,
      streaming: () => this.#streaming,
      relayedBytes: () => {
        let bytes = this.#endedBytes;
        for (const pipe of this.#pipes.values()) bytes += pipe.bytes;
        return bytes;
      },
    });
  }

  get waitingCount(): number {
    return this.#pipes.size - this.#streaming;
  }

  get streamingCount(): number {
    return this.#streaming;
  }

  /** The `request` listener. */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.#route(req, res, false);
  };

  /** The `checkContinue` listener: a sender is refused before it sends a byte, or told to go ahead. */
  readonly handleCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    this.#route(req, res, true);
  };

  /**
   * A sender that did not come as PUT/POST (the WebSocket bridge): the same rules, limits and state
   * machine, with `req`/`res` stand-ins that carry the bytes and the status lines.
   */
  acceptSender(req: PartyRequest, res: PartyResponse, name: string, receiversWanted: number): void {
    if (this.#closing) return this.#refuse(req, res, 503, 'the relay is shutting down', 'shutdown');
    this.#sender(req, res, name, receiversWanted, false);
  }

  #route(req: IncomingMessage, res: ServerResponse, awaitsContinue: boolean): void {
    if (this.#closing) return this.#refuse(req, res, 503, 'the relay is shutting down', 'shutdown');
    const target = parseTarget(req.url ?? '/', this.#options.maxReceivers);
    const method = req.method ?? 'GET';
    switch (target.kind) {
      case 'invalid':
        return this.#refuse(req, res, 400, target.reason, 'bad-request');
      case 'not-found':
        return this.#refuse(req, res, 404, 'no such page; pipes are at /api/v1/pipe/NAME', 'not-found');
      case 'page':
        if (method !== 'GET' && method !== 'HEAD') {
          return this.#refuse(req, res, 405, `${method} is not allowed here`, 'method', { allow: PAGE_METHODS });
        }
        if (awaitsContinue) res.writeContinue();
        return this.#page(target.page, req, res);
      case 'asset':
        if (method !== 'GET' && method !== 'HEAD') {
          return this.#refuse(req, res, 405, `${method} is not allowed here`, 'method', { allow: PAGE_METHODS });
        }
        return this.#asset(target.name, res);
      case 'pipe':
        // A request pipelined behind another response on the same connection has no socket of its own
        // yet, and Node never tells its response that the connection died: as a waiting side it would
        // hold the name forever. A pipe side needs a connection of its own.
        if (res.socket === null && method !== 'OPTIONS') {
          return this.#refuse(req, res, 400, 'a pipe side needs its own connection, not a pipelined request', 'bad-request');
        }
        switch (method) {
          case 'GET':
            if (awaitsContinue) res.writeContinue();
            // A browser opening the pipe URL gets the listen page, which takes no slot: its own GET
            // would be thrown away by the browser and take the call with it (navigation.ts).
            if (isBrowserNavigation(req.headers)) return this.#listenPage(req, res);
            return this.#receiver(req, res, target.name, target.receivers);
          case 'PUT':
          case 'POST':
            return this.#sender(req, res, target.name, target.receivers, awaitsContinue);
          case 'OPTIONS':
            res.writeHead(204, preflightHeaders());
            res.end();
            return;
          default:
            return this.#refuse(req, res, 405, `${method} is not allowed on a pipe`, 'method', { allow: PIPE_METHODS });
        }
    }
  }

  #page(page: 'help' | 'healthz' | 'metrics', req: IncomingMessage, res: ServerResponse): void {
    if (page === 'metrics') {
      const registry = this.metrics.registry;
      registry.metrics().then(
        (text) => respondText(res, 200, text, { 'content-type': registry.contentType }),
        () => respondText(res, 500, '[ERROR] metrics are unavailable\n'),
      );
      return;
    }
    if (page === 'help' && isBrowserNavigation(req.headers)) return this.#listenPage(req, res);
    respondText(res, 200, page === 'healthz' ? 'ok\n' : helpText(baseUrlOf(req, this.#secure)));
  }

  #listenPage(req: IncomingMessage, res: ServerResponse): void {
    const body = Buffer.from(pageHtml(req.url ?? '/'));
    res.writeHead(200, pageHeaders(body.length));
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  #asset(name: string, res: ServerResponse): void {
    const asset = readAsset(name);
    if (asset === undefined) return respondText(res, 404, '[ERROR] no such page\n');
    asset.then(
      (body) => {
        res.writeHead(200, assetHeaders(body.length));
        res.end(res.req.method === 'HEAD' ? undefined : body);
      },
      () => respondText(res, 500, '[ERROR] the page script is missing from this build (run npm run build)\n'),
    );
  }

  #sender(req: PartyRequest, res: PartyResponse, name: string, receiversWanted: number, awaitsContinue: boolean): void {
    if (req.headers['content-range'] !== undefined) {
      return this.#refuse(req, res, 400, 'Content-Range is not supported: a pipe streams from the first byte', 'bad-request');
    }
    let existing = this.#pipes.get(name);
    if (existing !== undefined) {
      if (existing.receiversWanted !== receiversWanted) return this.#mismatch(req, res, existing);
      if (existing.sender !== undefined) {
        if (!this.#isSameCaller(existing.sender, req)) return this.#refuse(req, res, 409, 'this pipe already has a sender', 'busy');
        this.#replace(existing, existing.sender);
        existing = this.#pipes.get(name);
      }
    }
    const party = this.#admit(req, res, existing, awaitsContinue);
    if (party === undefined) return;
    const pipe = existing ?? this.#create(name, receiversWanted);
    pipe.sender = party;
    this.#await(pipe, party);
  }

  #receiver(req: IncomingMessage, res: ServerResponse, name: string, receiversWanted: number): void {
    if (req.headers['service-worker'] !== undefined) {
      return this.#refuse(req, res, 400, 'a pipe cannot be a service worker script', 'bad-request');
    }
    let existing = this.#pipes.get(name);
    if (existing !== undefined) {
      if (existing.receiversWanted !== receiversWanted) return this.#mismatch(req, res, existing);
      const earlier = existing.receivers.find((receiver) => this.#isSameCaller(receiver, req));
      if (earlier !== undefined) {
        this.#replace(existing, earlier);
        existing = this.#pipes.get(name);
      } else if (existing.state !== 'waiting' || existing.receivers.length >= existing.receiversWanted) {
        const who = existing.receiversWanted === 1 ? 'a receiver' : `its ${existing.receiversWanted} receivers`;
        return this.#refuse(req, res, 409, `this pipe already has ${who}`, 'busy');
      }
    }
    const party = this.#admit<IncomingMessage, ServerResponse>(req, res, existing, false);
    if (party === undefined) return;
    const pipe = existing ?? this.#create(name, receiversWanted);
    pipe.receivers.push(party);
    this.#await(pipe, party);
  }

  #mismatch(req: PartyRequest, res: PartyResponse, pipe: Pipe): void {
    this.#refuse(req, res, 400, `this pipe was opened with n=${pipe.receiversWanted}; every side must give the same n`, 'receivers-mismatch');
  }

  /** Applies the limits; returns the new party, or undefined when it was refused. */
  #admit<Req extends PartyRequest, Res extends PartyResponse>(
    req: Req,
    res: Res,
    existing: Pipe | undefined,
    awaitsContinue: boolean,
  ): Party<Req, Res> | undefined {
    if (existing === undefined && this.#pipes.size >= this.#options.maxPipes) {
      this.#refuse(req, res, 503, `the relay holds its limit of ${this.#options.maxPipes} pipes; try again later`, 'relay-limit', {
        'retry-after': '10',
      });
      return undefined;
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    const held = this.#partiesPerClient.get(client) ?? 0;
    if (held >= this.#options.maxPipesPerClient) {
      this.#refuse(req, res, 429, `your address holds its limit of ${this.#options.maxPipesPerClient} pipe ends; close some first`, 'client-limit', {
        'retry-after': '10',
      });
      return undefined;
    }
    this.#partiesPerClient.set(client, held + 1);
    return { req, res, client, awaitsContinue, session: sessionOf(req.headers), hold: undefined };
  }

  #isSameCaller(party: Party, req: PartyRequest): boolean {
    return party.session !== undefined && party.session === sessionOf(req.headers);
  }

  /**
   * Drops a connection its caller has come back from (same session id). A waiting one just leaves. A
   * streaming pipe ends as if that side had dropped: the other side's connection is closed too, and
   * both start over (a talker sends a fresh Ogg stream, which a listener only takes from its start).
   */
  #replace(pipe: Pipe, party: Party): void {
    if (pipe.state === 'waiting') {
      this.#leaveWaiting(pipe, party, 'replaced');
      party.res.destroy();
      return;
    }
    pipe.outcome ??= 'replaced';
    const parties = [pipe.sender, ...pipe.receivers];
    this.#end(pipe, 'replaced');
    for (const each of parties) each?.res.destroy();
  }

  #release(party: Party): void {
    if (party.hold !== undefined) clearTimeout(party.hold);
    party.hold = undefined;
    const held = (this.#partiesPerClient.get(party.client) ?? 1) - 1;
    if (held <= 0) this.#partiesPerClient.delete(party.client);
    else this.#partiesPerClient.set(party.client, held);
  }

  #create(name: string, receiversWanted: number): Pipe {
    const pipe: Pipe = {
      name,
      receiversWanted,
      createdAt: Date.now(),
      state: 'waiting',
      sender: undefined,
      receivers: [],
      bytes: 0,
      startedAt: 0,
      idleSweeps: 0,
      bytesAtLastSweep: 0,
      sweeps: 0,
      outcome: undefined,
    };
    this.#pipes.set(name, pipe);
    return pipe;
  }

  /** Starts the pipe when this party completes it; otherwise holds the party until its counterpart comes. */
  #await(pipe: Pipe, party: Party): void {
    if (pipe.sender !== undefined && pipe.receivers.length === pipe.receiversWanted) {
      this.#start(pipe, pipe.sender);
      return;
    }
    party.hold = setTimeout(() => this.#expire(pipe, party), this.#options.holdMs);
    party.res.once('close', () => {
      if (pipe.state === 'waiting') this.#leaveWaiting(pipe, party, 'left-waiting');
    });
  }

  #expire(pipe: Pipe, party: Party): void {
    if (pipe.state !== 'waiting') return;
    const seconds = Math.round(this.#options.holdMs / 100) / 10;
    const missing = party === pipe.sender ? 'no receiver' : 'no sender';
    this.#leaveWaiting(pipe, party, 'hold-expired');
    this.#refuse(party.req, party.res, 408, `${missing} connected within ${seconds} s`, 'hold-expired');
  }

  #leaveWaiting(pipe: Pipe, party: Party, outcome: PipeOutcome): void {
    if (pipe.sender === party) pipe.sender = undefined;
    else {
      const index = pipe.receivers.indexOf(party as Receiver);
      if (index === -1) return;
      pipe.receivers.splice(index, 1);
    }
    this.#release(party);
    if (pipe.sender === undefined && pipe.receivers.length === 0) this.#end(pipe, outcome);
  }

  #start(pipe: Pipe, sender: Party): void {
    pipe.state = 'streaming';
    pipe.startedAt = Date.now();
    this.#streaming += 1;
    this.#ensureIdleSweep();
    for (const party of [sender, ...pipe.receivers]) {
      if (party.hold !== undefined) clearTimeout(party.hold);
      party.hold = undefined;
    }
    if (sender.awaitsContinue) sender.res.writeContinue();
    sender.res.writeHead(200, textHeaders(sender.session === undefined ? {} : { [HEARTBEAT_HEADER]: String(HEARTBEAT_MS) }));
    const count = pipe.receiversWanted;
    sender.res.write(`[INFO] connected to ${count === 1 ? 'the receiver' : `${count} receivers`}, streaming\n`);
    const headers = receiverHeaders(sender.req.headers);
    for (const receiver of pipe.receivers) {
      receiver.res.writeHead(200, headers);
      receiver.res.flushHeaders();
    }
    const finished = (error: Error | null | undefined): void => this.#finish(pipe, sender, error ?? undefined);
    const [onlyReceiver] = pipe.receivers;
    if (count === 1 && onlyReceiver !== undefined) {
      // Registered before forward() so that it runs before forward tears the sender down: the sender
      // still gets the reason in its response.
      onlyReceiver.res.once('close', () => {
        if (!onlyReceiver.res.writableFinished) this.#tellSender(pipe, sender, 'receiver-left');
      });
      forward(sender.req, onlyReceiver.res, (bytes) => (pipe.bytes += bytes), finished);
    } else {
      sender.req.on('data', (chunk: Buffer) => {
        pipe.bytes += chunk.length;
      });
      const fanOut = new FanOut(
        pipe.receivers.map((receiver) => receiver.res),
        (remaining) => {
          if (remaining === 0) this.#tellSender(pipe, sender, 'receiver-left');
          else if (!sender.res.writableEnded) sender.res.write(`[INFO] a receiver left; ${remaining} remain\n`);
        },
      );
      pipeline(sender.req, fanOut, finished);
    }
  }

  /**
   * Tears the sender down with the reason as the last line of its response. `stream.pipeline` detaches a
   * server request from its socket before destroying it (so that a response could still be sent), so the
   * socket is ours to close: after the reason is flushed, or after a short linger if it cannot be.
   */
  #tellSender(pipe: Pipe, sender: Party, outcome: PipeOutcome): void {
    pipe.outcome ??= outcome;
    const socket = sender.req.socket;
    const close = (): void => {
      socket.destroy();
    };
    if (sender.res.writableEnded) return close();
    const text =
      pipe.outcome === 'idle-timeout'
        ? `[ERROR] no bytes moved for ${this.#options.idleTimeoutMs / 1000} s; the pipe was closed\n`
        : pipe.outcome === 'shutdown'
          ? '[ERROR] the relay is shutting down\n'
          : `[ERROR] the receiver left after ${pipe.bytes} bytes\n`;
    sender.res.end(text, close);
    setTimeout(close, SENDER_LINGER_MS).unref();
  }

  #finish(pipe: Pipe, sender: Party, error: Error | undefined): void {
    if (error === undefined) {
      if (!sender.res.writableEnded) sender.res.end(`[INFO] done, ${pipe.bytes} bytes\n`);
      this.#end(pipe, 'done');
    } else {
      // The sender vanished, or we tore it down (receiver left, idle, shutdown). Either way the receivers'
      // responses were destroyed, not ended: they see an incomplete body, never a clean end.
      if (!sender.res.writableEnded) sender.res.destroy();
      this.#end(pipe, pipe.outcome ?? 'sender-aborted');
    }
  }

  #end(pipe: Pipe, outcome: PipeOutcome): void {
    if (pipe.state === 'ended') return;
    if (pipe.state === 'streaming') {
      this.#streaming -= 1;
      for (const party of [pipe.sender, ...pipe.receivers]) if (party !== undefined) this.#release(party);
      if (this.#streaming === 0) this.#streamingDrained?.();
    }
    pipe.state = 'ended';
    this.#endedBytes += pipe.bytes;
    this.#pipes.delete(pipe.name);
    this.metrics.ended(outcome);
    this.#log(pipe, outcome);
  }

  #log(pipe: Pipe, outcome: PipeOutcome): void {
    if (this.#options.log === undefined) return;
    const now = Date.now();
    const id = createHash('sha256').update(this.#logSalt).update(pipe.name).digest('hex').slice(0, 10);
    const waited = ((pipe.startedAt || now) - pipe.createdAt) / 1000;
    const streamed = pipe.startedAt === 0 ? 0 : (now - pipe.startedAt) / 1000;
    this.#options.log(
      `${new Date(now).toISOString()} pipe ${id} n=${pipe.receiversWanted} bytes=${pipe.bytes} ` +
        `waited=${waited.toFixed(1)}s streamed=${streamed.toFixed(1)}s outcome=${outcome}`,
    );
  }

  #refuse(req: PartyRequest, res: PartyResponse, status: number, reason: string, rejection: Rejection, headers = {}): void {
    this.metrics.rejected(rejection);
    refuse(req, res, status, reason, headers);
  }

  /**
   * A dead peer (a half-open connection on a dropped link) would hold its name until TCP gives up, up to
   * 15 minutes. A pipe whose byte count has not moved for `idleTimeoutMs` is aborted instead. Counting
   * sweeps keeps the byte path free of timers.
   */
  #ensureIdleSweep(): void {
    if (this.#idleSweep !== undefined) return;
    this.#idleSweep = setInterval(() => this.#sweepIdle(), IDLE_SWEEP_MS);
    this.#idleSweep.unref();
  }

  #sweepIdle(): void {
    const limit = this.#options.idleTimeoutMs === 0 ? Infinity : Math.ceil(this.#options.idleTimeoutMs / IDLE_SWEEP_MS);
    for (const pipe of this.#pipes.values()) {
      if (pipe.state !== 'streaming') continue;
      if (pipe.bytes !== pipe.bytesAtLastSweep) {
        pipe.bytesAtLastSweep = pipe.bytes;
        pipe.idleSweeps = 0;
      } else if (++pipe.idleSweeps >= limit) {
        this.#abort(pipe, 'idle-timeout');
        continue;
      }
      this.#heartbeat(pipe);
    }
    if (this.#streaming === 0) {
      clearInterval(this.#idleSweep);
      this.#idleSweep = undefined;
    }
  }

  /**
   * A line to a sender that sent a session id, every HEARTBEAT_MS: a talker learns that its link died
   * from their absence. Its writes alone would not tell it for minutes, as the kernel keeps taking
   * them into a send buffer that nobody acknowledges.
   */
  #heartbeat(pipe: Pipe): void {
    const sender = pipe.sender;
    if (sender?.session === undefined || sender.res.writableEnded) return;
    pipe.sweeps += 1;
    if (pipe.sweeps % HEARTBEAT_SWEEPS === 0) sender.res.write(`[INFO] ${pipe.bytes} bytes so far\n`);
  }

  /** Ends a streaming pipe as a failure: receivers get an incomplete body, the sender the reason. */
  #abort(pipe: Pipe, outcome: PipeOutcome): void {
    if (pipe.sender !== undefined) this.#tellSender(pipe, pipe.sender, outcome);
    for (const receiver of pipe.receivers) receiver.res.destroy();
  }

  /** Stops taking pipes: every waiting side gets 503 now; streaming pipes may finish within `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const pipe of [...this.#pipes.values()]) {
      if (pipe.state !== 'waiting') continue;
      for (const party of [pipe.sender, ...pipe.receivers]) {
        if (party === undefined) continue;
        this.#leaveWaiting(pipe, party, 'shutdown');
        this.#refuse(party.req, party.res, 503, 'the relay is shutting down', 'shutdown');
      }
    }
    if (this.#streaming > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#streamingDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const pipe of [...this.#pipes.values()]) this.#abort(pipe, 'shutdown');
    if (this.#idleSweep !== undefined) clearInterval(this.#idleSweep);
  }
}
