import { PipeError } from '../client/index.js';
import type { CallEnd } from '../session/ends.js';
import { RoomFullError } from '../session/room.js';
import { type CallCommand, type EndFacts, ending } from './ends.js';
import { CliError } from './exit-codes.js';
import type { HangUpSignal } from './hang-up.js';
import type { Status } from './status.js';

/** Says how the call ended: a success line, or throws the one-line error with its exit code. */
export function conclude(status: Status, command: CallCommand, end: CallEnd, facts: EndFacts): void {
  const result = ending(command, end, facts);
  if (!result.error) {
    status.done(result.line);
    return;
  }
  status.stop();
  throw new CliError(result.line, result.exitCode);
}

/**
 * A dial that failed (before the call began), as the call's end: hung up while waiting, refused, a
 * full room. Anything else is not a call's end and is thrown on.
 */
export function endOfDial(error: unknown, hangUp: HangUpSignal): CallEnd {
  if (hangUp.requested) return { kind: 'interrupted' };
  if (error instanceof RoomFullError) return { kind: 'room-full' };
  if (error instanceof PipeError) return { kind: 'refused', error };
  throw error;
}
