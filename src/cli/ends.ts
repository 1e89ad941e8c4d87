import type { PipeErrorKind } from '../client/index.js';
import type { CallEnd } from '../session/ends.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** The commands that make calls. */
export type CallCommand = 'talk' | 'listen' | 'call' | 'echo';

/** What a command knows about its call when it ends, for the last line. */
export interface EndFacts {
  /** The pipe (talk, listen) or the room (call). */
  readonly name: string;
  /** "0:12": how long the call lasted. */
  readonly elapsed: string;
  /** talk: KiB sent. */
  readonly kib?: number | undefined;
  /** echo: the measured delay, ms, when it could be measured. */
  readonly delayMs?: number | undefined;
}

/** How a command ends: its exit code and its last line (a success line, or the `hoodycall: …` error line). */
export interface Ending {
  readonly exitCode: ExitCodeValue;
  readonly line: string;
  /** true: the last line is an error (stderr `hoodycall: …`); false: a success line on the status. */
  readonly error: boolean;
}

/** A failed dial's exit code, by its kind. */
export const EXIT_OF_PIPE_ERROR: Readonly<Record<PipeErrorKind, ExitCodeValue>> = {
  unreachable: ExitCode.serverUnreachable,
  'untrusted-certificate': ExitCode.serverUnreachable,
  silent: ExitCode.serverUnreachable,
  busy: ExitCode.pipeBusy,
  'nobody-came': ExitCode.nobodyCame,
  lost: ExitCode.streamAborted,
  'relay-limit': ExitCode.relayRefused,
  'not-a-pipe': ExitCode.relayRefused,
  redirected: ExitCode.relayRefused,
  refused: ExitCode.relayRefused,
};

type Lines = { readonly [K in CallEnd['kind']]?: (end: Extract<CallEnd, { kind: K }>, facts: EndFacts) => string };

const ok = (line: string): Omit<Ending, 'exitCode'> => ({ line, error: false });

/** The last line of each command for the ends that read differently per command; the rest share COMMON_LINES. */
const LINES: Readonly<Record<CallCommand, Lines>> = {
  talk: {
    finished: (_end, f) => `call ended after ${f.elapsed}, ${f.kib ?? 0} KiB sent`,
    'hung-up': (_end, f) => `hung up after ${f.elapsed}`,
    interrupted: () => 'interrupted before anyone joined',
    'other-hung-up': (_end, f) => `the listener hung up after ${f.elapsed}`,
  },
  listen: {
    finished: (_end, f) => `call ended: the talker hung up after ${f.elapsed}`,
    'other-hung-up': (_end, f) => `call ended: the talker hung up after ${f.elapsed}`,
    'hung-up': (_end, f) => `left ${f.name} after ${f.elapsed}`,
    interrupted: () => 'interrupted before the talker came',
  },
  call: {
    finished: (_end, f) => `call ended after ${f.elapsed}`,
    'hung-up': (_end, f) => `call ended after ${f.elapsed}`,
    'other-hung-up': (_end, f) => `the other side hung up after ${f.elapsed}`,
    interrupted: () => 'interrupted before the other side came',
  },
  echo: {
    finished: (_end, f) => `echo ended after ${f.elapsed}${heard(f)}`,
    'hung-up': (_end, f) => `echo ended after ${f.elapsed}${heard(f)}`,
    'other-hung-up': (_end, f) => `echo ended after ${f.elapsed}${heard(f)}`,
    interrupted: () => 'interrupted before the echo started',
  },
};

function heard(f: EndFacts): string {
  return f.delayMs === undefined ? '' : `; you heard yourself ${Math.round(f.delayMs)} ms late (+ device buffers)`;
}

/**
 * The one table from a call's end to its exit code and last line, for every command. Ends that are a
 * person's choice (hanging up, the other side hanging up, the input ending) exit 0; the rest exit
 * with the code of what went wrong (README, "Exit codes").
 */
export function ending(command: CallCommand, end: CallEnd, facts: EndFacts): Ending {
  const line = LINES[command][end.kind] as ((end: CallEnd, facts: EndFacts) => string) | undefined;
  switch (end.kind) {
    case 'finished':
    case 'hung-up':
    case 'other-hung-up':
      return { exitCode: ExitCode.ok, ...ok(line?.(end, facts) ?? '') };
    case 'interrupted':
      return { exitCode: ExitCode.interrupted, line: line?.(end, facts) ?? 'interrupted', error: true };
    case 'refused':
      return { exitCode: EXIT_OF_PIPE_ERROR[end.error.kind], line: end.error.message, error: true };
    case 'cut':
      return { exitCode: EXIT_OF_PIPE_ERROR[end.error.kind], line: `the call was cut off after ${facts.elapsed}: ${end.error.message}`, error: true };
    case 'room-full':
      return { exitCode: ExitCode.pipeBusy, line: `the room ${facts.name} is full: two people are in a call there`, error: true };
    case 'not-audio':
      return { exitCode: ExitCode.notAudio, line: end.detail, error: true };
    case 'unauthenticated':
      return { exitCode: ExitCode.unauthenticated, line: end.detail, error: true };
    case 'audio-failed': {
      const cause = end.outcome.failure.cause;
      const device = cause === 'no-input-device' || cause === 'no-output-device' || cause === 'backend-unavailable';
      return { exitCode: device ? ExitCode.noAudioDevice : ExitCode.audioEngineFailed, line: end.outcome.message, error: true };
    }
  }
}
