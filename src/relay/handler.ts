import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { Clients } from './clients.js';
import { Connections, pipelinedAction } from './connections.js';
import { PAGE_METHODS, PIPE_METHODS, preflightHeaders, receiverHeaders, sessionOf, textHeaders } from './headers.js';
import { HEARTBEAT_HEADER } from '../wire.js';
import { createRelayMetrics, type PipeOutcome, type Rejection, type RelayMetrics } from './metrics.js';
import { MetricsEndpoint } from './metrics-endpoint.js';
import type { ResolvedRelayOptions } from './options.js';
import { isBrowserNavigation } from './navigation.js';
import { assetHeaders, pageHeaders, pageHtml, readAsset } from './page.js';
import { baseUrlOf, helpText } from './pages.js';
import type { PartyRequest, PartyResponse } from './party.js';
import { Pump, RelayBuffer, type ByteSource, type PumpEnd } from './pump.js';
import { RequestSource } from './request-source.js';
import { refuse, respondText } from './respond.js';
import { hostProblem } from './request-checks.js';
import { parseTarget, type PipeTarget } from './target.js';

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
  /** A sender's byte path, from its admission: it reads (and holds) what comes early. */
  readonly pump: Pump | undefined;
  /** How long it may wait for its counterpart: the relay's hold, or its `?wait=` when that is shorter. */
  readonly holdMs: number;
  hold: NodeJS.Timeout | undefined;
}

/** Receivers are always HTTP: their responses are the byte path's destination. */
type Receiver = Party<IncomingMessage, ServerResponse>;
type Sender = Party & { readonly pump: Pump };

type PipeState = 'waiting' | 'streaming' | 'ended';

interface Pipe {
  readonly name: string;
  readonly receiversWanted: number;
  readonly createdAt: number;
  state: PipeState;
  sender: Sender | undefined;
  receivers: Receiver[];
  /** Bytes delivered to the receivers. */
  bytes: number;
  startedAt: number;
  /** Sweeps in a row that saw no byte move; see `sweep`. */
  idleSweeps: number;
  bytesAtLastSweep: number;
  /** Sweeps since the pipe started, for the sender's heartbeat. */
  sweeps: number;
  /** The sender is being checked for life before the pipe starts (see `#confirmThenStart`). */
  confirming: boolean;
  outcome: PipeOutcome | undefined;
}

const SWEEP_MS = 1_000;
/** A sender with a session id gets a line every this many sweeps (HEARTBEAT_MS). */
const HEARTBEAT_SWEEPS = 2;
const HEARTBEAT_MS = HEARTBEAT_SWEEPS * SWEEP_MS;
/** How long a torn-down sender may take to read its last status line before its socket is closed. */
const SENDER_LINGER_MS = 250;
/**
 * Before a receiver is told 200 by a sender the relay has held back (so cannot see its FIN), the sender
 * is probed, and probed again this much later: a peer that is gone answers the first probe with a reset
 * (about one round trip), on which the second write fails. A quarter second covers round trips across
 * continents; it is paid only when a sender sent more than its buffer before anyone came.
 */
const CONFIRM_MS = 250;
/** After the second probe, time for its failure to be reported (it is, on the next turns of the loop). */
const CONFIRM_SETTLE_MS = 25;
/**
 * The pipe: a registry of named pipes, each a small state machine (waiting → streaming → ended), and the
 * HTTP handler that moves requests through it. It knows nothing of listening; see server.ts.
 */
export class RelayHandler {
  readonly metrics: RelayMetrics;
  readonly clients: Clients;
  readonly #options: ResolvedRelayOptions;
  readonly #pipes = new Map<string, Pipe>();
  readonly #partiesPerClient = new Map<string, number>();
  readonly #connections = new Connections();
  readonly #buffer: RelayBuffer;
  readonly #secure: boolean;
  /** Names are secrets: the access log identifies a pipe by a salted hash, unlinkable across restarts. */
  readonly #logSalt = randomBytes(16);
  readonly #metricsEndpoint: MetricsEndpoint;
  #streaming = 0;
  #endedBytes = 0;
  #closing = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #streamingDrained: (() => void) | undefined;

  constructor(options: ResolvedRelayOptions) {
    this.#options = options;
    this.#secure = options.tls !== undefined;
    this.#buffer = new RelayBuffer(options.relayBufferBytes);
    this.clients = new Clients(options);
    this.metrics = createRelayMetrics({
      waiting: () => this.#pipes.size - this.#streaming,
      streaming: () => this.#streaming,
      relayedBytes: () => {
        let bytes = this.#endedBytes;
        for (const pipe of this.#pipes.values()) bytes += pipe.bytes;
        return bytes;
      },
      bufferedBytes: () => this.#buffer.held,
    });
    this.#metricsEndpoint = new MetricsEndpoint(this.metrics, options.metricsToken);
  }

  get waitingCount(): number {
    return this.#pipes.size - this.#streaming;
  }

  get streamingCount(): number {
    return this.#streaming;
  }

  /** Bytes the pipes hold for their receivers, as counted against `relayBufferBytes`. */
  get bufferedBytes(): number {
    return this.#buffer.held;
  }

  /** The `request` listener. */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.#route(req, res, false);
  };

  /** The `checkContinue` listener: a sender is refused before it sends a byte, or told to go ahead. */
  readonly handleCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    this.#route(req, res, true);
  };

  /** The `checkExpectation` listener: an `Expect` other than 100-continue. */
  readonly handleCheckExpectation = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#pipelined(req, res)) return;
    this.#refuse(req, res, 417, 'the only expectation this relay meets is Expect: 100-continue', 'bad-request', { connection: 'close' });
  };

  /** The listener of the separate metrics listener (`listenMetrics`): /metrics, and nothing else. */
  readonly handleMetricsRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const target = parseTarget(req.url ?? '/', this.#options.maxReceivers);
    if (target.kind !== 'page' || target.page !== 'metrics') return this.#refuse(req, res, 404, 'this listener serves /metrics only', 'not-found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.#refuse(req, res, 405, `${req.method} is not allowed here`, 'method', { allow: PAGE_METHODS });
    this.#metrics(req, res);
  };

  /** Whether this connection still owes a response: a request on it now would be pipelined. */
  owesResponse(socket: Socket): boolean {
    return this.#connections.peek(socket)?.response !== undefined;
  }

  /**
   * A parse error on a connection whose response has already started (a sender's chunked body broke
   * after its 200): no raw error response may be written into that response. A sender is told why in
   * its own response, then the connection is closed. Returns false when no response has started, so the
   * caller answers with a raw refusal.
   */
  handleBrokenRequest(socket: Socket, reason: string): boolean {
    const response = this.#connections.peek(socket)?.response;
    if (response === undefined || !response.headersSent) return false;
    const pipe = this.#streamingPipeOfSender(socket);
    const sender = pipe?.sender;
    if (pipe === undefined || sender === undefined || sender.res.writableEnded) {
      socket.destroy();
      return true;
    }
    // Node counts the request as over once its response ends, so the pipe ends here, not on a request
    // event: the receivers get an incomplete body, the sender the reason.
    pipe.outcome ??= 'sender-aborted';
    const close = (): void => {
      socket.destroy();
    };
    sender.res.tearingDown?.();
    sender.res.end(`[ERROR] ${reason}; the receivers were cut off after ${pipe.bytes} bytes\n`, close);
    setTimeout(close, SENDER_LINGER_MS).unref();
    sender.pump.abort();
    this.#end(pipe, pipe.outcome);
    return true;
  }

  #streamingPipeOfSender(socket: Socket): Pipe | undefined {
    for (const pipe of this.#pipes.values()) if (pipe.state === 'streaming' && pipe.sender?.req.socket === socket) return pipe;
    return undefined;
  }

  /**
   * A sender that did not come as PUT/POST (the WebSocket bridge): the same rules, limits and state
   * machine, with stand-ins that carry the status lines, and its own source of bytes.
   */
  acceptSender(upgrade: IncomingMessage, req: PartyRequest, res: PartyResponse, source: ByteSource, target: PipeTarget): void {
    if (this.#closing) return this.#refuse(req, res, 503, 'the relay is shutting down', 'shutdown');
    this.#sender(req, res, source, this.clients.of(upgrade), target, false);
  }

  /**
   * HTTP pipelining is refused: a request sent before the answer to the one before it gets none of the
   * relay's work. Node would parse and queue every such request (20,000 pipelined on one connection
   * froze a relay whose answers were asynchronous); see `pipelinedAction` for what is done instead.
   * Returns true when `req` was pipelined (and dealt with).
   */
  #pipelined(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#connections.owe(req.socket, res)) return false;
    switch (pipelinedAction(this.#connections.of(req.socket))) {
      case 'close':
        this.metrics.rejected('pipelined');
        req.socket.destroy();
        break;
      case 'refuse':
        req.socket.pause();
        this.#refuse(req, res, 400, 'send one request at a time: this relay does not answer pipelined requests', 'pipelined', { connection: 'close' });
        break;
      case 'ignore':
        break;
    }
    return true;
  }

  #route(req: IncomingMessage, res: ServerResponse, awaitsContinue: boolean): void {
    if (this.#pipelined(req, res)) return;
    if (this.#closing) return this.#refuse(req, res, 503, 'the relay is shutting down', 'shutdown');
    const badHost = hostProblem(req);
    if (badHost !== undefined) return this.#refuse(req, res, 400, badHost, 'bad-request', { connection: 'close' });
    const target = parseTarget(req.url ?? '/', this.#options.maxReceivers);
    const method = req.method ?? 'GET';
    switch (target.kind) {
      case 'invalid':
        return this.#refuse(req, res, 400, target.reason, 'bad-request');
      case 'not-found':
        return this.#notFound(req, res);
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
        switch (method) {
          case 'GET':
            if (hasBody(req)) {
              // Its body would go unread, and an unread connection hides its peer leaving: the name would
              // stay taken after the receiver is gone.
              return this.#refuse(req, res, 400, 'a receiver sends no body: GET without Content-Length or Transfer-Encoding', 'bad-request');
            }
            if (awaitsContinue) res.writeContinue();
            // A browser opening the pipe URL gets the listen page, which takes no slot: its own GET
            // would be thrown away by the browser and take the call with it (navigation.ts).
            if (isBrowserNavigation(req.headers)) return this.#listenPage(req, res);
            return this.#receiver(req, res, target);
          case 'PUT':
          case 'POST':
            return this.#sender(req, res, new RequestSource(req, res, this.clients.fromTrustedProxy(req.socket)), this.clients.of(req), target, awaitsContinue);
          case 'OPTIONS':
            res.writeHead(204, preflightHeaders());
            res.end();
            return;
          default:
            return this.#refuse(req, res, 405, `${method} is not allowed on a pipe`, 'method', { allow: PIPE_METHODS });
        }
    }
  }

  #notFound(req: IncomingMessage, res: ServerResponse): void {
    this.#refuse(req, res, 404, 'no such page; pipes are at /api/v1/pipe/NAME', 'not-found');
  }

  #page(page: 'help' | 'healthz' | 'metrics', req: IncomingMessage, res: ServerResponse): void {
    if (page === 'metrics') {
      // Not public unless asked for: pipe counts tell when calls start, the process metrics fingerprint it.
      if (!this.#metricsEndpoint.onRelayListener) return this.#notFound(req, res);
      return this.#metrics(req, res);
    }
    if (page === 'help' && isBrowserNavigation(req.headers)) return this.#listenPage(req, res);
    respondText(res, 200, page === 'healthz' ? 'ok\n' : helpText(baseUrlOf(req, this.#secure)));
  }

  #metrics(req: IncomingMessage, res: ServerResponse): void {
    if (!this.#metricsEndpoint.authorized(req)) {
      return this.#refuse(req, res, 401, 'metrics need Authorization: Bearer <token>', 'bad-request', {
        'www-authenticate': 'Bearer realm="hoodycall metrics"',
      });
    }
    this.#metricsEndpoint.send(req, res);
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

  #sender(
    req: PartyRequest,
    res: PartyResponse,
    source: ByteSource,
    client: string,
    target: PipeTarget,
    awaitsContinue: boolean,
  ): void {
    const { name, receivers: receiversWanted } = target;
    if (req.headers['content-range'] !== undefined) {
      return this.#refuse(req, res, 400, 'Content-Range is not supported: a pipe streams from the first byte', 'bad-request');
    }
    let existing = this.#pipes.get(name);
    if (existing?.sender !== undefined) {
      if (!this.#isSameCaller(existing.sender, req)) return this.#refuse(req, res, 409, 'this pipe already has a sender', 'busy');
      this.#replace(existing, existing.sender);
      existing = this.#pipes.get(name);
    }
    if (existing !== undefined && existing.receiversWanted !== receiversWanted) return this.#mismatch(existing, req, res, receiversWanted);
    const party = this.#admit(req, res, client, existing, awaitsContinue, source, target.waitMs);
    if (party === undefined) return;
    const pipe = existing ?? this.#create(name, receiversWanted);
    pipe.sender = party as Sender;
    this.#await(pipe, party);
  }

  #receiver(req: IncomingMessage, res: ServerResponse, target: PipeTarget): void {
    const { name, receivers: receiversWanted } = target;
    if (req.headers['service-worker'] !== undefined) {
      return this.#refuse(req, res, 400, 'a pipe cannot be a service worker script', 'bad-request');
    }
    let existing = this.#pipes.get(name);
    if (existing !== undefined) {
      const earlier = existing.receivers.find((receiver) => this.#isSameCaller(receiver, req));
      if (earlier !== undefined) {
        this.#replace(existing, earlier);
        existing = this.#pipes.get(name);
      } else if (existing.state !== 'waiting' || existing.receivers.length >= existing.receiversWanted) {
        const who = existing.receiversWanted === 1 ? 'a receiver' : `its ${existing.receiversWanted} receivers`;
        return this.#refuse(req, res, 409, `this pipe already has ${who}`, 'busy');
      }
    }
    if (existing !== undefined && existing.receiversWanted !== receiversWanted) return this.#mismatch(existing, req, res, receiversWanted);
    const party = this.#admit<IncomingMessage, ServerResponse>(req, res, this.clients.of(req), existing, false, undefined, target.waitMs);
    if (party === undefined) return;
    const pipe = existing ?? this.#create(name, receiversWanted);
    pipe.receivers.push(party);
    this.#await(pipe, party);
  }

  /**
   * A side with another `n` than the waiting pipe's. Refusing it alone would let anyone learn that a name
   * is in use without taking it (`?n=2` on a pipe of 1: 400, on a free name: held), unnoticed by the
   * parties. Instead the pipe is closed for everyone waiting on it, as loudly as a stranger joining it:
   * its parties are told why. (A side of a pipe already full or streaming got 409 before this, like any.)
   */
  #mismatch(pipe: Pipe, req: PartyRequest, res: PartyResponse, receiversWanted: number): void {
    const reason = `another side came to this pipe with n=${receiversWanted}, it was opened with n=${pipe.receiversWanted}; every side must give the same n`;
    for (const party of [pipe.sender, ...pipe.receivers]) {
      if (party === undefined) continue;
      this.#leaveWaiting(pipe, party, 'mismatch');
      this.#refuse(party.req, party.res, 400, reason, 'receivers-mismatch');
    }
    this.#refuse(req, res, 400, reason, 'receivers-mismatch');
  }

  /** Applies the limits; returns the new party, or undefined when it was refused. */
  #admit<Req extends PartyRequest, Res extends PartyResponse>(
    req: Req,
    res: Res,
    client: string,
    existing: Pipe | undefined,
    awaitsContinue: boolean,
    source: ByteSource | undefined,
    waitMs: number | undefined,
  ): Party<Req, Res> | undefined {
    const held = this.#partiesPerClient.get(client) ?? 0;
    if (held >= this.#options.maxPipesPerClient) {
      this.#refuse(req, res, 429, `your address holds its limit of ${this.#options.maxPipesPerClient} pipe ends; close some first`, 'client-limit', {
        'retry-after': '10',
      });
      return undefined;
    }
    if (existing === undefined && this.#pipes.size >= this.#options.maxPipes && !this.#makeRoom(client)) {
      this.#refuse(req, res, 503, `the relay holds its limit of ${this.#options.maxPipes} pipes; try again later`, 'relay-limit', {
        'retry-after': '10',
      });
      return undefined;
    }
    this.#partiesPerClient.set(client, held + 1);
    const connection = this.#connections.peek(req.socket);
    if (connection !== undefined) connection.pipeSide = true;
    const pump = source === undefined ? undefined : new Pump(source, this.#options.pipeBufferBytes, this.#buffer);
    const holdMs = Math.min(this.#options.holdMs, waitMs ?? Infinity);
    return { req, res, client, awaitsContinue, session: sessionOf(req.headers), pump, holdMs, hold: undefined };
  }

  /**
   * The fair share of a full relay: a newcomer takes the place of the oldest waiting pipe of the client
   * holding the most pipe ends, when that client holds more than one end more than the newcomer. So a
   * few addresses cannot keep everyone else out by filling `maxPipes` with waiting pipes; streaming
   * pipes (calls) are never taken. Returns whether a place was made.
   */
  #makeRoom(newcomer: string): boolean {
    const mine = this.#partiesPerClient.get(newcomer) ?? 0;
    let heaviest: string | undefined;
    let most = 0;
    for (const [client, held] of this.#partiesPerClient) {
      if (held > most) {
        most = held;
        heaviest = client;
      }
    }
    if (heaviest === undefined || most <= mine + 1) return false;
    for (const pipe of this.#pipes.values()) {
      if (pipe.state !== 'waiting' || pipe.confirming) continue;
      const parties: Party[] = [...(pipe.sender === undefined ? [] : [pipe.sender]), ...pipe.receivers];
      if (parties.length === 0 || !parties.every((party) => party.client === heaviest)) continue;
      for (const party of parties) {
        this.#leaveWaiting(pipe, party, 'evicted');
        this.#refuse(party.req, party.res, 503, 'the relay is full, and your address holds the most pipes: this one gave its place to another client', 'relay-limit', {
          'retry-after': '10',
        });
      }
      return true;
    }
    return false;
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
    pipe.sender?.pump.abort();
    this.#end(pipe, 'replaced');
    for (const each of parties) each?.res.destroy();
  }

  #release(party: Party): void {
    if (party.hold !== undefined) clearTimeout(party.hold);
    party.hold = undefined;
    party.pump?.release();
    const connection = this.#connections.peek(party.req.socket);
    if (connection !== undefined) connection.pipeSide = false;
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
      confirming: false,
      outcome: undefined,
    };
    this.#pipes.set(name, pipe);
    this.#ensureSweep();
    return pipe;
  }

  /** Holds the party until its counterpart comes, and starts the pipe when this party completes it. */
  #await(pipe: Pipe, party: Party): void {
    party.hold = setTimeout(() => this.#expire(pipe, party), party.holdMs);
    party.res.once('close', () => {
      if (pipe.state === 'waiting') this.#leaveWaiting(pipe, party, 'left-waiting');
    });
    const sender = pipe.sender;
    if (sender === undefined || pipe.receivers.length < pipe.receiversWanted || pipe.confirming) return;
    if (sender.pump.paused) this.#confirmThenStart(pipe, sender);
    else this.#start(pipe, sender);
  }

  /**
   * A sender the relay holds back (it sent more than its buffer before anyone came) is not read, so a
   * FIN from it goes unseen, and the periodic probe notices its departure only within a second or two.
   * A receiver arriving in that window must not get a 200 and then a cut stream: the sender is probed
   * now and again CONFIRM_MS later, and the pipe starts only if it is still there.
   */
  #confirmThenStart(pipe: Pipe, sender: Sender): void {
    pipe.confirming = true;
    sender.pump.probe();
    setTimeout(() => {
      if (pipe.sender === sender) sender.pump.probe();
      setTimeout(() => {
        pipe.confirming = false;
        if (pipe.state !== 'waiting') return;
        const current = pipe.sender;
        if (current !== undefined && pipe.receivers.length === pipe.receiversWanted) this.#start(pipe, current);
      }, CONFIRM_SETTLE_MS);
    }, CONFIRM_MS);
  }

  #expire(pipe: Pipe, party: Party): void {
    if (pipe.state !== 'waiting') return;
    const seconds = Math.round(party.holdMs / 100) / 10;
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

  #start(pipe: Pipe, sender: Sender): void {
    pipe.state = 'streaming';
    pipe.startedAt = Date.now();
    this.#streaming += 1;
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
    sender.pump.connect(
      pipe.receivers.map((receiver) => receiver.res),
      {
        delivered: (bytes) => {
          pipe.bytes += bytes;
        },
        receiverLeft: (remaining) => {
          if (!sender.res.writableEnded) sender.res.write(`[INFO] a receiver left; ${remaining} remain\n`);
        },
        ended: (how) => this.#pumpEnded(pipe, sender, how),
      },
    );
  }

  #pumpEnded(pipe: Pipe, sender: Sender, how: PumpEnd): void {
    switch (how) {
      case 'done':
        if (!sender.res.writableEnded) sender.res.end(`[INFO] done, ${pipe.bytes} bytes\n`);
        return this.#end(pipe, 'done');
      case 'receivers-left':
        this.#tellSender(pipe, sender, 'receiver-left');
        return this.#end(pipe, pipe.outcome ?? 'receiver-left');
      case 'sender-aborted':
        // The sender vanished, or its body broke. The receivers' responses were destroyed, not ended:
        // they see an incomplete body, never a clean end.
        if (!sender.res.writableEnded) sender.res.destroy();
        return this.#end(pipe, pipe.outcome ?? 'sender-aborted');
    }
  }

  /**
   * Tears the sender down with the reason as the last line of its response, then closes its socket:
   * after the reason is flushed, or after a short linger if it cannot be.
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
    sender.res.tearingDown?.();
    sender.res.end(text, close);
    setTimeout(close, SENDER_LINGER_MS).unref();
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
    try {
      this.#options.log(
        `${new Date(now).toISOString()} pipe ${id} n=${pipe.receiversWanted} bytes=${pipe.bytes} ` +
          `waited=${waited.toFixed(1)}s streamed=${streamed.toFixed(1)}s outcome=${outcome}`,
      );
    } catch {
      // The log is a convenience; a logger that fails (a closed stderr) must not take a call down.
    }
  }

  #refuse(req: PartyRequest, res: PartyResponse, status: number, reason: string, rejection: Rejection, headers: OutgoingHttpHeaders = {}): void {
    this.metrics.rejected(rejection);
    if (headers.connection === 'close') {
      const connection = this.#connections.peek(req.socket);
      if (connection !== undefined) connection.closing = true;
    }
    refuse(req, res, status, reason, headers);
  }

  /** The once-a-second sweep runs while there is any pipe: idle pipes, heartbeats, held-back senders. */
  #ensureSweep(): void {
    if (this.#sweepTimer !== undefined) return;
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweepTimer.unref();
  }

  /**
   * A dead peer (a half-open connection on a dropped link) would hold its name until TCP gives up, up to
   * 15 minutes. A pipe whose byte count has not moved for `idleTimeoutMs` is aborted instead. A waiting
   * sender held back is probed (see `Pump.probe`), so that its departure is noticed. Counting sweeps
   * keeps the byte path free of timers.
   */
  #sweep(): void {
    const limit = this.#options.idleTimeoutMs === 0 ? Infinity : Math.ceil(this.#options.idleTimeoutMs / SWEEP_MS);
    for (const pipe of this.#pipes.values()) {
      if (pipe.state === 'waiting') {
        if (pipe.sender?.pump.paused === true) pipe.sender.pump.probe();
        continue;
      }
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
    if (this.#pipes.size === 0) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
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
    pipe.outcome ??= outcome;
    const sender = pipe.sender;
    if (sender !== undefined) {
      this.#tellSender(pipe, sender, outcome);
      sender.pump.abort();
    }
    for (const receiver of pipe.receivers) receiver.res.destroy();
    this.#end(pipe, pipe.outcome);
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
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
  }
}

/** A request that announces a body: a Content-Length above 0, or any Transfer-Encoding. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}
