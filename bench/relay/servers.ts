/**
 * Starting and stopping the three relays as separate processes, and reading their CPU time, memory
 * and open file descriptors from /proc. Every process started here is remembered and killed on exit,
 * error or signal (see killAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Endpoint } from './clients.js';

export type RelayName = 'hoodycall' | 'piping-server' | 'raw';

export const RELAY_NAMES: readonly RelayName[] = ['hoodycall', 'piping-server', 'raw'];

export interface RunningRelay {
  readonly name: RelayName;
  readonly pid: number;
  readonly endpoint: Endpoint;
  /** The last lines the process wrote to stderr, for error reports. */
  stderrTail(): string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const FD_LIMIT = 20_000;
const START_TIMEOUT_MS = 15_000;

const children = new Set<ChildProcess>();

/** SIGKILLs every relay still running; synchronous, so it also works in an 'exit' handler. */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

/** `bash -c 'ulimit -n …; exec node …'`: the node process keeps bash's pid, and the raised fd limit. */
function spawnNode(root: string, args: readonly string[], stdout: 'pipe' | 'ignore'): ChildProcess {
  const script = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  const child = spawn('bash', ['-c', script, process.execPath, ...args], { cwd: root, stdio: ['ignore', stdout, 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the first stdout line matching `pattern`'s first group; keeps draining stdout after. */
function portFromStdout(child: ChildProcess, pattern: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    let found = false;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (found) return;
      text += chunk;
      const match = pattern.exec(text);
      if (match !== null) {
        found = true;
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`exited (${signal ?? code}) before listening`)));
  });
}

async function waitForPort(child: ChildProcess, port: number): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited before listening');
    if (await canConnect(port)) return port;
    await sleep(50);
  }
  throw new Error('not listening in time');
}

/** Starts `name` fresh; `nodeFlags` go to its node (e.g. `--cpu-prof`), never to the relay itself. */
export async function startRelay(name: RelayName, root: string, nodeFlags: readonly string[] = []): Promise<RunningRelay> {
  let child: ChildProcess;
  let listening: Promise<number>;
  switch (name) {
    case 'hoodycall':
      child = spawnNode(
        root,
        [
          ...nodeFlags,
          path.join(root, 'bin/hoodycall.js'),
          'serve',
          '--host',
          HOST,
          '--port',
          '0',
          '--quiet',
          '--max-pipes',
          '30000',
          '--max-pipes-per-client',
          '30000',
          '--max-connections',
          '30000',
          // Every client of the bench is 127.0.0.1, and case (c) holds 10,000 waiting pipes at once.
          '--max-connections-per-client',
          '30000',
        ],
        'pipe',
      );
      listening = portFromStdout(child, /listening on http:\/\/[^:]+:(\d+)\//);
      break;
    case 'piping-server': {
      // It has no port 0; its log4js access log goes to stdout, which is discarded.
      const port = await freePort();
      child = spawnNode(
        root,
        [...nodeFlags, path.join(root, 'node_modules/piping-server/dist/src/index.js'), '--host', HOST, '--http-port', String(port)],
        'ignore',
      );
      listening = waitForPort(child, port);
      break;
    }
    case 'raw':
      child = spawnNode(root, [...nodeFlags, path.join(root, 'dist/bench/relay/raw-relay.js'), '--host', HOST, '--port', '0'], 'pipe');
      listening = portFromStdout(child, /raw relay listening on (\d+)/);
      break;
  }
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const port = await Promise.race([
      listening,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('not listening in time')), START_TIMEOUT_MS);
      }),
    ]);
    const pid = child.pid;
    if (pid === undefined) throw new Error('no pid');
    return {
      name,
      pid,
      endpoint: { protocol: name === 'raw' ? 'raw' : 'http', host: HOST, port },
      stderrTail: () => stderr,
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`cannot start ${name}: ${(error as Error).message}${stderr === '' ? '' : `\n${stderr}`}`);
  } finally {
    clearTimeout(timer);
  }
}

let clockTicks = 100;

export function setClockTicks(ticks: number): void {
  clockTicks = ticks;
}

/** User plus system CPU seconds of the process so far (all its threads), from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces: field 3 is at [0].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (utime + stime) / clockTicks;
}

/** Resident set size in KiB, from VmRSS in /proc/PID/status. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

export async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/**
 * Waits until the RSS stops moving: sampled every 250 ms, settled when the last 5 samples (1 s) lie
 * within 64 KiB of each other, or after `maxMs`. Returns the last sample.
 */
export async function settledRss(pid: number, minMs = 1_500, maxMs = 8_000): Promise<number> {
  const start = Date.now();
  const samples: number[] = [];
  for (;;) {
    samples.push(await rssKiB(pid));
    const recent = samples.slice(-5);
    const elapsed = Date.now() - start;
    if (elapsed >= maxMs) break;
    if (elapsed >= minMs && recent.length === 5 && Math.max(...recent) - Math.min(...recent) <= 64) break;
    await sleep(250);
  }
  return samples[samples.length - 1] ?? 0;
}
