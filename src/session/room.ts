import { PipeError } from '../client/index.js';
import type { CallEnd } from './ends.js';
import type { ListenEnd, Listener } from './listener.js';
import type { TalkEnd, Talker } from './talker.js';

/**
 * A two-way call in a room: two pipes, `ROOM/a` and `ROOM/b`. The first to arrive talks on `a` and
 * listens on `b`; the second finds `a` taken (busy, in any relay's dialect) and takes the mirror
 * roles. No server state beyond the two pipes, so it works on any relay of the pipe API.
 */
export type Role = 'a' | 'b';

export const otherRole = (role: Role): Role => (role === 'a' ? 'b' : 'a');

/** The pipe one side talks on. */
export const pipeOf = (room: string, role: Role): string => `${room}/${role}`;

/** Hang-up signals of one side's two directions: the talker's first, the listener's a moment later. */
export interface SideSignals {
  readonly talk: AbortSignal;
  readonly listen: AbortSignal;
}

export interface RoomOptions {
  readonly room: string;
  /** Hanging up the call: while waiting, or during the call (both directions end). */
  readonly signal: AbortSignal;
  /** Builds this side's talker (on ROOM/role) and listener (on the other pipe). */
  readonly sides: (role: Role, signals: SideSignals) => { readonly talker: Talker; readonly listener: Listener };
}

/** A room joined: our role, and both directions running. */
export interface JoinedRoom {
  readonly role: Role;
  readonly talker: Talker;
  readonly listener: Listener;
  /** The listener's run, already started (it dialed while the talker did). */
  readonly listening: Promise<ListenEnd>;
}

/**
 * After our talker's stream has ended, the other side's listener sees a clean end (a hang-up) before
 * our listener's connection goes: so they know this is not a drop.
 */
const LISTENER_LINGER_MS = 300;

/** One side's two hang-up switches, both thrown by the call's own signal. */
function sideSignals(call: AbortSignal): { signals: SideSignals; hangUp(): void } {
  const talk = new AbortController();
  const listen = new AbortController();
  const hangUp = (): void => {
    if (talk.signal.aborted) return;
    talk.abort();
    setTimeout(() => listen.abort(), LISTENER_LINGER_MS).unref();
  };
  if (call.aborted) hangUp();
  else call.addEventListener('abort', hangUp, { once: true });
  return { signals: { talk: talk.signal, listen: listen.signal }, hangUp };
}

/**
 * Takes a role in the room: resolves once the other person is there (our talker's go-ahead), or
 * throws — a PipeError, RoomFullError, or the abort's error when hung up while waiting.
 */
export async function joinRoom(options: RoomOptions): Promise<JoinedRoom & { hangUp(): void }> {
  const first = sideSignals(options.signal);
  const tryAsA = options.sides('a', first.signals);
  // A busy ROOM/b is dialed again: the other person may still be switching roles away from it.
  const listeningAsA = tryAsA.listener.run(['busy']);
  listeningAsA.catch(() => undefined);
  try {
    await tryAsA.talker.connect();
    return { role: 'a', ...tryAsA, listening: listeningAsA, hangUp: first.hangUp };
  } catch (error) {
    // Whatever happens next, this attempt's listener is done: its GET must be gone before we talk on
    // ROOM/b, or our own talker could meet it.
    first.hangUp();
    await listeningAsA.catch(() => undefined);
    if (!isBusy(error) || options.signal.aborted) throw error;
  }
  const second = sideSignals(options.signal);
  const asB = options.sides('b', second.signals);
  const listeningAsB = asB.listener.run(['busy']);
  listeningAsB.catch(() => undefined);
  try {
    await asB.talker.connect(['busy']);
  } catch (error) {
    second.hangUp();
    await listeningAsB.catch(() => undefined);
    // Both pipes of the room stay taken: two people are in it already.
    if (isBusy(error)) throw new RoomFullError(options.room);
    throw error;
  }
  return { role: 'b', ...asB, listening: listeningAsB, hangUp: second.hangUp };
}

/** Runs a joined call until either direction ends; the other is then hung up too. */
export async function runRoomCall(joined: JoinedRoom & { hangUp(): void }, hungUp: () => boolean): Promise<CallEnd> {
  const talking = joined.talker.run();
  talking.catch(() => undefined);
  let first: { side: 'talk'; end: TalkEnd } | { side: 'listen'; end: ListenEnd };
  try {
    first = await Promise.race([
      talking.then((end) => ({ side: 'talk' as const, end })),
      joined.listening.then((end) => ({ side: 'listen' as const, end })),
    ]);
  } finally {
    joined.hangUp();
  }
  const [talkEnd, listenEnd] = await Promise.all([talking, joined.listening]);
  if (talkEnd.kind === 'audio-failed') return talkEnd;
  if (listenEnd.kind === 'audio-failed' || listenEnd.kind === 'not-audio' || listenEnd.kind === 'unauthenticated') return listenEnd;
  if (hungUp()) return { kind: 'hung-up' };
  const end = first.end;
  switch (end.kind) {
    case 'finished':
      // Their stream ended cleanly (they hung up), or our own input ended.
      return first.side === 'listen' ? { kind: 'other-hung-up' } : { kind: 'finished' };
    case 'listener-left':
      return { kind: 'other-hung-up' };
    case 'hung-up':
      return { kind: 'hung-up' };
    case 'lost':
      return { kind: 'cut', error: end.error };
    default:
      return end;
  }
}

export class RoomFullError extends Error {
  override readonly name = 'RoomFullError';
  constructor(readonly room: string) {
    super(`the room ${room} is full: two people are in a call there`);
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof PipeError && error.kind === 'busy';
}
