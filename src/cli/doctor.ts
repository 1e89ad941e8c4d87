import type { Command } from 'commander';
import got from 'got';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { resolveServer } from '../client/index.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { asCliError } from './failures.js';
import { findExternalPlayer } from '../audio/player.js';

/** Reports what a call would use, one line per fact, and exits with the code of the first problem. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check ffmpeg, Opus, audio devices and the relay')
    .option('--server <url>', 'relay URL to check (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--ffmpeg <path>', 'ffmpeg to check')
    .action(async (flags: { server?: string; ffmpeg?: string }) => doctor(flags));
}

async function doctor(flags: { server?: string; ffmpeg?: string }): Promise<void> {
  const say = (ok: boolean, text: string): void => {
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${text}\n`);
  };
  let firstProblem: { code: ExitCodeValue; message: string } | undefined;
  const problem = (code: ExitCodeValue, message: string): void => {
    say(false, message);
    firstProblem ??= { code, message };
  };

  try {
    const ffmpeg = await locateFfmpeg(flags.ffmpeg === undefined ? {} : { explicitPath: flags.ffmpeg });
    say(true, `ffmpeg ${ffmpeg.version} (${ffmpeg.path}, found via ${ffmpeg.source})`);
    say(true, 'Opus encoder libopus');
    const backends = await detectBackends(ffmpeg);
    say(true, `capture via ${backends.capture}${backends.pulse ? ' (a PulseAudio/PipeWire server answers)' : ''}`);
    if (backends.playback !== null) say(true, `playback via ${backends.playback}`);
    else {
      const player = await findExternalPlayer(ffmpeg.path);
      if (player === null) problem(ExitCode.noAudioDevice, 'playback: this ffmpeg has no output device here, and neither ffplay nor mpv was found');
      else say(true, `playback via ${player.player} (${player.path}): this ffmpeg has no output device here`);
    }
  } catch (error) {
    const cli = asCliError(error);
    if (!(cli instanceof CliError)) throw cli;
    problem(cli.exitCode, cli.message);
  }

  let server: URL | undefined;
  try {
    server = resolveServer(flags.server, process.env);
    const started = performance.now();
    const response = await got(new URL('healthz', server.href.endsWith('/') ? server : `${server.href}/`), {
      retry: { limit: 0 },
      throwHttpErrors: false,
      timeout: { request: 10_000 },
    });
    const ms = Math.round(performance.now() - started);
    if (response.statusCode === 200) say(true, `relay ${server.origin} answers (${ms} ms)`);
    else problem(ExitCode.relayRefused, `relay ${server.origin} answered HTTP ${response.statusCode} to /healthz (${ms} ms)`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const cli = asCliError(error);
    if (cli instanceof CliError) problem(cli.exitCode, cli.message);
    else problem(ExitCode.serverUnreachable, `cannot reach the relay ${server?.origin ?? ''} (${code})`);
  }
  if (firstProblem !== undefined) throw new CliError(firstProblem.message, firstProblem.code);
}
