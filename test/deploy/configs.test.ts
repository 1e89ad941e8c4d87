/**
 * The deploy/ files load in the real programs from Debian's packages: nginx -t and haproxy -c, both
 * with the test's own surroundings and inside Debian's stock nginx.conf / haproxy.cfg, and the systemd
 * unit through systemd-analyze (verify, and its offline security score). Only ports and paths are
 * substituted (helpers/deploy-render.ts); what the other tests in test/deploy/ run is the same text.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { tempDir } from '../helpers/calls.js';
import { requireProgram } from '../helpers/proxy-cluster.js';
import { BIN } from '../helpers/cli.js';
import {
  haproxyGlobalCfg,
  nginxMainConf,
  renderHaproxy,
  renderNginx,
  renderSystemdUnit,
  substitute,
  NGINX_CONF,
  type RenderTarget,
} from '../helpers/deploy-render.js';

function target(dir: string): RenderTarget {
  return {
    dir,
    relays: ['127.0.0.1:18081', '127.0.0.1:18082', '127.0.0.1:18083'],
    httpPort: 18080,
    tlsPort: 18443,
    certFile: path.join(dir, 'cert.pem'),
    keyFile: path.join(dir, 'key.pem'),
  };
}

async function selfSignedCertificate(dir: string): Promise<void> {
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
  ]);
  await writeFile(path.join(dir, 'chain-and-key.pem'), Buffer.concat([await readFile(path.join(dir, 'cert.pem')), await readFile(path.join(dir, 'key.pem'))]));
}

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);

test('substitution fails loudly when a shipped token is missing or repeated', () => {
  assert.equal(substitute('listen 80;', [{ from: 'listen 80;', to: 'listen 1;', count: 1 }], 'f'), 'listen 1;');
  assert.throws(() => substitute('listen 8080;', [{ from: 'listen 80;', to: 'x', count: 1 }], 'f'), /expected 1 × "listen 80;", found 0/);
  assert.throws(() => substitute('a a', [{ from: 'a', to: 'b', count: 1 }], 'f'), /found 2/);
});

test('nginx -t accepts the shipped config, on its own and inside Debian\'s stock nginx.conf', async (t) => {
  if (!(await requireProgram(t, 'nginx'))) return;
  const dir = await tempDir(t, 'hoodycall-nginx-t-');
  await selfSignedCertificate(dir);
  const { conf, pipeConf } = await renderNginx(target(dir));
  await writeFile(path.join(dir, 'hoodycall.conf'), conf);
  await writeFile(path.join(dir, 'hoodycall-pipe.conf'), pipeConf);
  await writeFile(path.join(dir, 'nginx.conf'), nginxMainConf(dir));
  const alone = await execa('nginx', ['-t', '-e', path.join(dir, 'startup.log'), '-c', path.join(dir, 'nginx.conf')], { reject: false });
  assert.equal(alone.exitCode, 0, alone.stderr);
  assert.match(alone.stderr, /test is successful/);

  // As an operator installs it: ports as shipped (80, 443), only the paths of this run, next to
  // Debian's own default site, which listens on port 80 too.
  const stock = '/etc/nginx/nginx.conf';
  if (!(await exists(stock))) return t.skip(`no ${stock}`);
  const shippedPorts = substitute(
    await readFile(NGINX_CONF, 'utf8'),
    [
      { from: '/etc/letsencrypt/live/relay.example.org/fullchain.pem', to: path.join(dir, 'cert.pem'), count: 1 },
      { from: '/etc/letsencrypt/live/relay.example.org/privkey.pem', to: path.join(dir, 'key.pem'), count: 1 },
      { from: '/etc/nginx/snippets/hoodycall-pipe.conf', to: path.join(dir, 'hoodycall-pipe.conf'), count: 2 },
      { from: '/var/log/nginx/', to: `${dir}/`, count: 4 },
    ],
    NGINX_CONF,
  );
  await writeFile(path.join(dir, 'as-shipped.conf'), shippedPorts);
  const debian = substitute(
    await readFile(stock, 'utf8'),
    [{ from: 'include /etc/nginx/conf.d/*.conf;', to: `include ${dir}/as-shipped.conf;`, count: 1 }],
    stock,
  );
  await writeFile(path.join(dir, 'debian-nginx.conf'), debian);
  const inDebian = await execa('nginx', ['-t', '-e', path.join(dir, 'startup.log'), '-c', path.join(dir, 'debian-nginx.conf')], { reject: false });
  assert.equal(inDebian.exitCode, 0, inDebian.stderr);
});

test('haproxy -c accepts the shipped config, after the test\'s global section and after Debian\'s stock haproxy.cfg', async (t) => {
  if (!(await requireProgram(t, 'haproxy'))) return;
  const dir = await tempDir(t, 'hoodycall-haproxy-c-');
  await selfSignedCertificate(dir);
  await writeFile(path.join(dir, 'global.cfg'), haproxyGlobalCfg());
  await writeFile(path.join(dir, 'hoodycall.cfg'), await renderHaproxy(target(dir), path.join(dir, 'chain-and-key.pem')));
  const alone = await execa('haproxy', ['-c', '-f', path.join(dir, 'global.cfg'), '-f', path.join(dir, 'hoodycall.cfg')], { reject: false });
  assert.equal(alone.exitCode, 0, alone.stderr + alone.stdout);
  assert.match(alone.stdout, /Configuration file is valid/);
  assert.doesNotMatch(alone.stderr, /WARNING/, 'no warnings');

  const stock = '/etc/haproxy/haproxy.cfg';
  if (!(await exists(stock))) return t.skip(`no ${stock}`);
  const afterDebian = await execa('haproxy', ['-c', '-f', stock, '-f', path.join(dir, 'hoodycall.cfg')], { reject: false });
  assert.equal(afterDebian.exitCode, 0, afterDebian.stderr + afterDebian.stdout);
});

test('the systemd unit passes systemd-analyze verify for an instance, and its offline security score is OK (hardened)', async (t) => {
  if (!(await requireProgram(t, 'systemd-analyze'))) return;
  const dir = await tempDir(t, 'hoodycall-systemd-');
  const unit = path.join(dir, 'hoodycall-relay@.service');
  await writeFile(unit, await renderSystemdUnit(BIN));
  // An instance of the template: %i becomes the port.
  const verify = await execa('systemd-analyze', ['verify', '--man=no', path.join(dir, 'hoodycall-relay@8081.service')], { reject: false });
  assert.equal(verify.exitCode, 0, verify.stderr);
  // verify exits 0 on settings it merely ignores ("Unknown key name", "Failed to parse"): none allowed.
  assert.equal(verify.stderr.trim(), '', verify.stderr);

  const security = await execa('systemd-analyze', ['security', '--offline=yes', unit], { reject: false });
  const score = /Overall exposure level for \S+: (\d+\.\d+)/.exec(security.stdout);
  assert.ok(score?.[1] !== undefined, security.stdout + security.stderr);
  t.diagnostic(`systemd-analyze security exposure: ${score[1]} (0 = fully locked down, 10 = unprotected)`);
  // 1.0–1.9 is "OK" on systemd's scale. What is left: network access (the relay's job), AF_UNIX,
  // W^X memory (V8's JIT) and /proc outside the process (Node reads /proc/meminfo).
  assert.ok(Number(score[1]) < 2, `exposure ${score[1]}`);
  for (const setting of ['DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'CapabilityBoundingSet=', 'LimitNOFILE=']) {
    assert.match(await readFile(unit, 'utf8'), new RegExp(`^${setting}`, 'm'), setting);
  }
});
