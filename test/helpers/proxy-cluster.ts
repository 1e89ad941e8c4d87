/**
 * Three real `hoodycall serve` relays on loopback ports behind the real nginx or HAProxy from Debian's
 * packages, running the shipped deploy/ configuration (rendered by deploy-render.ts: ports and paths
 * only). Everything is stopped when the test ends.
 *
 * Relays take extra `serve` flags (`relayArgs`), kept across restarts, e.g. `--trust-proxy 127.0.0.1/32`
 * with a small `--max-pipes-per-client`; clients that should look like different people to the proxy
 * bind their own loopback address (helpers/http.ts `localAddress: '127.0.0.7'`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { tempDir } from './calls.js';
import { startServe, type Exit, type ServeProcess } from './cli.js';
import { haproxyGlobalCfg, nginxMainConf, renderHaproxy, renderNginx, type RenderTarget } from './deploy-render.js';
import { fetchReply, open, responseOf } from './http.js';
import { RENDER_INTERVAL_MS } from '../../src/relay/metrics.js';
import { sleep } from './relay.js';

export type ProxyKind = 'nginx' | 'haproxy';
export const PROXIES: readonly ProxyKind[] = ['nginx', 'haproxy'];

export interface ClusterRelay {
  readonly index: number;
  readonly port: number;
  /** The relay itself, not through the proxy: http://127.0.0.1:PORT */
  readonly origin: string;
  /** The running process (a new one after `start()`). */
  readonly serve: ServeProcess;
  /** Signals the relay and resolves when it has exited. */
  stop(signal: NodeJS.Signals): Promise<Exit>;
  /** Starts it again on the same port with the same flags. */
  start(): Promise<void>;
  /** Its /metrics text, read directly (the proxy does not expose it), as of the call (it takes ~1 s). */
  metrics(): Promise<string>;
  /** A number from its /metrics, e.g. `hoodycall_pipes{state="waiting"}`; 0 when absent. */
  metric(series: string): Promise<number>;
}

export interface Cluster {
  readonly proxy: ProxyKind;
  /** The proxy's plain HTTP listener, http://127.0.0.1:PORT */
  readonly origin: string;
  /** The proxy's TLS listener (the shipped TLS termination), https://127.0.0.1:PORT */
  readonly tlsOrigin: string;
  /** The self-signed certificate of the TLS listener (CN localhost, SAN 127.0.0.1). */
  readonly ca: Buffer;
  readonly relays: readonly ClusterRelay[];
  pipeUrl(name: string, query?: string): string;
  /** Which relay a name reaches through the proxy (a receiver is held there for a moment, then left). */
  homeOf(name: string): Promise<number>;
  /** A fresh name (with `prefix`) that the proxy sends to relay `index`. */
  nameOn(index: number, prefix?: string): Promise<string>;
  /** The proxy's own log output so far, for failure messages. */
  proxyLog(): Promise<string>;
}

export interface ClusterOptions {
  readonly relayArgs?: readonly string[];
}

const RELAYS = 3;

/**
 * Whether `program` (nginx, haproxy) is installed. Where it is not, the test is skipped, except in CI,
 * which installs both (.ci/run): there a missing proxy is a failure.
 */
export async function requireProgram(t: TestContext, program: string): Promise<boolean> {
  const found = await execa('sh', ['-c', `command -v ${program} || test -x /usr/sbin/${program}`], { reject: false });
  if (found.exitCode === 0) return true;
  if (process.env['CI'] !== undefined) throw new Error(`${program} is not installed (apt-get install ${program})`);
  t.skip(`${program} is not installed (apt-get install ${program})`);
  return false;
}

export async function freePort(): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Parses one series' value out of Prometheus text; 0 when absent. */
export function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

async function makeCertificate(dir: string): Promise<{ certFile: string; keyFile: string; pemFile: string; ca: Buffer }> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const pemFile = path.join(dir, 'chain-and-key.pem');
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '1', '-keyout', keyFile, '-out', certFile,
  ]);
  const ca = await readFile(certFile);
  await writeFile(pemFile, Buffer.concat([ca, await readFile(keyFile)]));
  return { certFile, keyFile, pemFile, ca };
}

/** The token the test relays serve /metrics to (a relay does not publish its metrics). */
const METRICS_TOKEN = `test-metrics-${randomBytes(12).toString('hex')}`;

/**
 * A relay as the shipped unit runs it (deploy/systemd): the proxy on 127.0.0.1 is trusted to name the
 * client, and /metrics is served only with the token.
 */
async function startRelayProcess(t: TestContext, port: number, relayArgs: readonly string[]): Promise<ServeProcess> {
  return startServe(t, ['--host', '127.0.0.1', '--port', String(port), '--trust-proxy', '127.0.0.1/32', '--metrics-token', METRICS_TOKEN, ...relayArgs]);
}

function clusterRelay(t: TestContext, index: number, first: ServeProcess, relayArgs: readonly string[]): ClusterRelay {
  let serve = first;
  const origin = `http://127.0.0.1:${first.port}`;
  // The relay renders /metrics at most once per RENDER_INTERVAL_MS: waiting that long first makes the
  // text describe the relay as it is now, not up to a second ago.
  const metrics = async (): Promise<string> => {
    await sleep(RENDER_INTERVAL_MS + 20);
    const reply = await fetchReply(`${origin}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    if (reply.status !== 200) throw new Error(`/metrics of relay ${index} answered ${reply.status}`);
    return reply.body.toString();
  };
  return {
    index,
    port: first.port,
    origin,
    get serve() {
      return serve;
    },
    async stop(signal) {
      if (!serve.hasExited()) serve.child.kill(signal);
      return serve.exited;
    },
    async start() {
      serve = await startRelayProcess(t, first.port, relayArgs);
    },
    metrics,
    metric: async (series) => metricValue(await metrics(), series),
  };
}

/**
 * Starts a proxy under a small shell watchdog, in a process group of its own. The watchdog holds the
 * proxy while its stdin stays open: when the test ends it is closed and the proxy gets SIGTERM (a fast
 * shutdown for both; nginx's master then stops its workers), and when the test process dies without
 * ending (killed at a timeout), the pipe closes by itself, so no nginx or HAProxy outlives its test.
 * The whole group is SIGKILLed if the proxy does not stop within 3 s.
 */
function spawnProxy(t: TestContext, command: string, args: readonly string[], logFile: string): { child: ChildProcess; output: () => string } {
  const watchdog = '"$@" & proxy=$!; cat >/dev/null; kill -TERM "$proxy" 2>/dev/null; wait "$proxy"';
  const child = spawn('sh', ['-c', watchdog, 'sh', command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, 3_000);
    await exited;
    clearTimeout(timer);
    await writeFile(logFile, output).catch(() => undefined);
  });
  return { child, output: () => output };
}

/** Waits until the proxy answers /healthz with 200 (through it, from a relay). */
async function waitUntilServing(origin: string, child: ChildProcess, output: () => string, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${output()}`);
    const reply = await fetchReply(`${origin}/healthz`).catch(() => undefined);
    if (reply?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${what} did not serve /healthz within 10 s: ${output()}`);
    await sleep(50);
  }
}

export interface RunningProxy {
  readonly proxy: ProxyKind;
  /** The plain HTTP listener, http://127.0.0.1:PORT */
  readonly origin: string;
  /** The TLS listener (the shipped TLS termination), https://127.0.0.1:PORT */
  readonly tlsOrigin: string;
  /** Its self-signed certificate (CN localhost, SAN 127.0.0.1). */
  readonly ca: Buffer;
  /** The proxy's own log output so far, for failure messages. */
  log(): Promise<string>;
}

/**
 * The shipped nginx or HAProxy config in front of three upstreams on 127.0.0.1 (`upstreamPorts`, in
 * the order of the shipped `server` lines), serving once /healthz answers 200 through it. Undefined
 * (and the test skipped) where the proxy is not installed, outside CI.
 */
export async function startProxy(t: TestContext, proxy: ProxyKind, upstreamPorts: readonly number[]): Promise<RunningProxy | undefined> {
  if (!(await requireProgram(t, proxy))) return undefined;
  const dir = await tempDir(t, `hoodycall-${proxy}-`);
  const certificate = await makeCertificate(dir);
  const [httpPort, tlsPort] = [await freePort(), await freePort()];
  const target: RenderTarget = {
    dir,
    relays: upstreamPorts.map((port) => `127.0.0.1:${port}`),
    httpPort,
    tlsPort,
    certFile: certificate.certFile,
    keyFile: certificate.keyFile,
  };
  let started: { child: ChildProcess; output: () => string };
  if (proxy === 'nginx') {
    const { conf, pipeConf } = await renderNginx(target);
    await writeFile(path.join(dir, 'hoodycall.conf'), conf);
    await writeFile(path.join(dir, 'hoodycall-pipe.conf'), pipeConf);
    await writeFile(path.join(dir, 'nginx.conf'), nginxMainConf(dir));
    // -e: nginx's own start-up messages, before it has read error_log from the config.
    started = spawnProxy(t, 'nginx', ['-e', path.join(dir, 'startup.log'), '-c', path.join(dir, 'nginx.conf')], path.join(dir, 'nginx.out'));
  } else {
    await writeFile(path.join(dir, 'global.cfg'), haproxyGlobalCfg());
    await writeFile(path.join(dir, 'hoodycall.cfg'), await renderHaproxy(target, certificate.pemFile));
    // -db: in the foreground, no master process.
    started = spawnProxy(t, 'haproxy', ['-db', '-f', path.join(dir, 'global.cfg'), '-f', path.join(dir, 'hoodycall.cfg')], path.join(dir, 'haproxy.out'));
  }
  const origin = `http://127.0.0.1:${httpPort}`;
  await waitUntilServing(origin, started.child, started.output, proxy);
  return {
    proxy,
    origin,
    tlsOrigin: `https://127.0.0.1:${tlsPort}`,
    ca: certificate.ca,
    async log() {
      const files = proxy === 'nginx' ? ['startup.log', 'main.error.log', 'hoodycall.error.log'] : [];
      const logs = await Promise.all(files.map((file) => readFile(path.join(dir, file), 'utf8').catch(() => '')));
      return [started.output(), ...logs].join('\n');
    },
  };
}

/** Three relays (`hoodycall serve`, with `relayArgs`) behind the shipped config of `proxy`; undefined as startProxy. */
export async function startCluster(t: TestContext, proxy: ProxyKind, options: ClusterOptions = {}): Promise<Cluster | undefined> {
  if (!(await requireProgram(t, proxy))) return undefined;
  const relayArgs = options.relayArgs ?? [];
  const serves = await Promise.all(Array.from({ length: RELAYS }, () => startRelayProcess(t, 0, relayArgs)));
  const relays = serves.map((serve, index) => clusterRelay(t, index, serve, relayArgs));
  const front = await startProxy(t, proxy, relays.map((relay) => relay.port));
  if (front === undefined) return undefined;
  const origin = front.origin;

  const pipeUrl = (name: string, query?: string): string => `${origin}/api/v1/pipe/${name}${query === undefined ? '' : `?${query}`}`;

  // One probe at a time: two probes of one name would take each other's receivers.
  let probing: Promise<unknown> = Promise.resolve();
  function homeOf(name: string): Promise<number> {
    const probe = probing.then(() => probeHome(name));
    probing = probe.catch(() => undefined);
    return probe;
  }

  /**
   * A receiver for `name` waits on each relay directly; a sender through the proxy reaches one of them,
   * and that one's receiver gets the bytes. The others leave (a waiting receiver that leaves frees its
   * name at once). When the name is already held at its home (by a receiver that has not been let go),
   * the sender goes to that one and no probe hears it: an error, not a guess.
   */
  async function probeHome(name: string): Promise<number> {
    const direct = relays.map((relay) => {
      const req = open(`${relay.origin}/api/v1/pipe/${name}`);
      req.on('error', () => undefined);
      req.end();
      return req;
    });
    try {
      const heard = Promise.any(
        direct.map(async (req, index) => {
          const res = await responseOf(req);
          if (res.statusCode !== 200) throw new Error(`relay ${index} answered ${res.statusCode}`);
          return index;
        }),
      );
      heard.catch(() => undefined);
      const sent = await fetchReply(pipeUrl(name), { method: 'PUT', body: 'probe' });
      if (sent.status !== 200) throw new Error(`the probe's sender for ${name} got ${sent.status}: ${sent.body.toString()}`);
      const home = await Promise.race([heard, sleep(2_000).then(() => undefined)]);
      if (home === undefined) throw new Error(`${name} is held through the proxy by someone else: no probe heard its sender`);
      return home;
    } finally {
      for (const req of direct) req.destroy();
    }
  }

  return {
    proxy,
    origin,
    tlsOrigin: front.tlsOrigin,
    ca: front.ca,
    relays,
    pipeUrl,
    homeOf,
    async nameOn(index, prefix = 'on') {
      for (let attempt = 0; attempt < 60; attempt++) {
        const name = `${prefix}-${index}-${Math.random().toString(36).slice(2, 12)}`;
        if ((await homeOf(name)) === index) return name;
      }
      throw new Error(`no name reached relay ${index} in 60 tries`);
    },
    proxyLog: () => front.log(),
  };
}
