/**
 * The shipped deploy/ configurations, made runnable on loopback for a test by literal substitution
 * only: a relay's address, a listen port, a file path. Every token must occur exactly as often as its
 * table says, so a change to a shipped file that moves or drops a token fails here, loudly, instead of
 * a test silently running something else. No rule of the shipped files is rewritten: what runs in the
 * tests is what an operator installs. deploy/README.md documents the same tables.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** deploy/ at the repository root; this file runs from dist/test/helpers/. */
export const DEPLOY_DIR = fileURLToPath(new URL('../../../deploy/', import.meta.url));

export const NGINX_CONF = path.join(DEPLOY_DIR, 'nginx/hoodycall.conf');
export const NGINX_PIPE_CONF = path.join(DEPLOY_DIR, 'nginx/hoodycall-pipe.conf');
export const HAPROXY_CFG = path.join(DEPLOY_DIR, 'haproxy/hoodycall.cfg');
export const SYSTEMD_UNIT = path.join(DEPLOY_DIR, 'systemd/hoodycall-relay@.service');

/** The relays' addresses as shipped: one `server` line each. */
export const SHIPPED_RELAYS = ['127.0.0.1:8081', '127.0.0.1:8082', '127.0.0.1:8083'] as const;

export interface Substitution {
  readonly from: string;
  readonly to: string;
  /** How many times `from` occurs in the shipped file. */
  readonly count: number;
}

/** Replaces each token, after checking it occurs exactly `count` times. */
export function substitute(text: string, substitutions: readonly Substitution[], file: string): string {
  let out = text;
  for (const { from, to, count } of substitutions) {
    const found = out.split(from).length - 1;
    if (found !== count) throw new Error(`${file}: expected ${count} × ${JSON.stringify(from)}, found ${found}`);
    out = out.split(from).join(to);
  }
  return out;
}

/** Where the rendered files and a run's logs go, and what they point at. */
export interface RenderTarget {
  /** A directory of the test's own. */
  readonly dir: string;
  /** `host:port` of each relay, in the order of SHIPPED_RELAYS. */
  readonly relays: readonly string[];
  readonly httpPort: number;
  readonly tlsPort: number;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * The relays' addresses in place of the shipped ones. Fewer relays than shipped (the relay benchmark
 * runs two) drop the surplus `server` lines whole, `line` being how the shipped file writes one; more
 * are not supported.
 */
function relaySubstitutions(relays: readonly string[], line: (address: string, index: number) => string): Substitution[] {
  if (relays.length < 1 || relays.length > SHIPPED_RELAYS.length) {
    throw new Error(`the shipped configs list ${SHIPPED_RELAYS.length} relays; ${relays.length} asked for`);
  }
  return SHIPPED_RELAYS.map((from, i) => {
    const to = relays[i];
    return to === undefined ? { from: line(from, i), to: '', count: 1 } : { from, to, count: 1 };
  });
}

/** deploy/nginx/hoodycall.conf (http context) and its snippet, as `dir/hoodycall.conf` + `dir/hoodycall-pipe.conf`. */
export async function renderNginx(target: RenderTarget): Promise<{ conf: string; pipeConf: string }> {
  const pipeFile = path.join(target.dir, 'hoodycall-pipe.conf');
  const conf = substitute(
    await readFile(NGINX_CONF, 'utf8'),
    [
      ...relaySubstitutions(target.relays, (address) => `    server ${address} max_fails=0;\n`),
      { from: 'listen 80;', to: `listen 127.0.0.1:${target.httpPort};`, count: 1 },
      { from: 'listen 443 ssl;', to: `listen 127.0.0.1:${target.tlsPort} ssl;`, count: 1 },
      { from: '/etc/letsencrypt/live/relay.example.org/fullchain.pem', to: target.certFile, count: 1 },
      { from: '/etc/letsencrypt/live/relay.example.org/privkey.pem', to: target.keyFile, count: 1 },
      { from: '/etc/nginx/snippets/hoodycall-pipe.conf', to: pipeFile, count: 2 },
      { from: '/var/log/nginx/', to: `${target.dir}/`, count: 4 },
    ],
    NGINX_CONF,
  );
  return { conf, pipeConf: await readFile(NGINX_PIPE_CONF, 'utf8') };
}

/**
 * What the test puts around the http-context file, in place of Debian's /etc/nginx/nginx.conf: its own
 * pid, logs and temp paths, in the foreground. worker_connections as deploy/README.md advises (each
 * pipe side is two connections at the proxy).
 */
export function nginxMainConf(dir: string, { workerConnections = 4096 } = {}): string {
  return `daemon off;
worker_processes 2;
worker_rlimit_nofile ${2 * workerConnections + 100};
pid ${dir}/nginx.pid;
error_log ${dir}/main.error.log warn;
events { worker_connections ${workerConnections}; }
http {
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${dir}/hoodycall.conf;
}
`;
}

/** deploy/haproxy/hoodycall.cfg; the certificate file is chain then key, as HAProxy wants it. */
export async function renderHaproxy(target: RenderTarget, pemFile: string): Promise<string> {
  return substitute(
    await readFile(HAPROXY_CFG, 'utf8'),
    [
      ...relaySubstitutions(target.relays, (address, index) => `    server relay${index + 1} ${address}\n`),
      { from: 'bind :80\n', to: `bind 127.0.0.1:${target.httpPort}\n`, count: 1 },
      { from: 'bind :443 ', to: `bind 127.0.0.1:${target.tlsPort} `, count: 1 },
      { from: '/etc/haproxy/certs/relay.example.org.pem', to: pemFile, count: 1 },
    ],
    HAPROXY_CFG,
  );
}

/**
 * What the test puts before the shipped file, in place of Debian's global section (chroot, daemon,
 * stats socket and user need root and /run). maxconn as deploy/README.md advises.
 */
export function haproxyGlobalCfg(): string {
  return `global
    maxconn 8000
`;
}

/** deploy/systemd/hoodycall-relay@.service with ExecStart pointing at this checkout's bin/hoodycall.js. */
export async function renderSystemdUnit(binary: string): Promise<string> {
  return substitute(await readFile(SYSTEMD_UNIT, 'utf8'), [{ from: '/usr/local/bin/hoodycall', to: binary, count: 1 }], SYSTEMD_UNIT);
}
