import type { Command } from 'commander';
import { generatePipeName } from '../client/index.js';
import { createRelay } from '../relay/index.js';
import { listen } from './listen.js';
import { wholeNumber } from './parse.js';
import { talk } from './talk.js';

interface EchoFlags {
  input?: string;
  tone?: number;
  device?: string;
  output?: string;
  lowLatency?: boolean;
  ffmpeg?: string;
  quiet?: boolean;
}

export function registerEcho(program: Command): void {
  program
    .command('echo')
    .description('hear yourself through the whole real path: an embedded relay on 127.0.0.1, talk and listen')
    .option('--input <file|->', 'send an audio file (or WAV on stdin) instead of the microphone')
    .option('--tone <hz>', 'send a test tone instead of the microphone', wholeNumber(20, 20_000))
    .option('--device <name>', 'capture device')
    .option('--output <file|->', 'record what comes back as WAV instead of playing it')
    .option('--low-latency', '10 ms frames and pages')
    .option('--ffmpeg <path>', 'ffmpeg to use')
    .option('-q, --quiet', 'no status output')
    .action(async (flags: EchoFlags) => echo(flags));
}

/** No server, no configuration: the check a person runs first after installing. */
async function echo(flags: EchoFlags): Promise<void> {
  const relay = createRelay();
  const url = await relay.listen(0, '127.0.0.1');
  const name = generatePipeName();
  const shared = {
    server: url.origin,
    ...(flags.ffmpeg === undefined ? {} : { ffmpeg: flags.ffmpeg }),
  };
  // Whichever side fails first takes the other down with it: closing the relay ends both calls.
  const stopBoth = (error: unknown): never => {
    void relay.close({ graceMs: 0 });
    throw error;
  };
  const listening = listen(name, { ...shared, quiet: true, ...(flags.output === undefined ? {} : { output: flags.output }) }).catch(stopBoth);
  const talking = talk(name, {
    ...shared,
    bitrate: 32,
    quiet: flags.quiet === true,
    lowLatency: flags.lowLatency === true,
    ...(flags.tone === undefined ? {} : { tone: flags.tone }),
    ...(flags.input === undefined ? {} : { input: flags.input }),
    ...(flags.device === undefined ? {} : { device: flags.device }),
  }).catch(stopBoth);
  try {
    const results = await Promise.allSettled([talking, listening]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  } finally {
    await relay.close({ graceMs: 1_000 });
  }
}
