import type { OpusOptions } from '../audio/args.js';
import { DEFAULT_MAX_DELAY_MS } from '../audio/catch-up.js';
import type { ListenerOptions } from '../session/listener.js';
import type { TalkerOptions } from '../session/talker.js';
import { DEFAULT_WAIT_SECONDS, generatePipeName, pipeUrl, PUBLIC_SERVER, resolveServer } from '../client/index.js';
import { MAX_WAIT_SECONDS } from '../wire.js';

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
}

/** `--server`, HOODYCALL_SERVER, the public pipe; the name given, or a fresh unguessable one. */
export function where(name: string | undefined, flags: { readonly server?: string | undefined }, env: NodeJS.ProcessEnv, makeName: () => string = generatePipeName): Where {
  const server = resolveServer(flags.server, env);
  const chosen = name ?? makeName();
  return { server, name: chosen, generated: name === undefined, url: pipeUrl(server, chosen) };
}

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
  return `The other side runs:\n  hoodycall call ${at.name}${serverFlag(at.server)}\n\n`;
}
