import type { Command } from 'commander';
import { captureCheckArgs } from '../audio/args.js';
import { locateFfmpeg } from '../audio/ffmpeg.js';
import { findExternalPlayer } from '../audio/player.js';
import { runFfmpeg } from '../audio/process.js';
import { checkRelay } from '../client/check.js';
import { resolveServer } from '../client/index.js';
import { DIALECT_TEXT } from '../wire.js';
import { detectBackends } from './devices.js';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { asCliError } from './failures.js';

interface DoctorFlags {
  server?: string;
  ffmpeg?: string;
  device?: string;
}

/** Reports what a call would use, one line per fact, and exits with the code of the first problem. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check ffmpeg, Opus, the microphone and speaker, and the relay (its dialect, and a test pair through it)')
    .option('--server <url>', 'relay URL to check (default: $HOODYCALL_SERVER, else the public pipe)')
    .option('--device <name>', 'capture device to check')
    .option('--ffmpeg <path>', 'ffmpeg to check')
    .action(async (flags: DoctorFlags) => doctor(flags));
}

async function doctor(flags: DoctorFlags): Promise<void> {
  const say = (ok: boolean, text: string): void => {
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${text}\n`);
  };
  let firstProblem: { code: ExitCodeValue; message: string } | undefined;
  const problem = (code: ExitCodeValue, message: string): void => {
    say(false, message);
    firstProblem ??= { code, message };
  };
  const asProblem = (error: unknown): void => {
    const cli = asCliError(error);
    if (!(cli instanceof CliError)) throw cli;
    problem(cli.exitCode, cli.message);
  };

  try {
    const ffmpeg = await locateFfmpeg({ explicitPath: flags.ffmpeg });
    say(true, `ffmpeg ${ffmpeg.version} (${ffmpeg.path}, found via ${ffmpeg.source})`);
    say(true, 'Opus encoder libopus');
    const backends = await detectBackends(ffmpeg);
    // A backend that exists says nothing of a device: open it for a moment, as talk would.
    const device = { kind: 'device' as const, backend: backends.capture, device: flags.device };
    const opened = await runFfmpeg(ffmpeg.path, captureCheckArgs(device), 'talk', { stdin: 'ignore', stdout: 'ignore' }).outcome;
    const via = `${backends.capture}${backends.pulse ? ' (a PulseAudio/PipeWire server answers)' : ''}`;
    if (opened.ok) say(true, `capture via ${via}: ${flags.device ?? 'the default device'} opens`);
    else problem(ExitCode.noAudioDevice, `capture via ${via}: ${opened.message}`);
    if (backends.playback !== null) say(true, `playback via ${backends.playback}`);
    else {
      const player = await findExternalPlayer(ffmpeg.path);
      if (player === null) problem(ExitCode.noAudioDevice, 'playback: this ffmpeg has no output device here, and neither ffplay nor mpv was found');
      else say(true, `playback via ${player.player} (${player.path}): this ffmpeg has no output device here`);
    }
  } catch (error) {
    asProblem(error);
  }

  try {
    const server = resolveServer(flags.server, process.env);
    const check = await checkRelay(server);
    const speaks = check.dialect === undefined ? 'a dialect hoodycall does not know (it will treat it as plain)' : `the ${check.dialect} dialect (${DIALECT_TEXT[check.dialect]})`;
    say(true, `relay ${server.origin} answers (${Math.round(check.answerMs)} ms) and speaks ${speaks}`);
    say(true, `a test pair streamed through ${server.origin}: first byte ${Math.round(check.firstByteMs)} ms after it was sent`);
  } catch (error) {
    asProblem(error);
  }
  if (firstProblem !== undefined) throw new CliError(firstProblem.message, firstProblem.code);
}
