import type { OpusOptions } from '../audio/args.js';
import { DEFAULT_MAX_DELAY_MS } from '../audio/catch-up.js';
import type { ListenerOptions } from '../session/listener.js';
import type { TalkerOptions } from '../session/talker.js';
import { DEFAULT_WAIT_SECONDS, generatePipeName, pipeUrl, PUBLIC_SERVER, resolveServer } from '../client/index.js';
import { CODE_PREFIX, generateCode, MAX_WAIT_SECONDS, openCode, type SealedCall, secretCode } from '../wire.js';
import { CliError, ExitCode } from './exit-codes.js';

/**
 * From the command line to what a call needs: pure functions of the flags and the environment,
 * tested as tables (test/cli/plan.test.ts). Side effects (ffmpeg, devices, the network) stay in the
 * commands.
 */

export interface Where {
  readonly server: URL;
  /** The pipe (talk, listen) or the room (call). */
  readonly name: string;
  /** Whether we made the name up (then the other side must be told it). */
  readonly generated: boolean;
  /** The pipe's URL as people share it (no query). */
  readonly url: URL;
  /** A sealed call: its code (what people share) and what the code opens; `name` is the pipe derived from it. */
  readonly secret?: { readonly code: string; readonly call: SealedCall } | undefined;
}

/** `--server`, HOODYCALL_SERVER, the public pipe; the name given, or a fresh unguessable one. */
export function where(name: string | undefined, flags: { readonly server?: string | undefined }, env: NodeJS.ProcessEnv, makeName: () => string = generatePipeName): Where {
  const server = resolveServer(flags.server, env);
  const chosen = name ?? makeName();
  return { server, name: chosen, generated: name === undefined, url: pipeUrl(server, chosen) };
}

/**
 * `where`, for commands that can seal: a NAME shaped like a code (`sealed-…`) is one, and `--secret`
 * without a NAME makes a fresh one. The relay then sees only the pipe derived from the code.
 */
export async function sealableWhere(
  name: string | undefined,
  flags: { readonly server?: string | undefined; readonly secret?: boolean | undefined },
  env: NodeJS.ProcessEnv,
  makeName: () => string = generatePipeName,
  makeCode: () => string = generateCode,
): Promise<Where> {
  const code = name === undefined ? (flags.secret === true ? makeCode() : undefined) : secretCode(name);
  if (code === undefined) {
    // A code mistyped must not become a plain (unsealed) call on a pipe of that name.
    if (name !== undefined && name.trim().toLowerCase().startsWith(CODE_PREFIX)) {
      throw new CliError(`${name} is not a whole sealed call code (${CODE_PREFIX} and seven groups of four of 0-9 a-z, no i l o u): check it`, ExitCode.usage);
    }
    if (flags.secret === true) throw new CliError(`--secret takes a code (sealed-…), not the pipe name ${name ?? ''}: leave the name out for a new code`, ExitCode.usage);
    return where(name, flags, env, makeName);
  }
  const call = await openCode(code);
  const server = resolveServer(flags.server, env);
  return { server, name: call.pipeName, generated: name === undefined, url: pipeUrl(server, call.pipeName), secret: { code, call } };
}

/** What status lines call the place: the pipe, or for a sealed call that it is one (its pipe name means nothing to people). */
export function placeName(at: Where): string {
  return at.secret === undefined ? at.name : 'the sealed call';
}

/** The `--secret` option's help, for talk, call and echo. */
export const SECRET_HELP = 'seal the call end to end: the relay carries only ciphertext; a new code is printed (or give one as NAME)';

/** `--wait`: how long a side waits for the other, s. */
export function waitOf(flags: { readonly wait?: number | undefined }): number {
  return flags.wait ?? DEFAULT_WAIT_SECONDS;
}

/** "5 min", "90 s": the hold as the status line says it. */
export function holdText(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** The `--wait` option's help, for every command that dials. */
export const WAIT_HELP = `how long to wait for the other side, in seconds (1–${MAX_WAIT_SECONDS}; default ${DEFAULT_WAIT_SECONDS}: the relay holds a call this long)`;

export function opusOf(flags: { readonly bitrate?: number | undefined; readonly lowLatency?: boolean | undefined }): OpusOptions {
  return { ...(flags.bitrate === undefined ? {} : { bitrateKbps: flags.bitrate }), lowLatency: flags.lowLatency === true };
}

/** The flags every dialing side has: `--no-reconnect`, `--wait`. */
interface DialFlags {
  readonly reconnect?: boolean | undefined;
  readonly wait?: number | undefined;
}

/** Where one side dials: a pipe's URL and name (talk and listen: the one pipe; call: one of the room's two). */
export interface PipeAt {
  readonly url: URL;
  readonly name: string;
}

/**
 * A talking side's options (talk, call) from its flags and what the command found (ffmpeg, the
 * capture source): one place, so talk and call cannot drift apart.
 */
export function talkerOptions(
  flags: DialFlags & { readonly bitrate?: number | undefined; readonly lowLatency?: boolean | undefined },
  found: Pick<TalkerOptions, 'ffmpegPath' | 'source' | 'stdinAudio'>,
  pipe: PipeAt,
  signal: AbortSignal,
  /** A status line that shows the level meter. */
  live: boolean,
): TalkerOptions {
  return {
    ...found,
    opus: opusOf(flags),
    url: pipe.url,
    name: pipe.name,
    signal,
    reconnect: flags.reconnect !== false,
    waitSeconds: waitOf(flags),
    meter: live && found.source.kind === 'device',
  };
}

/** A listening side's options (listen, call) from its flags and what the command found (ffmpeg, the playback target). */
export function listenerOptions(
  flags: DialFlags & { readonly output?: string | undefined; readonly maxDelay?: number | undefined },
  found: Pick<ListenerOptions, 'ffmpegPath' | 'target'>,
  pipe: PipeAt,
  signal: AbortSignal,
): ListenerOptions {
  return {
    ...found,
    decoderStdout: flags.output === '-' ? 'inherit' : 'ignore',
    url: pipe.url,
    name: pipe.name,
    signal,
    reconnect: flags.reconnect !== false,
    waitSeconds: waitOf(flags),
    maxDelayMs: flags.maxDelay ?? DEFAULT_MAX_DELAY_MS,
  };
}

/** Push-to-talk starts with the microphone closed, as `--mute` does. */
export function startsMuted(flags: { readonly mute?: boolean | undefined; readonly pushToTalk?: boolean | undefined }): boolean {
  return flags.mute === true || flags.pushToTalk === true;
}

/** ` --server ORIGIN` for a command line the other side runs; nothing for the public pipe, their default too. */
export function serverFlag(server: URL): string {
  return server.href === new URL(PUBLIC_SERVER).href ? '' : ` --server ${server.origin}`;
}

/**
 * What the other side of a talk needs, whoever chose the name: the `hoodycall listen` line, the
 * plain `curl | mpv` line, and the relay's page (`/#NAME`: the name stays out of request lines and
 * logs), which plays it after one click.
 */
export function shareLines(at: Where): string {
  const base = at.url.href.slice(0, at.url.href.lastIndexOf('api/v1/pipe/'));
  if (at.secret !== undefined) {
    // The code goes in the fragment, which a browser never sends: the relay sees only the derived pipe.
    return [
      'The other side runs one of:',
      `  hoodycall listen ${at.secret.code}${serverFlag(at.server)}`,
      `  or opens ${base}#${at.secret.code} in a browser and presses Listen`,
      'The call is sealed end to end: the relay carries only ciphertext, which curl | mpv or any plain player cannot play.',
      '',
    ].join('\n');
  }
  return [
    'The other side runs one of:',
    `  hoodycall listen ${at.name}${serverFlag(at.server)}`,
    `  curl -sN ${at.url.href} | mpv --no-video -`,
    `  or opens ${base}#${at.name} in a browser and presses Listen`,
    '',
  ].join('\n');
}

/** What the other side of a call runs. */
export function callShareLines(at: Where): string {
  const sealed = at.secret === undefined ? '' : 'The call is sealed end to end: the relay carries only ciphertext.\n';
  return `The other side runs:\n  hoodycall call ${at.secret?.code ?? at.name}${serverFlag(at.server)}\n${sealed}\n`;
}
