import type { PipeError } from '../client/index.js';
import type { SealFailure } from '../wire.js';
import type { FfmpegFailed } from './talker.js';

/**
 * Every way a call can end, as data: talk, listen, call and echo return one of these, and the CLI
 * maps each to its exit code and last line in one table (cli/ends.ts). No prose is compared anywhere.
 */
export type CallEnd =
  /** Our source ended (a file, a finished input) and the stream ended cleanly with it. */
  | { readonly kind: 'finished' }
  /** We hung up during the call (ctrl-C, SIGTERM). */
  | { readonly kind: 'hung-up' }
  /** We hung up before the other side came. */
  | { readonly kind: 'interrupted' }
  /** The other side hung up: the listener left (talk), the talker's stream ended cleanly (listen), the other person (call). */
  | { readonly kind: 'other-hung-up' }
  /** A dial was refused or failed for good (busy, nobody came, unreachable, a limit …): `error.kind` says which. */
  | { readonly kind: 'refused'; readonly error: PipeError }
  /** The connection was lost and not redialed, or the redials gave up: `error` says why. */
  | { readonly kind: 'cut'; readonly error: PipeError }
  /** `call`: both pipes of the room are taken. */
  | { readonly kind: 'room-full' }
  /** The pipe carries something that is not audio we can play. */
  | { readonly kind: 'not-audio'; readonly detail: string }
  /** A sealed call's stream could not be authenticated (not sealed, another code, changed on the way): never played. */
  | { readonly kind: 'unauthenticated'; readonly failure: SealFailure; readonly detail: string }
  /** ffmpeg (or the player) failed: a device that cannot be opened, a crash. */
  | { readonly kind: 'audio-failed'; readonly outcome: FfmpegFailed };
