import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { classifyFfmpegFailure, describeFfmpegFailure, type FfmpegFailure, type FfmpegJob } from './failure.js';

export interface FfmpegRun {
  /** ffmpeg's stdin and stdout, when they were asked for as pipes. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** The level-meter tap (fd 3, see meterTapArgs), when asked for. */
  readonly meter: Readable | null;
  readonly pid: number | undefined;
  /** Resolves when ffmpeg exits: clean, or with the cause of its failure. */
  readonly outcome: Promise<FfmpegOutcome>;
  /** Asks ffmpeg to finish (SIGINT: it writes the Ogg trailer); SIGKILL if it has not within `graceMs`. */
  stop(graceMs?: number): void;
}

export type FfmpegOutcome = { readonly ok: true } | { readonly ok: false; readonly failure: FfmpegFailure; readonly message: string };

/** Every ffmpeg (or player) we run, until it exits: killed when this process exits. */
const running = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Runs ffmpeg for one job. Its stderr (errors only, `-loglevel error`) is kept for the message when it
 * fails.
 *
 * ffmpeg runs in a process group of its own (`detached`): a terminal's ctrl-C, or `timeout`'s SIGTERM,
 * goes to the whole foreground group, and ffmpeg would end on it with exit 255 before we could hang up
 * (a clean hang-up read as "ffmpeg failed"). Only we stop it, with `stop()` (SIGINT: it finishes its
 * output; SIGKILL if it has not within `graceMs`). It never outlives us: it is killed when this
 * process exits, and if this process is killed outright, its pipes close under it (a talker's stdout
 * write fails, a decoder's stdin ends) and it exits on its own.
 */
export function runFfmpeg(
  path: string,
  args: readonly string[],
  job: FfmpegJob,
  io: { stdin: 'pipe' | 'ignore'; stdout: 'pipe' | 'inherit' | 'ignore'; meter?: boolean; /** In messages; default `ffmpeg`. */ program?: string },
): FfmpegRun {
  const child = execa(path, args, {
    stdio: io.meter === true ? [io.stdin, io.stdout, 'pipe', 'pipe'] : [io.stdin, io.stdout, 'pipe'],
    buffer: { stdout: false, stderr: true, fd3: false },
    reject: false,
    detached: true,
    forceKillAfterDelay: false,
  });
  killAllOnExit();
  running.add(child);
  void child.finally(() => running.delete(child)).catch(() => undefined);
  let stopping = false;
  // Whether we had asked ffmpeg to stop when it exited: a stop() that comes after a crash must not
  // turn the crash into a clean end.
  let stoppedByUs = false;
  child.once('exit', () => {
    stoppedByUs = stopping;
  });
  const program = io.program ?? 'ffmpeg';
  const outcome = child.then((result): FfmpegOutcome => {
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    // After our SIGINT, ffmpeg finishes its output and exits 255: a clean end of the call.
    if (result.exitCode === 0 || (stoppedByUs && (result.exitCode === 255 || result.signal === 'SIGINT'))) {
      // ffplay reports a speaker it could not open, and exits 0 all the same.
      const failure = io.program === undefined || stderr === '' ? null : classifyFfmpegFailure(stderr, job);
      if (failure?.cause !== 'no-output-device') return { ok: true };
      return { ok: false, failure, message: describeFfmpegFailure(failure, stderr, program) };
    }
    if (result.signal !== undefined && !stoppedByUs) {
      const message = `${program} was killed by ${result.signal}`;
      return { ok: false, failure: classifyFfmpegFailure(`${message}\n${stderr}`, job), message };
    }
    const failure = classifyFfmpegFailure(stderr, job);
    // mpv logs to stdout, not stderr: its exit status is all there is to say.
    if (failure.cause === 'unknown' && stderr.trim() === '') return { ok: false, failure, message: `${program} failed (exit status ${result.exitCode})` };
    return { ok: false, failure, message: describeFfmpegFailure(failure, stderr, program) };
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    meter: io.meter === true ? ((child.stdio[3] as Readable | undefined) ?? null) : null,
    pid: child.pid,
    outcome,
    stop(graceMs = 2_000) {
      if (stopping) return;
      stopping = true;
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
    },
  };
}
