import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError, ExitCode } from './exit-codes.js';
import { registerCall } from './call.js';
import { registerDevices } from './devices.js';
import { registerDoctor } from './doctor.js';
import { registerEcho } from './echo.js';
import { registerListen } from './listen.js';
import { registerServe } from './serve.js';
import { registerTalk } from './talk.js';

export function buildProgram(): Command {
  const program = new Command('hoodycall')
    .description('Voice calls over a plain HTTP pipe.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      // One line, in the same voice as every other error: "hoodycall: …".
      outputError: (text, write) => write(`hoodycall: ${text.replace(/^error: /, '')}`),
    });
  registerServe(program);
  registerTalk(program);
  registerListen(program);
  registerCall(program);
  registerEcho(program);
  registerDevices(program);
  registerDoctor(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** The package's own version, not a copy of it. */
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Runs the CLI and returns its exit code. Every failure is one line on stderr, never a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with code 0; commander already printed its message.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`hoodycall: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`hoodycall: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.unexpected;
  } finally {
    // A command that read stdin (`--input -`) is done with it; a writer that keeps its end open
    // must not keep us alive after a hang-up.
    if (process.stdin.readableFlowing !== null) process.stdin.destroy();
  }
}
