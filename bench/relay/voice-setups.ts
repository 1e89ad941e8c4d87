/**
 * What the voice-shaped case runs against: one relay process (hoodycall, piping-server, the raw TCP
 * ceiling), or two hoodycall relays behind nginx running the shipped deploy/nginx config (rendered as
 * the tests render it: ports and paths only, the third `server` line dropped). A setup's CPU is the sum
 * over all of its processes, nginx's master and workers included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nginxMainConf, renderNginx } from '../../test/helpers/deploy-render.js';
import type { Endpoint } from './clients.js';
import { cpuSeconds, rssKiB, startRelay, type RelayName, type RunningRelay } from './servers.js';

/** `hoodycall-alt` is hoodycall from another checkout (`--alt DIR`), for A/B runs of a relay change. */
export type SetupName = RelayName | 'nginx-2' | 'hoodycall-alt';
export const SETUP_NAMES: readonly SetupName[] = ['hoodycall', 'piping-server', 'raw', 'nginx-2'];

export interface RunningSetup {
  readonly name: SetupName;
  readonly endpoint: Endpoint;
  /** CPU seconds of every process of the setup so far. */
  cpuSeconds(): Promise<number>;
  /** Of which in the kernel (system time): sockets, loopback TCP, waking the peer. */
  systemSeconds(): Promise<number>;
  /** CPU seconds per part (each relay, nginx), for the report. */
  cpuParts(): Promise<Record<string, number>>;
  /** RSS of the relay processes in KiB (nginx's is not a relay's memory per call). */
  relayRssKiB(): Promise<number>;
  stderrTail(): string;
  stop(): Promise<void>;
}

const nginxChildren = new Set<ChildProcess>();

/** SIGKILLs any nginx still running (on exit or error); the relays are servers.ts's killAll. */
export function killNginx(): void {
  for (const child of nginxChildren) {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  nginxChildren.clear();
}

let clockTicks = 100;

export function setSetupClockTicks(ticks: number): void {
  clockTicks = ticks;
}

/** System (kernel) CPU seconds of a process, from /proc/PID/stat. */
async function systemSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) / clockTicks;
}

/** Pids of the direct children of `pid` (nginx's workers). */
async function childrenOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) found.push(Number(entry));
  }
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nginx not listening: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function single(relay: RunningRelay, name: SetupName = relay.name): RunningSetup {
  return {
    name,
    endpoint: relay.endpoint,
    cpuSeconds: () => cpuSeconds(relay.pid),
    systemSeconds: () => systemSeconds(relay.pid),
    cpuParts: async () => ({ [relay.name]: await cpuSeconds(relay.pid) }),
    relayRssKiB: () => rssKiB(relay.pid),
    stderrTail: () => relay.stderrTail(),
    stop: () => relay.stop(),
  };
}

/** Two hoodycall relays behind nginx with the shipped config; the bench's clients talk to nginx. */
async function nginxPair(root: string, nodeFlags: readonly string[]): Promise<RunningSetup> {
  const relays = await Promise.all([startRelay('hoodycall', root, nodeFlags), startRelay('hoodycall', root, nodeFlags)]);
  const dir = mkdtempSync(path.join(tmpdir(), 'hoodycall-bench-nginx-'));
  const port = await freePort();
  const { conf, pipeConf } = await renderNginx({
    dir,
    relays: relays.map((relay) => `127.0.0.1:${relay.endpoint.port}`),
    httpPort: port,
    tlsPort: await freePort(),
    // The TLS listener is not used here; nginx only needs a certificate to load.
    certFile: path.join(dir, 'cert.pem'),
    keyFile: path.join(dir, 'key.pem'),
  });
  writeFileSync(path.join(dir, 'hoodycall.conf'), conf);
  writeFileSync(path.join(dir, 'hoodycall-pipe.conf'), pipeConf);
  // Each call is four connections at nginx (two sides, each client + upstream): 2,000 calls need 8,000.
  writeFileSync(path.join(dir, 'nginx.conf'), nginxMainConf(dir, { workerConnections: 10_000 }));
  const script =
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -days 1 ` +
    `-keyout "${dir}/key.pem" -out "${dir}/cert.pem" 2>/dev/null && ulimit -n 20000 && exec nginx -e "${dir}/startup.log" -c "${dir}/nginx.conf"`;
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  nginxChildren.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4000)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopNginx = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    nginxChildren.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => output);
  } catch (error) {
    await stopNginx();
    await Promise.all(relays.map((relay) => relay.stop()));
    throw error;
  }
  const master = child.pid ?? 0;
  const nginxCpu = async (of: (pid: number) => Promise<number> = cpuSeconds): Promise<number> => {
    let total = await of(master);
    for (const worker of await childrenOf(master)) total += await of(worker).catch(() => 0);
    return total;
  };
  return {
    name: 'nginx-2',
    endpoint: { protocol: 'http', host: '127.0.0.1', port },
    async cpuSeconds() {
      const parts = await Promise.all([nginxCpu(), ...relays.map((relay) => cpuSeconds(relay.pid))]);
      return parts.reduce((a, b) => a + b, 0);
    },
    async systemSeconds() {
      const parts = await Promise.all([nginxCpu(systemSeconds), ...relays.map((relay) => systemSeconds(relay.pid))]);
      return parts.reduce((a, b) => a + b, 0);
    },
    async cpuParts() {
      const [a, b] = await Promise.all(relays.map((relay) => cpuSeconds(relay.pid)));
      return { 'relay 1': a ?? 0, 'relay 2': b ?? 0, nginx: await nginxCpu() };
    },
    async relayRssKiB() {
      const sizes = await Promise.all(relays.map((relay) => rssKiB(relay.pid)));
      return sizes.reduce((a, b) => a + b, 0);
    },
    stderrTail: () => [output, ...relays.map((relay) => relay.stderrTail())].join('\n'),
    async stop() {
      await stopNginx();
      await Promise.all(relays.map((relay) => relay.stop()));
    },
  };
}

export async function startSetup(name: SetupName, root: string, nodeFlags: readonly string[] = [], altRoot?: string): Promise<RunningSetup> {
  if (name === 'nginx-2') return nginxPair(root, nodeFlags);
  if (name === 'hoodycall-alt') {
    if (altRoot === undefined) throw new Error('hoodycall-alt needs --alt DIR');
    return single(await startRelay('hoodycall', altRoot, nodeFlags), name);
  }
  return single(await startRelay(name, root, nodeFlags));
}
