import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createRelay } from '../relay/index.js';
import { parseTrustedProxies } from '../relay/client-address.js';
import { DEFAULT_RELAY_OPTIONS } from '../relay/options.js';
import { CliError, ExitCode } from './exit-codes.js';
import { secondsAsMs, wholeNumber } from './parse.js';

interface ServeFlags {
  host: string;
  port: number;
  hold: number;
  idleTimeout: number;
  headerTimeout: number;
  maxPipes: number;
  maxPipesPerClient: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  ipv6Prefix: number;
  maxHeaderSize: number;
  pipeBuffer: number;
  relayBuffer: number;
  trustProxy: string[];
  allowOrigin: string[];
  metricsToken?: string;
  metricsHost: string;
  metricsPort?: number;
  grace: number;
  tlsCert?: string;
  tlsKey?: string;
  quiet?: boolean;
}

const seconds = (ms: number): string => String(ms / 1000);
const KiB = 1024;
const MiB = 1024 * KiB;

/** An option given in seconds, held in milliseconds, whose help shows the default in seconds. */
function secondsOption(flags: string, description: string, min: number, defaultMs: number): Option {
  return new Option(flags, description).argParser(secondsAsMs(min)).default(defaultMs, seconds(defaultMs));
}

/** An option given in `unit`s (KiB, MiB), held in bytes, whose help shows the default in that unit. */
function sizeOption(flags: string, description: string, unit: number, defaultBytes: number, [min, max]: readonly [number, number]): Option {
  const parse = wholeNumber(min, max);
  return new Option(flags, description).argParser((value) => parse(value) * unit).default(defaultBytes, String(defaultBytes / unit));
}

/** A comma-separated list, repeatable: `--trust-proxy 10.0.0.0/8,fd00::/8 --trust-proxy 127.0.0.1`. */
function listOf(check: (item: string) => void): (value: string, previous?: string[]) => string[] {
  return (value, previous = []) => {
    const items = value.split(',').map((item) => item.trim());
    if (items.some((item) => item === '')) throw new InvalidArgumentError('expected a comma-separated list without empty items.');
    for (const item of items) check(item);
    return [...previous, ...items];
  };
}

const cidr = (item: string): void => {
  try {
    parseTrustedProxies([item]);
  } catch {
    throw new InvalidArgumentError(`${item} is not an address or a CIDR such as 10.0.0.0/8 or fd00::/8.`);
  }
};

const origin = (item: string): void => {
  if (item !== '*' && !/^https?:\/\/[^/?#@\s]+$/.test(item)) throw new InvalidArgumentError(`${item} is not an origin such as https://app.example (or *).`);
};

function metricsToken(value: string): string {
  if (!/^[\x21-\x7e]{16,256}$/.test(value)) throw new InvalidArgumentError('expected 16 to 256 visible ASCII characters.');
  return value;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the relay: senders PUT/POST to /api/v1/pipe/NAME, receivers GET it')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--port <port>', 'port to listen on (0 picks a free one)', wholeNumber(0, 65535), 8080)
    .addOption(secondsOption('--hold <seconds>', 'how long the first side waits for the other', 0.1, DEFAULT_RELAY_OPTIONS.holdMs))
    .addOption(secondsOption('--idle-timeout <seconds>', 'abort a connected pipe where no byte moved this long (0 = never)', 0, DEFAULT_RELAY_OPTIONS.idleTimeoutMs))
    .addOption(secondsOption('--header-timeout <seconds>', 'time a client has to send its request headers', 0.1, DEFAULT_RELAY_OPTIONS.headersTimeoutMs))
    .option('--max-pipes <n>', 'pipes held in all (waiting or streaming)', wholeNumber(1), DEFAULT_RELAY_OPTIONS.maxPipes)
    .option('--max-pipes-per-client <n>', 'pipe ends one client address may hold', wholeNumber(1), DEFAULT_RELAY_OPTIONS.maxPipesPerClient)
    .option('--max-connections <n>', 'open connections in all', wholeNumber(1), DEFAULT_RELAY_OPTIONS.maxConnections)
    .option('--max-connections-per-client <n>', 'open connections one client address may hold', wholeNumber(1), DEFAULT_RELAY_OPTIONS.maxConnectionsPerClient)
    .option('--ipv6-prefix <bits>', 'IPv6 clients are counted per network of this prefix length', wholeNumber(1, 128), DEFAULT_RELAY_OPTIONS.ipv6PrefixLength)
    .option('--max-header-size <bytes>', 'largest request head', wholeNumber(1024, 65536), DEFAULT_RELAY_OPTIONS.maxHeaderSize)
    .addOption(sizeOption('--pipe-buffer <KiB>', "what one pipe may hold for its receivers before its sender is held back", KiB, DEFAULT_RELAY_OPTIONS.pipeBufferBytes, [16, 65536]))
    .addOption(sizeOption('--relay-buffer <MiB>', 'what all pipes together may hold', MiB, DEFAULT_RELAY_OPTIONS.relayBufferBytes, [1, 65536]))
    .option('--trust-proxy <cidrs>', 'proxies whose X-Forwarded-For/Forwarded names the client (comma-separated CIDRs)', listOf(cidr), [])
    .option('--allow-origin <origins>', "other pages' origins that may open a WebSocket talker (comma-separated, * for any)", listOf(origin), [])
    .addOption(new Option('--metrics-token <token>', 'serve /metrics to Authorization: Bearer <token> (16+ characters)').env('HOODYCALL_METRICS_TOKEN').argParser(metricsToken))
    .option('--metrics-port <port>', 'serve /metrics on a listener of its own', wholeNumber(0, 65535))
    .option('--metrics-host <address>', 'address of the --metrics-port listener', '127.0.0.1')
    .addOption(secondsOption('--grace <seconds>', 'on SIGINT/SIGTERM, how long streaming pipes may finish', 0, 10_000))
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('-q, --quiet', 'no access log on stderr')
    .addHelpText(
      'after',
      `
Defaults: hold ${seconds(DEFAULT_RELAY_OPTIONS.holdMs)} s, idle timeout ${seconds(DEFAULT_RELAY_OPTIONS.idleTimeoutMs)} s, ` +
        `header timeout ${seconds(DEFAULT_RELAY_OPTIONS.headersTimeoutMs)} s. A connected pipe is never cut while bytes move.
/metrics is not served to the public: give --metrics-token, or --metrics-port for a private listener.`,
    )
    .action(async (flags: ServeFlags) => serve(flags));
}

async function loadTls(flags: ServeFlags): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return undefined;
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) {
    throw new CliError('--tls-cert and --tls-key go together', ExitCode.usage);
  }
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, ExitCode.cannotServe);
    }
  };
  return { cert: await read(flags.tlsCert), key: await read(flags.tlsKey) };
}

/**
 * A burst of connections makes V8 grow its young generation to the maximum (tens of MiB) and keep it,
 * which a relay holding thousands of idle waiting pipes pays for in RSS. Growing it one step at a time
 * keeps it small. Measured with bench/relay: 14.4 -> 8.7 KiB of RSS per waiting pipe at 2,000 pipes,
 * throughput unchanged. Only the `serve` process is tuned; an embedding program keeps its own heap.
 */
function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * The relay's output must never take it down: `serve 2>&1 | head -1` closes the pipe after the first
 * line, and the next log line would raise EPIPE as an unhandled 'error', ending every call. A stream
 * that fails is written to no more.
 */
function outputThatCannotKill(stream: NodeJS.WriteStream): (text: string) => void {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (text) => {
    if (broken) return;
    try {
      stream.write(text);
    } catch {
      broken = true;
    }
  };
}

async function serve(flags: ServeFlags): Promise<void> {
  keepYoungGenerationSmall();
  const out = outputThatCannotKill(process.stdout);
  const err = outputThatCannotKill(process.stderr);
  const tls = await loadTls(flags);
  let relay;
  try {
    relay = createRelay({
      holdMs: flags.hold,
      idleTimeoutMs: flags.idleTimeout,
      headersTimeoutMs: flags.headerTimeout,
      maxPipes: flags.maxPipes,
      maxPipesPerClient: flags.maxPipesPerClient,
      maxConnections: flags.maxConnections,
      maxConnectionsPerClient: flags.maxConnectionsPerClient,
      ipv6PrefixLength: flags.ipv6Prefix,
      maxHeaderSize: flags.maxHeaderSize,
      pipeBufferBytes: flags.pipeBuffer,
      relayBufferBytes: flags.relayBuffer,
      trustProxy: flags.trustProxy,
      allowOrigins: flags.allowOrigin,
      ...(flags.metricsToken === undefined ? {} : { metricsToken: flags.metricsToken }),
      ...(tls === undefined ? {} : { tls }),
      ...(flags.quiet === true ? {} : { log: (line: string) => err(`${line}\n`) }),
    });
  } catch (error) {
    throw new CliError(`cannot start the relay: ${(error as Error).message}`, ExitCode.usage);
  }
  let url: URL;
  try {
    url = await relay.listen(flags.port, flags.host);
  } catch (error) {
    throw new CliError(`cannot listen on ${flags.host}:${flags.port}: ${listenProblem(error)}`, ExitCode.cannotServe);
  }
  if (flags.metricsPort !== undefined) {
    try {
      const metricsUrl = await relay.listenMetrics(flags.metricsPort, flags.metricsHost);
      err(`hoodycall relay: metrics on ${new URL('/metrics', metricsUrl).href}\n`);
    } catch (error) {
      await relay.close({ graceMs: 0 });
      throw new CliError(`cannot listen on ${flags.metricsHost}:${flags.metricsPort} for metrics: ${listenProblem(error)}`, ExitCode.cannotServe);
    }
  }
  out(`hoodycall relay listening on ${url.href}\n`);

  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        // A second signal: no more grace. Closing every socket aborts what still streams.
        relay.server.closeAllConnections();
        return;
      }
      signalled = true;
      const { streaming } = relay.stats();
      err(
        `hoodycall relay: ${signal}, shutting down` +
          (streaming > 0 ? ` (${streaming} streaming pipe(s) get up to ${seconds(flags.grace)} s)` : '') +
          '\n',
      );
      relay.close({ graceMs: flags.grace }).then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function listenProblem(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : message;
}
