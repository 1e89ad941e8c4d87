/**
 * `hoodycall serve` as a user runs it: a child process on a free port, its output, its pages, its
 * shutdown on SIGTERM, and its exit codes for bad usage.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fetchReply, open, readReply, responseOf, type Reply } from '../helpers/http.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';
import { BIN, runCli, startServe, type ServeProcess } from '../helpers/cli.js';

const LOCAL = ['--host', '127.0.0.1', '--port', '0'];
const ACCESS_LOG_LINE = / pipe [0-9a-f]{10} n=\d+ bytes=\d+ /;

/** A request whose response headers are deferred; `reply` settles when it is answered. */
function hold(url: string) {
  const req = open(url);
  const startedAt = Date.now();
  const reply = responseOf(req).then(readReply);
  reply.catch(() => undefined);
  req.end();
  return { req, startedAt, reply };
}

const METRICS_TOKEN = 'serve-test-metrics-token';

async function metric(serve: ServeProcess, line: RegExp): Promise<number> {
  const reply = await fetchReply(new URL('/metrics', serve.url).href, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(reply.status, 200);
  const match = line.exec(reply.body.toString());
  assert.ok(match?.[1] !== undefined, `no ${line} in /metrics`);
  return Number(match[1]);
}

/** The metrics text is rendered at most once a second: waits (up to 3 s) for a value to show. */
async function metricBecomes(serve: ServeProcess, line: RegExp, holds: (value: number) => boolean): Promise<void> {
  let value = NaN;
  const deadline = Date.now() + 3_000;
  for (;;) {
    value = await metric(serve, line);
    if (holds(value)) return;
    assert.ok(Date.now() < deadline, `${line} is ${value}`);
    await sleep(200);
  }
}

/** A streaming pipe driven by the test: a chunked sender it writes to, and a receiver it reads. */
async function streamingPipe(serve: ServeProcess) {
  const name = uniqueName('stream');
  const receiverReq = open(serve.pipeUrl(name));
  receiverReq.end();
  const sender = open(serve.pipeUrl(name), { method: 'PUT', headers: { 'content-type': 'audio/ogg' } });
  sender.on('error', () => undefined);
  const senderReply = responseOf(sender).then(readReply);
  senderReply.catch(() => undefined);
  sender.write('first chunk\n');
  const receiverRes = await responseOf(receiverReq);
  assert.equal(receiverRes.statusCode, 200);
  const chunks: Buffer[] = [];
  const receiverDone = new Promise<Reply>((resolve) => {
    let complete = false;
    receiverRes.on('data', (chunk: Buffer) => chunks.push(chunk));
    receiverRes.on('end', () => (complete = receiverRes.complete));
    receiverRes.on('error', () => undefined);
    receiverRes.on('close', () =>
      resolve({ status: receiverRes.statusCode ?? 0, headers: receiverRes.headers, body: Buffer.concat(chunks), complete }),
    );
  });
  await waitFor(() => chunks.length > 0, 'the first chunk to reach the receiver');
  return { sender, senderReply, received: () => Buffer.concat(chunks), receiverDone };
}

test('serve: its one stdout line, its pages and a pipe', async (t) => {
  const serve = await startServe(t, [...LOCAL, '--metrics-token', METRICS_TOKEN]);
  const base = serve.url.href;
  assert.match(base, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*\/$/);
  assert.equal(serve.stdout(), `hoodycall relay listening on ${base}\n`);

  const help = await fetchReply(base);
  assert.equal(help.status, 200);
  assert.match(help.headers['content-type'] ?? '', /^text\/plain/);
  assert.ok(help.body.toString().includes(base), 'the help names the relay URL');
  assert.ok(help.body.toString().includes('curl -T -'), 'the help shows how to send with curl');

  const health = await fetchReply(new URL('/healthz', serve.url).href);
  assert.equal(health.status, 200);
  assert.equal(health.body.toString(), 'ok\n');

  const metrics = await fetchReply(new URL('/metrics', serve.url).href, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body.toString(), /^# HELP /m);
  await metricBecomes(serve, /^hoodycall_pipes\{state="waiting"\} (\d+)$/m, (n) => n === 0);

  // A pipe, then a 409 for a second receiver on a waiting one.
  const name = uniqueName('cli');
  const body = Buffer.from('x'.repeat(12_345));
  const receiver = hold(serve.pipeUrl(name));
  await metricBecomes(serve, /^hoodycall_pipes\{state="waiting"\} (\d+)$/m, (n) => n === 1);
  const busy = await fetchReply(serve.pipeUrl(name));
  assert.equal(busy.status, 409);
  const sender = await fetchReply(serve.pipeUrl(name), { method: 'PUT', body });
  assert.equal(sender.status, 200);
  assert.deepEqual((await receiver.reply).body, body);
  await metricBecomes(serve, /^hoodycall_relayed_bytes_total (\d+)$/m, (n) => n >= body.length);
  await metricBecomes(serve, /^hoodycall_rejections_total\{reason="busy"\} (\d+)$/m, (n) => n === 1);
  await metricBecomes(serve, /^hoodycall_pipes\{state="waiting"\} (\d+)$/m, (n) => n === 0);

  assert.equal(serve.stdout(), `hoodycall relay listening on ${base}\n`, 'still exactly one stdout line');
  await waitFor(() => ACCESS_LOG_LINE.test(serve.stderr()), 'the access log line');
  serve.child.kill('SIGTERM');
  assert.equal((await serve.exited).code, 0);
});

test('SIGTERM: waiting sides get 503, streaming pipes may finish, exit 0', async (t) => {
  await t.test('a streaming pipe that finishes within the grace ends cleanly', async (t) => {
    const serve = await startServe(t, [...LOCAL, '--metrics-token', METRICS_TOKEN]);
    const waiting = hold(serve.pipeUrl(uniqueName('waiting')));
    const pipe = await streamingPipe(serve);
    await metricBecomes(serve, /^hoodycall_pipes\{state="waiting"\} (\d+)$/m, (n) => n === 1);

    const signalledAt = Date.now();
    serve.child.kill('SIGTERM');
    const refused = await waiting.reply;
    assert.equal(refused.status, 503);
    assert.ok(Date.now() - signalledAt < 1_000, `the waiting receiver got 503 after ${Date.now() - signalledAt} ms`);
    assert.match(refused.body.toString(), /^\[ERROR\] [^\n]+\n$/);

    await assert.rejects(fetchReply(new URL('/healthz', serve.url).href), 'new connections are refused');

    // The pipe still flows after the signal.
    const before = pipe.received().length;
    for (let i = 0; i < 5; i++) {
      pipe.sender.write(`after the signal ${i}\n`);
      await waitFor(() => pipe.received().toString().endsWith(`after the signal ${i}\n`), `write ${i} after SIGTERM at the receiver`);
    }
    assert.ok(pipe.received().length > before, 'bytes sent after SIGTERM reach the receiver');
    assert.ok(!serve.hasExited(), 'the relay waits for the streaming pipe');
    pipe.sender.end('last words\n');
    const got = await pipe.receiverDone;
    assert.ok(got.complete, 'the receiver body ended cleanly');
    assert.ok(got.body.toString().startsWith('first chunk\n'));
    assert.ok(got.body.toString().endsWith('after the signal 4\nlast words\n'));
    const sender = await pipe.senderReply;
    assert.match(sender.body.toString(), /\[INFO\] done, \d+ bytes\n$/);
    const exit = await serve.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - signalledAt < 3_000, 'it exits once the pipe is done, not after the whole grace');
    assert.match(serve.stderr(), /SIGTERM, shutting down/);
  });

  await t.test('with --grace 1 a sender that never finishes is cut', async (t) => {
    const serve = await startServe(t, [...LOCAL, '--grace', '1']);
    const pipe = await streamingPipe(serve);
    const feeding = setInterval(() => pipe.sender.write('still talking\n'), 100);
    t.after(() => clearInterval(feeding));
    const signalledAt = Date.now();
    serve.child.kill('SIGTERM');
    const got = await pipe.receiverDone;
    clearInterval(feeding);
    assert.ok(!got.complete, 'the receiver sees an aborted body, not a clean end');
    assert.ok(got.body.toString().startsWith('first chunk\n'));
    const cutAfter = Date.now() - signalledAt;
    assert.ok(cutAfter >= 900, `cut after ${cutAfter} ms, before the grace`);
    const exit = await serve.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - signalledAt <= 2_500, `exited ${Date.now() - signalledAt} ms after SIGTERM`);
  });
});

test('serve: bad usage and failures to serve', async (t) => {
  const assertOneLine = (stderr: string, what: string): void => {
    assert.doesNotMatch(stderr, /^\s+at /m, `${what}: no stack trace`);
    assert.equal(stderr.split('\n').filter((line) => line !== '').length, 1, `${what}: one line on stderr, got ${JSON.stringify(stderr)}`);
    assert.ok(stderr.endsWith('\n'));
  };

  const usage: [string, string[]][] = [
    ['--port x', ['--host', '127.0.0.1', '--port', 'x']],
    ['--hold -1', [...LOCAL, '--hold', '-1']],
    ['--tls-cert without --tls-key', [...LOCAL, '--tls-cert', '/etc/hostname']],
  ];
  for (const [label, args] of usage) {
    await t.test(`${label}: exit 2`, async (t) => {
      const cli = runCli(t, ['serve', ...args]);
      const exit = await cli.exited;
      assert.equal(exit.code, 2, `${label}: exit ${exit.code}, stderr ${JSON.stringify(cli.stderr())}`);
      assert.equal(cli.stdout(), '', 'nothing on stdout');
      assertOneLine(cli.stderr(), label);
    });
  }

  await t.test('a port in use: exit 10, "already in use"', async (t) => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    t.after(() => blocker.close());
    const port = (blocker.address() as net.AddressInfo).port;
    const cli = runCli(t, ['serve', '--host', '127.0.0.1', '--port', String(port)]);
    const exit = await cli.exited;
    assert.equal(exit.code, 10);
    assert.match(cli.stderr(), /already in use/);
    assert.equal(cli.stdout(), '');
    assertOneLine(cli.stderr(), 'port in use');
  });

  const unreadable: [string, string][] = [
    ['a missing certificate file', '/nonexistent/hoodycall-cert.pem'],
    ['a directory as the certificate', '/'],
  ];
  for (const [label, file] of unreadable) {
    await t.test(`${label}: exit 10`, async (t) => {
      const cli = runCli(t, ['serve', ...LOCAL, '--tls-cert', file, '--tls-key', file]);
      const exit = await cli.exited;
      assert.equal(exit.code, 10);
      assert.equal(cli.stdout(), '');
      assertOneLine(cli.stderr(), label);
    });
  }
});

test('serve: --hold and the access log', async (t) => {
  await t.test('--hold 1: a lone receiver gets 408 after about a second, logged as hold-expired', async (t) => {
    const serve = await startServe(t, [...LOCAL, '--hold', '1']);
    const receiver = hold(serve.pipeUrl(uniqueName('alone')));
    const reply = await receiver.reply;
    const after = Date.now() - receiver.startedAt;
    assert.equal(reply.status, 408);
    assert.ok(after >= 950 && after < 2_000, `408 after ${after} ms`);
    assert.match(reply.body.toString(), /^\[ERROR\] no sender connected within 1 s\n$/);
    await waitFor(() => /outcome=hold-expired$/m.test(serve.stderr()), 'the access log line');
    const lines = serve.stderr().split('\n').filter((line) => ACCESS_LOG_LINE.test(line));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /n=1 bytes=0 waited=1\.0s streamed=0\.0s outcome=hold-expired$/);
  });

  await t.test('--quiet: no access log', async (t) => {
    const serve = await startServe(t, [...LOCAL, '--hold', '0.2', '--quiet']);
    assert.equal((await hold(serve.pipeUrl(uniqueName('alone'))).reply).status, 408);
    const name = uniqueName('quiet');
    const receiver = hold(serve.pipeUrl(name));
    assert.equal((await fetchReply(serve.pipeUrl(name), { method: 'PUT', body: 'hush' })).status, 200);
    assert.equal((await receiver.reply).body.toString(), 'hush');
    // A pipe's log line is written when it ends, before the relay exits: stderr at exit would hold it.
    serve.child.kill('SIGTERM');
    assert.equal((await serve.exited).code, 0);
    assert.doesNotMatch(serve.stderr(), ACCESS_LOG_LINE);
    assert.doesNotMatch(serve.stderr(), /outcome=/);
  });
});

test('serve 2>&1 | head -1: when its output is closed, the relay goes on serving and logging fails quietly', async (t) => {
  // `head -1` reads the listening line and exits: every later write of the relay's gets EPIPE.
  const head = spawn('head', ['-1'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const relay = spawn(process.execPath, [BIN, 'serve', ...LOCAL], { stdio: ['ignore', head.stdin, head.stdin] });
  t.after(() => {
    relay.kill('SIGKILL');
    head.kill('SIGKILL');
  });
  let firstLine = '';
  head.stdout.setEncoding('utf8').on('data', (text: string) => (firstLine += text));
  const exited = new Promise<number | null>((resolve) => relay.once('exit', (code) => resolve(code)));
  await once(head, 'exit');
  const url = new URL(/listening on (\S+)/.exec(firstLine)?.[1] ?? 'http://invalid');
  const pipeUrl = (name: string): string => new URL(`/api/v1/pipe/${name}`, url).href;
  // Each finished pipe writes an access log line into the closed pipe.
  for (let i = 0; i < 3; i++) {
    const name = uniqueName('epipe');
    const receiver = hold(pipeUrl(name));
    assert.equal((await fetchReply(pipeUrl(name), { method: 'PUT', body: `pair ${i}` })).status, 200);
    assert.equal((await receiver.reply).body.toString(), `pair ${i}`);
  }
  assert.equal((await fetchReply(new URL('/healthz', url).href)).status, 200, 'the relay is still up');
  // The shutdown message is written into the closed pipe too; the relay still exits cleanly.
  relay.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('serve: the new limits and metrics flags', async (t) => {
  await t.test('--metrics-port serves /metrics on its own listener; the public one does not', async (t) => {
    const serve = await startServe(t, [...LOCAL, '--metrics-port', '0']);
    await waitFor(() => /metrics on (\S+)/.test(serve.stderr()), 'the metrics line on stderr');
    const metricsUrl = /metrics on (\S+)/.exec(serve.stderr())?.[1] ?? '';
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const reply = await fetchReply(metricsUrl);
    assert.equal(reply.status, 200);
    assert.match(reply.body.toString(), /^hoodycall_pipes\{state="waiting"\} 0$/m);
    assert.equal((await fetchReply(new URL('/metrics', serve.url).href)).status, 404);
    assert.equal(serve.stdout(), `hoodycall relay listening on ${serve.url.href}\n`, 'still one line on stdout');
  });

  await t.test('--metrics-token (or HOODYCALL_METRICS_TOKEN) serves it on the relay to the bearer only', async (t) => {
    const token = 'a-metrics-token-for-tests';
    const serve = await startServe(t, [...LOCAL, '--metrics-token', token]);
    const url = new URL('/metrics', serve.url).href;
    assert.equal((await fetchReply(url)).status, 401);
    assert.equal((await fetchReply(url, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  });

  const usage: [string, string[], RegExp][] = [
    ['--trust-proxy not-a-cidr', ['--trust-proxy', '10.0.0.0/8,not-a-cidr'], /not-a-cidr/],
    ['--allow-origin without a scheme', ['--allow-origin', 'app.example'], /app\.example/],
    ['--metrics-token too short', ['--metrics-token', 'short'], /metrics/],
    ['--ipv6-prefix 129', ['--ipv6-prefix', '129'], /ipv6-prefix/],
    ['--pipe-buffer 1', ['--pipe-buffer', '1'], /pipe-buffer/],
  ];
  for (const [label, args, mentions] of usage) {
    await t.test(`${label}: exit 2 with one line`, async (t) => {
      const cli = runCli(t, ['serve', ...LOCAL, ...args]);
      const exit = await cli.exited;
      assert.equal(exit.code, 2, `${label}: ${cli.stderr()}`);
      assert.equal(cli.stderr().trim().split('\n').length, 1, cli.stderr());
      assert.match(cli.stderr(), mentions);
    });
  }
});
